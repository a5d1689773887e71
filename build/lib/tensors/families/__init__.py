"""One module per model family: where its parts are, and its weights in one canonical layout.

Everything else in :mod:`tensors` is family-blind: it asks :func:`get` for the family's
module and uses the functions every family module defines (the contract below). No other
file branches on the family's name.

Contract of a family module (see :mod:`tensors.families.gpt2`, :mod:`tensors.families.llama`):

- ``dims(config) -> dict``: n_layer, n_head, n_kv_head, d_model, d_head, d_mlp, n_ctx
- ``GATED``: whether the MLP has a gate projection (known from the config alone)
- ``blocks(model) -> list[Module]``: the transformer blocks, in order
- ``parts(block) -> BlockParts``: the block's modules (norms, attention, MLP, projections)
- ``embed(model)``, ``pos_embed(model) | None``, ``final_norm(model)``, ``unembed(model)``
- ``qkv(attn, x) -> (q, k, v)``: x [pos, d_model] -> [pos, n_head*d_head], [pos, n_kv*d_head] ×2
- ``rotate(q, k, attn_kwargs) -> (q, k)``: position applied to q/k [head, pos, d_head]
  (RoPE) or unchanged (learned positions)
- ``linear(module) -> (W, b | None)``: the projection as ``y = x @ W + b``, W [d_in, d_out]
- ``qkv_linear(attn) -> ((W_Q, b_Q), (W_K, b_K), (W_V, b_V))``: W [d_model, n*d_head]

>>> from tensors import families
>>> families.get("llama").__name__
'tensors.families.llama'
"""
from __future__ import annotations

import dataclasses
import importlib
from types import ModuleType
from typing import Any

#: model_type in a config.json -> the family module that reads it
FAMILIES = {"gpt2": "gpt2", "llama": "llama"}


@dataclasses.dataclass(frozen=True)
class BlockParts:
    """The modules of one transformer block, by role (same names for every family).

    ``o_proj``'s input is z [pos, n_head*d_head] (the heads' weighted values, concatenated);
    ``up``'s output is mlp_pre, ``gate``'s (None without a gated MLP) mlp_gate, and
    ``down``'s input is mlp_act.
    """

    ln1: Any
    attn: Any
    ln2: Any
    mlp: Any
    o_proj: Any
    up: Any
    gate: Any | None
    down: Any
    act: Any


def get(family: str) -> ModuleType:
    """The module of ``family`` (``"gpt2"`` or ``"llama"``)."""
    if family not in FAMILIES.values():
        raise ValueError(f"unknown model family {family!r}; known: {sorted(FAMILIES.values())}")
    return importlib.import_module(f"{__name__}.{family}")


def norm_facts(mod: Any) -> dict[str, Any]:
    """What a norm module computes, read from the module: type, eps, whether it has a bias.

    LayerNorm: (x - mean) / sqrt(var + eps) * w + b;  RMSNorm: x / sqrt(mean(x²) + eps) * w.
    """
    import torch

    if isinstance(mod, torch.nn.LayerNorm):
        kind, eps = "LayerNorm", mod.eps
    elif "rmsnorm" in type(mod).__name__.lower():
        kind, eps = "RMSNorm", getattr(mod, "variance_epsilon", getattr(mod, "eps", None))
    else:
        raise ValueError(f"unknown norm module {type(mod).__name__}")
    return {"type": kind, "eps": float(eps), "bias": getattr(mod, "bias", None) is not None}


def act_name(act: Any) -> str:
    """The activation module's function, by name: 'gelu_new' (tanh approximation), 'gelu',
    'silu', 'relu' … read from the module's class, not assumed per family."""
    import torch

    names = {"NewGELUActivation": "gelu_new", "GELUTanh": "gelu_new", "PytorchGELUTanh": "gelu_new",
             "GELUActivation": "gelu", "GELU": "gelu", "SiLUActivation": "silu", "SiLU": "silu",
             "ReLU": "relu", "FastGELUActivation": "gelu_fast", "QuickGELUActivation": "gelu_quick"}
    name = type(act).__name__
    if isinstance(act, torch.nn.GELU):
        return "gelu_new" if act.approximate == "tanh" else "gelu"
    return names.get(name, name)


def activation(name: str):
    """The activation function ``name`` (:func:`act_name`) in numpy, float32 in and out,
    with the formula transformers uses, for arrays the Trace derives per layer.

    >>> import numpy as np
    >>> activation("relu")(np.array([-1.0, 2.0], np.float32)).tolist()
    [0.0, 2.0]
    """
    import numpy as np

    f32 = np.float32

    def gelu(x):
        from scipy.special import erf

        return (f32(0.5) * x * (f32(1) + erf(x / f32(np.sqrt(2.0))))).astype(f32)

    fns = {
        "silu": lambda x: x / (f32(1) + np.exp(-x)),
        "relu": lambda x: np.maximum(x, f32(0)),
        "gelu": gelu,
        "gelu_new": lambda x: f32(0.5) * x * (f32(1) + np.tanh(
            f32(np.sqrt(2.0 / np.pi)) * (x + f32(0.044715) * x * x * x))),
        "gelu_fast": lambda x: f32(0.5) * x * (f32(1) + np.tanh(
            x * f32(0.7978845608) * (f32(1) + f32(0.044715) * x * x))),
        "gelu_quick": lambda x: x / (f32(1) + np.exp(f32(-1.702) * x)),
    }
    if name not in fns:
        raise ValueError(f"no numpy form of the activation {name!r}; known: {sorted(fns)}")
    return fns[name]
