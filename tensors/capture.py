"""Run a model once on a prompt and capture every quantity the scenes show.

One forward pass of the Hugging Face model with hooks on the modules of every block (the
family module, :mod:`tensors.families`, says which module plays which role). The hooks keep
what each module really received or returned:

- the block's input (the residual stream, ``resid``), its first norm's output (``attn_in``),
  the attention output (``attn_out``) and the heads' weighted values entering the output
  projection (``z``, from which ``head_out`` = z_h @ W_O[h]);
- the second norm's input (``resid_mid``) and output (``mlp_in``), the up and gate
  projections' outputs (``mlp_pre``, ``mlp_gate``), the down projection's input
  (``mlp_act``) and the MLP's output (``mlp_out``);
- the token and position embeddings and the final norm's output.

q, k and v are recomputed from ``attn_in`` with the module's own projections (and the RoPE
(cos, sin) it was given), so they are exactly what the model computed; the scores, the
pattern and each head's output are derived from q, k and z per layer when a scene asks
(:class:`tensors.Trace`). The tests check all of it against the model's own
``hidden_states``, ``attentions`` and ``logits``.

An :class:`tensors.ablation.Ablations` may change the run (zero or mean ablation of neurons,
heads, whole attention or MLP blocks): the hooks then return the changed tensor, and every
captured quantity downstream is that of the changed run.

All tensors stay on the device until the end and are copied to the host in one transfer
(pinned memory on CUDA).
"""
from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

from . import families
from .errors import UserError
from .sampling import softmax as softmax_np  # noqa: F401  (kept importable from here)


def model_info(model: Any, family: str) -> dict[str, Any]:
    """Facts read from the loaded model's config and modules (not assumed per family).

    Per-layer facts are in ``info["layers"][i]``: ``norm1``/``norm2`` (type, eps, bias),
    ``attn_scale``, ``mlp`` ("SwiGLU", "GELU" …), ``act`` (the activation function's name).
    The top-level ``norm``, ``mlp``, ``attn_scale`` are those of the final norm and layer 0.
    ``positional``: "learned" (a position-embedding module), "rope" (a rotary module; its
    type, theta, rotated dims and scaling in ``info["rope"]``) or "none".
    """
    fam = families.get(family)
    dims = fam.dims(model.config)
    W_E = fam.embed(model).weight
    W_U = fam.unembed(model).weight
    layers = []
    for blk in fam.blocks(model):
        p = fam.parts(blk)
        act = families.act_name(p.act)
        if p.gate is not None:
            mlp = {"silu": "SwiGLU", "gelu": "GeGLU", "gelu_new": "GeGLU"}.get(act, f"gated {act}")
        else:
            mlp = act.split("_")[0].upper()
        layers.append({"norm1": families.norm_facts(p.ln1), "norm2": families.norm_facts(p.ln2),
                       "attn_scale": float(p.attn.scaling), "mlp": mlp, "act": act})
    final = families.norm_facts(fam.final_norm(model))
    rotary = next((m for m in model.modules() if "rotary" in type(m).__name__.lower()), None)
    rope = None
    if fam.pos_embed(model) is not None:
        positional = "learned"
    elif rotary is not None:
        positional = "rope"
        cfg = model.config
        params = getattr(cfg, "rope_parameters", None) or {}
        rope = {"type": str(getattr(rotary, "rope_type", params.get("rope_type", "default"))),
                "theta": float(params.get("rope_theta", getattr(cfg, "rope_theta", 10000.0))),
                "dims": 2 * int(rotary.inv_freq.numel()),
                "attention_scaling": float(getattr(rotary, "attention_scaling", 1.0))}
    else:
        positional = "none"
    return {
        "family": family, "architecture": type(model).__name__, **dims,
        "vocab_size": int(W_E.shape[0]), "tied_embeddings": W_U.data_ptr() == W_E.data_ptr(),
        "positional": positional, "rope": rope, "norm": final["type"], "final_norm": final,
        "mlp": layers[0]["mlp"], "attn_scale": layers[0]["attn_scale"], "layers": layers,
        "n_params": int(sum(p.numel() for p in model.parameters())),
        "param_counts": param_counts(model, family),
    }


