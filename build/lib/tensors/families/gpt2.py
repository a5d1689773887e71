"""The GPT-2 family (gpt2, distilgpt2, gpt2-medium/large/xl): its modules and weight layout.

GPT-2 stores its projections as ``Conv1D``: weight [d_in, d_out], ``y = x @ W + b`` — already
the canonical orientation. q, k and v share one matrix ``c_attn`` [d_model, 3*d_model]
(q, then k, then v). Positions are learned (``wpe``), added to the token embedding.
"""
from __future__ import annotations

from typing import Any

from . import BlockParts

#: The MLP has no gate projection.
GATED = False


def dims(cfg: Any) -> dict[str, int]:
    d_model, n_head = cfg.n_embd, cfg.n_head
    return {"n_layer": cfg.n_layer, "n_head": n_head, "n_kv_head": n_head, "d_model": d_model,
            "d_head": d_model // n_head, "d_mlp": cfg.n_inner or 4 * d_model,
            "n_ctx": cfg.n_positions}


def blocks(model: Any) -> list[Any]:
    return list(model.transformer.h)


def parts(block: Any) -> BlockParts:
    return BlockParts(ln1=block.ln_1, attn=block.attn, ln2=block.ln_2, mlp=block.mlp,
                      o_proj=block.attn.c_proj, up=block.mlp.c_fc, gate=None,
                      down=block.mlp.c_proj, act=block.mlp.act)


def embed(model: Any) -> Any:
    return model.transformer.wte


def pos_embed(model: Any) -> Any | None:
    return model.transformer.wpe


def final_norm(model: Any) -> Any:
    return model.transformer.ln_f


def unembed(model: Any) -> Any:
    return model.lm_head


def qkv(attn: Any, x: Any) -> tuple[Any, Any, Any]:
    """x [pos, d_model] -> q, k, v, each [pos, n_head*d_head]."""
    return attn.c_attn(x).split(attn.split_size, dim=-1)


def rotate(q: Any, k: Any, attn_kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """Learned positions were added to the input; q and k are used as they are."""
    return q, k


def linear(mod: Any) -> tuple[Any, Any | None]:
    """Conv1D: (W [d_in, d_out], b [d_out]) with y = x @ W + b."""
    return mod.weight, mod.bias


def qkv_linear(attn: Any) -> tuple[tuple[Any, Any], ...]:
    """((W_Q, b_Q), (W_K, b_K), (W_V, b_V)), each W [d_model, d_model], from ``c_attn``."""
    W, b = attn.c_attn.weight, attn.c_attn.bias
    n = attn.split_size
    return tuple((W[:, i * n:(i + 1) * n], b[i * n:(i + 1) * n]) for i in range(3))
