"""The Llama family (Llama, SmolLM2, …): its modules and weight layout.

Projections are ``nn.Linear``: weight [d_out, d_in], ``y = x @ weight.T (+ bias)``; the
canonical layout transposes them to [d_in, d_out]. q and k are rotated by position (RoPE)
inside attention with the (cos, sin) the model passes to each attention module; key/value
heads may be fewer than query heads (grouped-query attention). The MLP is gated:
``down(act(gate(x)) * up(x))``.
"""
from __future__ import annotations

from typing import Any

from . import BlockParts

#: The MLP is gated: down(act(gate(x)) * up(x)).
GATED = True


def dims(cfg: Any) -> dict[str, int]:
    d_model, n_head = cfg.hidden_size, cfg.num_attention_heads
    return {"n_layer": cfg.num_hidden_layers, "n_head": n_head,
            "n_kv_head": cfg.num_key_value_heads, "d_model": d_model,
            "d_head": getattr(cfg, "head_dim", None) or d_model // n_head,
            "d_mlp": cfg.intermediate_size, "n_ctx": cfg.max_position_embeddings}


def blocks(model: Any) -> list[Any]:
    return list(model.model.layers)


def parts(block: Any) -> BlockParts:
    a, m = block.self_attn, block.mlp
    return BlockParts(ln1=block.input_layernorm, attn=a, ln2=block.post_attention_layernorm,
                      mlp=m, o_proj=a.o_proj, up=m.up_proj, gate=m.gate_proj, down=m.down_proj,
                      act=m.act_fn)


def embed(model: Any) -> Any:
    return model.model.embed_tokens


def pos_embed(model: Any) -> Any | None:
    return None


def final_norm(model: Any) -> Any:
    return model.model.norm


def unembed(model: Any) -> Any:
    return model.lm_head


def qkv(attn: Any, x: Any) -> tuple[Any, Any, Any]:
    """x [pos, d_model] -> q [pos, n_head*d_head], k and v [pos, n_kv_head*d_head]."""
    return attn.q_proj(x), attn.k_proj(x), attn.v_proj(x)


def rotate(q: Any, k: Any, attn_kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """RoPE: rotate q, k [head, pos, d_head] with the (cos, sin) the model gave this layer."""
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    cos, sin = attn_kwargs["position_embeddings"]
    q, k = apply_rotary_pos_emb(q[None], k[None], cos, sin)
    return q[0], k[0]


def linear(mod: Any) -> tuple[Any, Any | None]:
    """nn.Linear: (W [d_in, d_out], b [d_out] or None) with y = x @ W + b."""
    return mod.weight.T, mod.bias


def qkv_linear(attn: Any) -> tuple[tuple[Any, Any], ...]:
    """((W_Q, b_Q), (W_K, b_K), (W_V, b_V)): W_Q [d_model, n_head*d_head], W_K/W_V
    [d_model, n_kv_head*d_head]; biases None when the model has none."""
    return tuple(linear(p) for p in (attn.q_proj, attn.k_proj, attn.v_proj))