def param_counts(model: Any, family: str) -> dict[str, Any]:
    """Parameters per component, counted from the model's tensors; a tied matrix once.

    ``{"embed": n, "pos_embed": n, "ln1": [per layer], "attn": [...], "ln2": [...],
    "mlp": [...], "ln_final": n, "unembed": n}`` (``pos_embed`` only with learned positions;
    ``unembed`` is 0 when it is the embedding matrix). Anything not in these modules goes to
    ``"other"`` (absent when 0). The values sum to ``sum(p.numel() for p in model.parameters())``.
    """
    fam = families.get(family)
    seen: set[int] = set()

    def count(mod: Any) -> int:
        n = 0
        for p in mod.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                n += p.numel()
        return int(n)

    out: dict[str, Any] = {"embed": count(fam.embed(model))}
    if fam.pos_embed(model) is not None:
        out["pos_embed"] = count(fam.pos_embed(model))
    parts = [fam.parts(b) for b in fam.blocks(model)]
    for name in ("ln1", "attn", "ln2", "mlp"):
        out[name] = [count(getattr(p, name)) for p in parts]
    out["ln_final"] = count(fam.final_norm(model))
    out["unembed"] = count(fam.unembed(model))
    other = sum(p.numel() for p in model.parameters() if id(p) not in seen)
    if other:
        out["other"] = int(other)
    return out


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
    """Token ids of ``prompt`` [pos]; UserError when empty or longer than the context."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise UserError("the prompt is empty; pass some text, e.g. --prompt 'The capital of France is'")
    ids = tok(prompt)["input_ids"]
    if len(ids) > n_ctx:
        raise UserError(f"the prompt is {len(ids)} tokens but the model's context is {n_ctx}; "
                        "shorten the prompt")
    return ids


def capture_bytes(dims: dict[str, int], vocab: int, gated: bool, n_pos: int) -> int:
    """Bytes a capture of ``n_pos`` tokens holds at its peak (estimate, fp32): every hooked
    array (linear in n_pos) plus one layer's attention weights in the model's own eager
    attention, [head, pos, pos] twice (quadratic)."""
    L, d, H, kv, dh, m = (dims[k] for k in ("n_layer", "d_model", "n_head", "n_kv_head",
                                             "d_head", "d_mlp"))
    per_token = ((L + 1) * d + 7 * L * d      # resid; attn_in, attn_out, resid_mid, mlp_in, mlp_out, embed/final
                 + 2 * L * H * dh + 2 * L * kv * dh   # q, z; k, v
                 + (3 if gated else 2) * L * m        # mlp_pre (+ gate), mlp_act
                 + vocab)                             # logits
    return 4 * (per_token * n_pos + 2 * H * n_pos * n_pos)


def memory_budget() -> int:
    """Bytes a capture may use: ``$GPT_SCENES_MEMORY_MB``, else half of this machine's RAM."""
    env = os.environ.get("GPT_SCENES_MEMORY_MB")
    if env:
        try:
            mb = float(env)
        except ValueError:
            mb = float("nan")
        if not mb > 0 or mb == float("inf"):
            raise UserError(f"GPT_SCENES_MEMORY_MB={env!r} must be a positive number of megabytes, "
                            "e.g. 4096")
        return int(mb * 2 ** 20)
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def check_memory(dims: dict[str, int], vocab: int, gated: bool, n_pos: int) -> None:
    """One-line UserError, before any work, when the capture would not fit the budget."""
    budget = memory_budget()
    need = capture_bytes(dims, vocab, gated, n_pos)
    if need <= budget:
        return
    lo, hi = 0, n_pos                     # the longest prompt that fits: lo fits, hi does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if capture_bytes(dims, vocab, gated, mid) <= budget else (lo, mid)
    fit = lo
    source = "GPT_SCENES_MEMORY_MB" if os.environ.get("GPT_SCENES_MEMORY_MB") else \
        "half of this machine's memory; set GPT_SCENES_MEMORY_MB to change it"
    raise UserError(f"the prompt is {n_pos} tokens; capturing it needs about {_size(need)} of "
                    f"memory, more than the budget of {_size(budget)} ({source}); "
                    f"at most {fit} tokens fit — shorten the prompt")


def _size(n: int) -> str:
    return f"{n / 2 ** 30:.1f} GB" if n >= 2 ** 30 else f"{n / 2 ** 20:.1f} MB"


#: Where an intervention can change the run: the tensor a hook sees there.
#: z [pos, n_head*d_head] (o_proj's input), attn_out [pos, d_model], mlp_act [pos, d_mlp]
#: (down projection's input), mlp_out [pos, d_model].
EDIT_SITES = ("z", "attn_out", "mlp_act", "mlp_out")
Edit = Callable[[str, int, Any], Any]  # (site, layer, tensor [pos, ...]) -> new tensor or None


