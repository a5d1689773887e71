"""Run a model once on a prompt and capture every quantity the scenes show.

One forward pass of the Hugging Face model with forward hooks on each block and each
attention module. The hooks keep the attention module's input (the normed residual stream)
and, for RoPE models, the (cos, sin) it was given; from those we recompute q, k, v, the
scores, the pattern and each head's output with the module's own projections — so each
quantity is exactly what the model computed, and the tests check that against the model's
own ``attentions``, ``hidden_states`` and ``logits``.

All tensors stay on the device until the end, are stacked there and copied to the host once
per array (one transfer each, pinned memory on CUDA).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import UserError


def model_info(model: Any, family: str) -> dict[str, Any]:
    """Facts read from the loaded model (not from our assumptions)."""
    cfg = model.config
    W_E = model.get_input_embeddings().weight
    W_U = model.get_output_embeddings().weight
    if family == "gpt2":
        n_layer, n_head, d_model = cfg.n_layer, cfg.n_head, cfg.n_embd
        n_kv, d_head = n_head, cfg.n_embd // cfg.n_head
        n_ctx, d_mlp = cfg.n_positions, cfg.n_inner or 4 * cfg.n_embd
        positional, norm, mlp = "learned", "LayerNorm", "GELU"
        scale = model.transformer.h[0].attn.scaling
    else:
        n_layer, n_head, d_model = cfg.num_hidden_layers, cfg.num_attention_heads, cfg.hidden_size
        n_kv = cfg.num_key_value_heads
        d_head = getattr(cfg, "head_dim", None) or d_model // n_head
        n_ctx, d_mlp = cfg.max_position_embeddings, cfg.intermediate_size
        positional, norm, mlp = "rope", "RMSNorm", "SwiGLU"
        scale = model.model.layers[0].self_attn.scaling
    return {
        "family": family, "architecture": type(model).__name__,
        "n_layer": n_layer, "n_head": n_head, "n_kv_head": n_kv, "d_model": d_model,
        "d_head": d_head, "d_mlp": d_mlp, "vocab_size": int(W_E.shape[0]), "n_ctx": n_ctx,
        "tied_embeddings": W_U.data_ptr() == W_E.data_ptr(),
        "positional": positional, "norm": norm, "mlp": mlp,
        "attn_scale": float(scale), "n_params": int(sum(p.numel() for p in model.parameters())),
    }


def readable_tokens(tok: Any, ids: list[int]) -> list[str]:
    """The model's own pieces as readable strings (' the', 'ization', '\\xf0\\x9f' for part of an emoji).

    Byte-level BPE pieces (GPT-2, SmolLM2) are mapped back to their bytes and decoded;
    a piece that is only part of a multi-byte character shows its bytes escaped.
    """
    byte_decoder = _byte_decoder()
    out = []
    for piece, i in zip(tok.convert_ids_to_tokens(ids), ids):
        if piece is not None and all(c in byte_decoder for c in piece):
            out.append(bytes(byte_decoder[c] for c in piece).decode("utf-8", errors="backslashreplace"))
        elif piece is not None and "▁" in piece:  # SentencePiece style
            out.append(piece.replace("▁", " "))
        else:
            out.append(tok.decode([i]))
    return out


def _byte_decoder() -> dict[str, int]:
    """Inverse of byte-level BPE's byte -> printable-character table (GPT-2's scheme):
    printable bytes map to themselves, the others to chr(256 + n) in order."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in keep}
    extra = (b for b in range(256) if b not in table)
    table.update({b: chr(256 + n) for n, b in enumerate(extra)})
    return {c: b for b, c in table.items()}


def encode(tok: Any, prompt: str, n_ctx: int) -> list[int]:
    if not isinstance(prompt, str) or not prompt.strip():
        raise UserError("the prompt is empty; pass some text, e.g. --prompt 'The capital of France is'")
    ids = tok(prompt)["input_ids"]
    if len(ids) > n_ctx:
        raise UserError(f"the prompt is {len(ids)} tokens but the model's context is {n_ctx}; "
                        "shorten the prompt")
    return ids


def run_capture(model: Any, tok: Any, family: str, prompt: str, device: str) -> tuple[dict[str, np.ndarray], list[int]]:
    """Forward the prompt once and return (arrays, token_ids). Shapes in :class:`tensors.Trace`."""
    import torch

    info = model_info(model, family)
    ids = encode(tok, prompt, info["n_ctx"])
    blocks = model.transformer.h if family == "gpt2" else model.model.layers
    attn_mods = [b.attn if family == "gpt2" else b.self_attn for b in blocks]
    seen: dict[str, list[Any]] = {"block_out": [], "attn_in": [], "rope": [], "attn_out": []}

    def on_block(_m, _args, out):
        seen["block_out"].append(out[0] if isinstance(out, tuple) else out)

    def on_attn(_m, args, kwargs, out):
        seen["attn_in"].append(args[0] if args else kwargs["hidden_states"])
        seen["rope"].append(kwargs.get("position_embeddings"))
        seen["attn_out"].append(out[0] if isinstance(out, tuple) else out)

    hooks = [b.register_forward_hook(on_block) for b in blocks]
    hooks += [a.register_forward_hook(on_attn, with_kwargs=True) for a in attn_mods]
    try:
        with torch.inference_mode():
            x = torch.tensor([ids], device=device)
            res = model(x, use_cache=False)
            arrays = _compute(model, family, info, x[0], seen, res.logits[0])
    finally:
        for h in hooks:
            h.remove()
    return arrays, ids


