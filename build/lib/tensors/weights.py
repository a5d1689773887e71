"""Canonical weight matrices of a model, stored once per weights fingerprint, read by mmap.

Scenes show rows of W_E, blocks of W_Q, columns of W_out, the nearest tokens to a vector
over the whole vocabulary… without loading the model: the first capture writes the matrices
below to a checked file (:mod:`tensors.weights_cache`), and :class:`Weights` reads any slice
lazily (memory-mapped, every byte digest-checked: :class:`tensors.store.CheckedFile`).

One layout for every family (:mod:`tensors.families` converts each family's own), with
``x @ W + b`` everywhere for the projections (TransformerLens names):

===========  ====================================  ==========================================
name         shape                                 meaning
===========  ====================================  ==========================================
W_E          [vocab, d_model]                      token embedding: embed = W_E[token_ids]
                                                   (a lookup: one row per token)
W_U          [vocab, d_model]                      unembedding rows, one per token:
                                                   logits = x @ W_U.T; absent when tied (= W_E)
W_pos        [n_ctx, d_model]                      learned positions (GPT-2 only), a lookup
ln1.w, ln1.b [layer, d_model]                      the block's first norm (gain, bias)
ln2.w, ln2.b [layer, d_model]                      the block's second norm (before the MLP)
ln_f.w/.b    [d_model]                             final norm; ``.b`` only for LayerNorm
W_Q          [layer, head, d_model, d_head]        q = x̂ @ W_Q + b_Q  (x̂ = ln1(x))
W_K, W_V     [layer, kv_head, d_model, d_head]     shared by heads h with h // (head/kv_head)
W_O          [layer, head, d_head, d_model]        head_out = z @ W_O
b_Q          [layer, head, d_head]; b_K, b_V [layer, kv_head, d_head]; b_O [layer, d_model]
W_in         [layer, d_model, d_mlp]               mlp_pre = ln2(x) @ W_in + b_in (up/c_fc)
W_gate       [layer, d_model, d_mlp]               mlp_gate = ln2(x) @ W_gate + b_gate (gated MLPs)
W_out        [layer, d_mlp, d_model]               mlp_out = mlp_act @ W_out + b_out (down/c_proj)
b_in, b_gate [layer, d_mlp];  b_out [layer, d_model]
===========  ====================================  ==========================================

Norm biases and projection biases the model does not have are stored as zeros (a missing
bias adds nothing) and listed in the file's ``meta["zero_filled"]``: a scene that says
"+ b" can check it is a real parameter. ``W_U`` is the only matrix stored tokens-as-rows
for a matrix that multiplies from the right: it IS W_E for tied models, so both are stored
and queried the same way; ``Trace.lens_logits``/``logits_of`` apply ``x @ W_U.T``.
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from . import families
from .store import CheckedFile


def extract_weights(model: Any, family: str) -> tuple[dict[str, np.ndarray], list[str]]:
    """Read the canonical matrices (module docstring) out of a loaded Hugging Face model.

    Returns (arrays as fp32 numpy, names of the biases/norm parameters the model lacks and
    which were stored as zeros).
    """
    import torch

    fam = families.get(family)
    d = fam.dims(model.config)
    n_head, n_kv, d_head, d_model = d["n_head"], d["n_kv_head"], d["d_head"], d["d_model"]
    zero_filled: set[str] = set()

    def np32(t: "torch.Tensor") -> np.ndarray:
        return t.detach().to("cpu", torch.float32).numpy().copy()

    def bias(b: Any, shape: tuple[int, ...], name: str) -> "torch.Tensor":
        if b is None:
            zero_filled.add(name)
            return torch.zeros(shape)
        return b.detach().to("cpu").reshape(shape)

    out: dict[str, np.ndarray] = {}
    W_E = fam.embed(model).weight
    W_U = fam.unembed(model).weight
    out["W_E"] = np32(W_E)
    if W_U.data_ptr() != W_E.data_ptr():
        out["W_U"] = np32(W_U)
    if fam.pos_embed(model) is not None:
        out["W_pos"] = np32(fam.pos_embed(model).weight)
    fn = fam.final_norm(model)
    out["ln_f.w"] = np32(fn.weight)
    if getattr(fn, "bias", None) is not None:
        out["ln_f.b"] = np32(fn.bias)
    stacks: dict[str, list[Any]] = {}

    def put(name: str, t: Any) -> None:
        stacks.setdefault(name, []).append(t.detach().to("cpu", torch.float32))

    for blk in fam.blocks(model):
        p = fam.parts(blk)
        for ln, key in ((p.ln1, "ln1"), (p.ln2, "ln2")):
            put(f"{key}.w", ln.weight)
            put(f"{key}.b", bias(getattr(ln, "bias", None), (d_model,), f"{key}.b"))
        for (W, b), nh, key in zip(fam.qkv_linear(p.attn), (n_head, n_kv, n_kv), "QKV"):
            put(f"W_{key}", W.reshape(d_model, nh, d_head).permute(1, 0, 2))
            put(f"b_{key}", bias(b, (nh, d_head), f"b_{key}"))
        W, b = fam.linear(p.o_proj)
        put("W_O", W.reshape(n_head, d_head, d_model))
        put("b_O", bias(b, (d_model,), "b_O"))
        mlp = (("in", p.up), ("out", p.down)) + ((("gate", p.gate),) if p.gate is not None else ())
        for key, mod in mlp:
            W, b = fam.linear(mod)
            put(f"W_{key}", W)
            put(f"b_{key}", bias(b, (W.shape[1],), f"b_{key}"))
    for name, parts in stacks.items():
        out[name] = np32(torch.stack(parts))
    return out, sorted(zero_filled)


class Weights:
    """Lazy, memory-mapped access to a model's canonical matrices (see module docstring)."""

    def __init__(self, path: Path):
        """Open the cache file; its header is checked now, each block of data when first
        read (:class:`tensors.store.CacheError` if damaged)."""
        self.path = path
        self._f: CheckedFile | None = CheckedFile(path)
        self.meta = self._f.meta
        self.names = self._f.names
        self._arrays: Mapping[str, np.ndarray] = {}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any] | None = None) -> "Weights":
        """The same queries over matrices held in memory (when the cache is not writable)."""
        w = cls.__new__(cls)
        w.path, w._f, w.meta, w.names, w._arrays = None, None, dict(meta or {}), set(arrays), arrays
        return w

    def get(self, name: str, index: Any = None) -> np.ndarray:
        """The whole tensor, or ``tensor[index]`` read lazily (index: int, slice or tuple)."""
        if name == "W_U" and "W_U" not in self.names:
            name = "W_E"  # tied: the unembedding IS the embedding matrix
        if name not in self.names:
            raise KeyError(f"{name!r} is not stored for this model; stored: {sorted(self.names)}")
        if self._f is None:
            a = self._arrays[name]
            return a if index is None else a[index]
        return self._f.get(name, index)

    def shape(self, name: str) -> tuple[int, ...]:
        """The stored shape of ``name`` (W_U is W_E's when tied)."""
        if name == "W_U" and "W_U" not in self.names:
            name = "W_E"
        return tuple(self._arrays[name].shape) if self._f is None else self._f.shape(name)

    def is_real(self, name: str) -> bool:
        """False for a bias or norm parameter the model does not have (stored as zeros)."""
        return name in self.names and name not in self.meta.get("zero_filled", [])

    @property
    def tied(self) -> bool:
        return "W_U" not in self.names

    @cached_property
    def W_E(self) -> np.ndarray:
        """[vocab, d_model], fully read (e.g. for cosine over the whole vocabulary)."""
        return self.get("W_E")

    @cached_property
    def W_U(self) -> np.ndarray:
        """[vocab, d_model] (rows = tokens); the same array object as W_E when tied."""
        return self.W_E if self.tied else self.get("W_U")

    @cached_property
    def W_E_unit(self) -> np.ndarray:
        """Rows of W_E scaled to unit length: [vocab, d_model]."""
        n = np.linalg.norm(self.W_E, axis=1, keepdims=True)
        return self.W_E / np.maximum(n, 1e-12)