def run_capture(model: Any, tok: Any, family: str, prompt: str, device: str,
                edit: Edit | None = None) -> tuple[dict[str, np.ndarray], list[int]]:
    """Forward the prompt once and return (arrays, token_ids). Shapes in :class:`tensors.Trace`.

    ``edit(site, layer, x)`` (optional, see :data:`EDIT_SITES`) may return a replacement for
    the tensor at that site; None leaves the run unchanged there.
    """
    import torch

    fam = families.get(family)
    info = fam.dims(model.config)
    ids = encode(tok, prompt, info["n_ctx"])
    parts = [fam.parts(b) for b in fam.blocks(model)]
    check_memory(info, int(fam.embed(model).weight.shape[0]), parts[0].gate is not None, len(ids))
    n_layer = len(parts)
    seen: dict[str, list[Any]] = {k: [None] * n_layer for k in (
        "resid", "attn_in", "attn_kwargs", "z", "attn_out", "resid_mid", "mlp_in", "mlp_pre",
        "mlp_gate", "mlp_act", "mlp_out")}
    last: dict[str, Any] = {}
    hooks = []

    def first(args, kwargs, name="hidden_states"):
        return args[0] if args else kwargs[name]

    def changed(site: str, i: int, x: Any) -> Any:
        """The edited tensor [1, pos, ...] (or x itself when nothing changes here)."""
        if edit is None:
            return x
        y = edit(site, i, x[0])
        return x if y is None else y[None]

    for i, p in enumerate(parts):
        def on_block_in(_m, args, kwargs, i=i):
            seen["resid"][i] = first(args, kwargs)[0]

        def on_attn_in(_m, args, kwargs, i=i):
            seen["attn_in"][i] = first(args, kwargs)[0]
            seen["attn_kwargs"][i] = kwargs

        def on_z(_m, args, i=i):
            z = changed("z", i, args[0])
            seen["z"][i] = z[0]
            return None if z is args[0] else (z, *args[1:])

        def on_attn_out(_m, _args, out, i=i):
            a = out[0] if isinstance(out, tuple) else out
            b = changed("attn_out", i, a)
            seen["attn_out"][i] = b[0]
            if b is a:
                return None
            return (b, *out[1:]) if isinstance(out, tuple) else b

        def on_ln2(_m, args, out, i=i):
            seen["resid_mid"][i], seen["mlp_in"][i] = args[0][0], out[0]

        def on_act(_m, args, i=i):
            x = changed("mlp_act", i, args[0])
            seen["mlp_act"][i] = x[0]
            return None if x is args[0] else (x, *args[1:])

        def on_mlp_out(_m, _args, out, i=i):
            y = changed("mlp_out", i, out)
            seen["mlp_out"][i] = y[0]
            return None if y is out else y

        def keep(name, i=i):
            def hook(_m, _args, out):
                seen[name][i] = out[0]
            return hook

        hooks += [p.attn.register_forward_pre_hook(on_attn_in, with_kwargs=True),
                  p.o_proj.register_forward_pre_hook(on_z),
                  p.attn.register_forward_hook(on_attn_out),
                  p.ln2.register_forward_hook(on_ln2),
                  p.up.register_forward_hook(keep("mlp_pre")),
                  p.down.register_forward_pre_hook(on_act),
                  p.mlp.register_forward_hook(on_mlp_out)]
        hooks.append(fam.blocks(model)[i].register_forward_pre_hook(on_block_in, with_kwargs=True))
        if p.gate is not None:
            hooks.append(p.gate.register_forward_hook(keep("mlp_gate")))

    def keep_last(name):
        def hook(_m, _args, out):
            last[name] = (out[0] if isinstance(out, tuple) else out)[0]
        return hook

    hooks += [fam.embed(model).register_forward_hook(keep_last("embed")),
              fam.blocks(model)[-1].register_forward_hook(keep_last("resid_final")),
              fam.final_norm(model).register_forward_hook(keep_last("final"))]
    if fam.pos_embed(model) is not None:
        hooks.append(fam.pos_embed(model).register_forward_hook(keep_last("pos_embed")))
    try:
        with torch.inference_mode():
            x = torch.tensor([ids], device=device)
            res = model(x, use_cache=False)
            arrays = _compute(fam, parts, info, x[0], seen, last, res.logits[0])
    finally:
        for h in hooks:
            h.remove()
    return arrays, ids


def _compute(fam, parts, info, ids, seen, last, logits) -> dict[str, np.ndarray]:
    """Stack the hooked tensors and derive q, k, v per layer (k, v per key/value head; the
    Trace derives the rest on access: :class:`tensors.Trace`)."""
    import torch

    n_head, n_kv, d_head = info["n_head"], info["n_kv_head"], info["d_head"]
    pos = ids.shape[0]
    Q, K, V = [], [], []
    for x, kwargs, p in zip(seen["attn_in"], seen["attn_kwargs"], parts):
        q, k, v = fam.qkv(p.attn, x)
        q = q.view(pos, n_head, d_head).transpose(0, 1)                   # [head, pos, d_head]
        k = k.view(pos, n_kv, d_head).transpose(0, 1)                     # [kv_head, pos, d_head]
        v = v.view(pos, n_kv, d_head).transpose(0, 1)
        q, k = fam.rotate(q, k, kwargs)                                   # RoPE (or nothing)
        Q.append(q)
        K.append(k)
        V.append(v)
    z = torch.stack(seen["z"]).view(len(parts), pos, n_head, d_head).transpose(1, 2)
    dev = {
        "token_ids": ids, "embed": last["embed"],
        "resid": torch.stack([*seen["resid"], last["resid_final"]]),
        "attn_in": torch.stack(seen["attn_in"]),
        "q": torch.stack(Q), "k_kv": torch.stack(K), "v_kv": torch.stack(V), "z": z,
        "attn_out": torch.stack(seen["attn_out"]),
        **{name: torch.stack(seen[name]) for name in ("mlp_in", "mlp_pre", "mlp_act", "mlp_out")},
        "final": last["final"], "logits": logits,
    }
    if "pos_embed" in last:
        dev["pos_embed"] = last["pos_embed"]
    if seen["mlp_gate"][0] is not None:
        dev["mlp_gate"] = torch.stack(seen["mlp_gate"])
    return to_host(dev)


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