def _compute(model, family, info, ids, seen, logits) -> dict[str, np.ndarray]:
    import torch

    n_head, n_kv, d_head = info["n_head"], info["n_kv_head"], info["d_head"]
    group = n_head // n_kv
    pos = ids.shape[0]
    W_E = model.get_input_embeddings().weight
    embed = W_E[ids]                                                      # [pos, d_model]
    if family == "gpt2":
        pos_embed = model.transformer.wpe.weight[:pos]                    # [pos, d_model]
        resid0 = embed + pos_embed
        final = model.transformer.ln_f(seen["block_out"][-1][0])
    else:
        pos_embed = None
        resid0 = embed * 1.0                                              # RoPE: no position here
        final = model.model.norm(seen["block_out"][-1][0])
    causal = torch.ones(pos, pos, dtype=torch.bool, device=ids.device).tril()
    Q, K, V, S, P, HO = [], [], [], [], [], []
    for layer, (x, rope, mod) in enumerate(zip(seen["attn_in"], seen["rope"], _attn_mods(model, family))):
        x = x[0]                                                          # [pos, d_model]
        if family == "gpt2":
            q, k, v = mod.c_attn(x).split(info["d_model"], dim=-1)
            W_O = mod.c_proj.weight.reshape(n_head, d_head, -1)           # Conv1D: x @ W
        else:
            q, k, v = mod.q_proj(x), mod.k_proj(x), mod.v_proj(x)
            W_O = mod.o_proj.weight.T.reshape(n_head, d_head, -1)         # Linear: x @ W.T
        q = q.view(pos, n_head, d_head).transpose(0, 1)                   # [head, pos, d_head]
        k = k.view(pos, n_kv, d_head).transpose(0, 1)                     # [kv_head, pos, d_head]
        v = v.view(pos, n_kv, d_head).transpose(0, 1)
        if rope is not None:  # RoPE rotates q and k by position before the dot product
            from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

            cos, sin = rope
            q, k = apply_rotary_pos_emb(q[None], k[None], cos, sin)
            q, k = q[0], k[0]
        # grouped-query attention: query head h reads key/value head h // group
        k = k.repeat_interleave(group, dim=0)                             # [head, pos, d_head]
        v = v.repeat_interleave(group, dim=0)
        scores = (q @ k.transpose(-1, -2)) * mod.scaling                  # scaled q·k
        scores = scores.masked_fill(~causal, float("-inf"))               # causal mask
        pattern = torch.softmax(scores, dim=-1)                           # THE softmax, per query row
        z = pattern @ v                                                   # [head, pos, d_head]
        head_out = torch.einsum("hpd,hdm->hpm", z, W_O)                   # [head, pos, d_model]
        for lst, t in ((Q, q), (K, k), (V, v), (S, scores), (P, pattern), (HO, head_out)):
            lst.append(t)
    resid = torch.stack([resid0] + [b[0] for b in seen["block_out"]])
    dev = {
        "token_ids": ids, "embed": embed, "resid": resid, "q": torch.stack(Q), "k": torch.stack(K),
        "v": torch.stack(V), "scores": torch.stack(S), "pattern": torch.stack(P),
        "head_out": torch.stack(HO), "attn_out": torch.stack([a[0] for a in seen["attn_out"]]),
        "final": final, "logits": logits,
    }
    if pos_embed is not None:
        dev["pos_embed"] = pos_embed
    return to_host(dev)


def _attn_mods(model, family):
    return [b.attn for b in model.transformer.h] if family == "gpt2" else \
        [b.self_attn for b in model.model.layers]


def to_host(tensors: dict[str, Any], pinned: bool | None = None) -> dict[str, np.ndarray]:
    """Copy device tensors to numpy with as few transfers as possible.

    On CUDA every tensor is copied (non-blocking) into one flat pinned host buffer and the
    stream is synchronised once: one allocation from torch's caching host allocator (reused
    across captures) and full-bandwidth DMA, instead of one pageable copy + sync per tensor.
    On the CPU the arrays are the tensors' own memory (no copy).
    """
    import torch

    ts = {k: (v.detach().float() if v.is_floating_point() else v.detach()).contiguous()
          for k, v in tensors.items()}
    on_cpu = all(t.device.type == "cpu" for t in ts.values())
    if pinned is None:
        pinned = any(t.device.type == "cuda" for t in ts.values())
    if on_cpu and not pinned:
        return {k: t.numpy() for k, t in ts.items()}
    align = 64
    offsets, total = {}, 0
    for k, t in ts.items():
        offsets[k] = total
        total += -(-t.numel() * t.element_size() // align) * align
    flat = torch.empty(total, dtype=torch.uint8, pin_memory=pinned)
    out = {}
    for k, t in ts.items():
        n = t.numel() * t.element_size()
        view = flat[offsets[k]:offsets[k] + n].view(t.dtype).view(t.shape)
        view.copy_(t, non_blocking=pinned)
        out[k] = view
    if pinned and torch.cuda.is_available():
        torch.cuda.synchronize()
    return {k: v.numpy() for k, v in out.items()}


def check_layer_head(info: dict[str, Any], layer: int | None = None, head: int | None = None) -> None:
    """UserError unless 0 <= layer < n_layer and 0 <= head < n_head (negative = from the end)."""
    for name, val, n in (("layer", layer, info["n_layer"]), ("head", head, info["n_head"])):
        if val is None:
            continue
        if not isinstance(val, (int, np.integer)) or isinstance(val, bool) or not -n <= val < n:
            raise UserError(f"{name} {val!r} is out of range; {info.get('name', 'the model')} has "
                            f"{n} {name}s, so use 0..{n - 1}")


def softmax_np(x: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Numerically stable softmax over the last axis, with temperature: softmax(x / T)."""
    if not math.isfinite(temperature) or temperature <= 0:
        raise UserError(f"temperature {temperature!r} must be a positive number, e.g. 0.7")
    z = np.asarray(x, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
