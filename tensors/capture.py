"""Run a model once on a prompt and capture every quantity the scenes show.

One forward pass of the Hugging Face model with hooks on the modules of every block (the
family module, :mod:`tensors.families`, says which module plays which role). The hooks keep
what each module really received or returned:

- the block's input (the residual stream, ``resid``), the attention output (``attn_out``)
  and the MLP's output (``mlp_out``);
- q, k and v, recomputed from the attention's input (the first norm's output) as the
  forward pass reaches each layer, with the module's own projections (and the RoPE
  (cos, sin) it was given), so they are exactly what the model computed;
- the logits of the last position only (``logits_to_keep=1``: the model computes no
  others); the Trace derives the other rows as ``final @ W_U.T`` on access;
- the token and position embeddings and the final norm's output.

Everything else is derived per layer by the Trace when a scene asks (:class:`tensors.Trace`):
the norms' outputs (``attn_in``, ``mlp_in``) from ``resid`` and ``resid_mid`` =
``resid + attn_out`` with the model's own norms, the MLP (``mlp_pre``, ``mlp_gate``,
``mlp_act``) from ``mlp_in`` and the weights, the scores and the pattern from q and k,
the heads' weighted values ``z`` = pattern @ v and each head's output z_h @ W_O[h] (the
hooks on the output and down projections only apply ablations). The tests check all of it
against the model's own modules, ``hidden_states``, ``attentions`` and ``logits``.

An :class:`tensors.ablation.Ablations` may change the run (zero or mean ablation of neurons,
heads, whole attention or MLP blocks): the hooks then return the changed tensor, and every
captured quantity downstream is that of the changed run.

All tensors stay on the device until the end and are copied to the host in one transfer
(pinned memory on CUDA).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from . import families
from .errors import UserError


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
        "mlp": layers[0]["mlp"], "gated_mlp": fam.GATED, "attn_scale": layers[0]["attn_scale"],
        "layers": layers,
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


#: Where an intervention can change the run: the tensor a hook sees there.
#: z [pos, n_head*d_head] (o_proj's input), attn_out [pos, d_model], mlp_act [pos, d_mlp]
#: (down projection's input), mlp_out [pos, d_model].
EDIT_SITES = ("z", "attn_out", "mlp_act", "mlp_out")
Edit = Callable[[str, int, Any], Any]  # (site, layer, tensor [pos, ...]) -> new tensor or None


def run_capture(model: Any, tok: Any, family: str, prompt: str, device: str,
                edit: Edit | None = None, ids: Sequence[int] | None = None
                ) -> tuple[dict[str, np.ndarray], list[int]]:
    """Forward the prompt once and return (arrays, token_ids). Shapes in :class:`tensors.Trace`.
    ``ids``: these token ids exactly (no tokenizing, no special tokens added) instead of
    ``prompt``'s.

    ``edit(site, layer, x)`` (optional, see :data:`EDIT_SITES`) may return a replacement for
    the tensor at that site; None leaves the run unchanged there.
    """
    import torch

    fam = families.get(family)
    info = fam.dims(model.config)
    # checked against the context and memory (tensors.budget) and the vocabulary before
    ids = [int(i) for i in ids] if ids is not None else tok(prompt)["input_ids"]
    blocks = fam.blocks(model)
    parts = [fam.parts(b) for b in blocks]
    n_layer = len(parts)
    # Each hooked tensor is copied into its slot of one preallocated [layer, ...] buffer as
    # the forward pass goes, so the model's own activations are freed layer by layer and
    # nothing is stacked (or held twice) at the end.
    bufs: dict[str, Any] = {}

    def put(name: str, i: int, x: Any, n: int = n_layer) -> None:
        if name not in bufs:
            bufs[name] = torch.empty((n, *x.shape), dtype=x.dtype, device=x.device)
        bufs[name][i].copy_(x)

    def first(args, kwargs, name="hidden_states"):
        return args[0] if args else kwargs[name]

    def changed(site: str, i: int, x: Any) -> Any:
        """The edited tensor [1, pos, ...] (or x itself when nothing changes here)."""
        if edit is None:
            return x
        y = edit(site, i, x[0])
        return x if y is None else y[None]

    hooks = []
    for i, p in enumerate(parts):
        def on_block_in(_m, args, kwargs, i=i):
            put("resid", i, first(args, kwargs)[0], n_layer + 1)

        def on_attn_in(_m, args, kwargs, i=i, attn=p.attn):
            _qkv(fam, attn, i, first(args, kwargs)[0], kwargs, info, put)

        def on_z(_m, args, i=i):            # edits only: the Trace derives z = pattern @ v
            z = changed("z", i, args[0])
            return None if z is args[0] else (z, *args[1:])

        def on_attn_out(_m, _args, out, i=i):
            a = out[0] if isinstance(out, tuple) else out
            b = changed("attn_out", i, a)
            put("attn_out", i, b[0])
            if b is a:
                return None
            return (b, *out[1:]) if isinstance(out, tuple) else b

        def on_act(_m, args, i=i):          # edits only: the Trace derives mlp_pre/gate/act
            x = changed("mlp_act", i, args[0])
            return None if x is args[0] else (x, *args[1:])

        def on_mlp_out(_m, _args, out, i=i):
            y = changed("mlp_out", i, out)
            put("mlp_out", i, y[0])
            return None if y is out else y

        hooks += [blocks[i].register_forward_pre_hook(on_block_in, with_kwargs=True),
                  p.attn.register_forward_pre_hook(on_attn_in, with_kwargs=True),
                  p.attn.register_forward_hook(on_attn_out),
                  p.mlp.register_forward_hook(on_mlp_out)]
        if edit is not None:
            hooks += [p.o_proj.register_forward_pre_hook(on_z),
                      p.down.register_forward_pre_hook(on_act)]

    def keep_whole(name, slot=None):
        def hook(_m, _args, out):
            x = (out[0] if isinstance(out, tuple) else out)[0]
            if slot is None:
                bufs[name] = x
            else:
                put(name, slot, x, n_layer + 1)
        return hook

    hooks += [fam.embed(model).register_forward_hook(keep_whole("embed")),
              blocks[-1].register_forward_hook(keep_whole("resid", n_layer)),
              fam.final_norm(model).register_forward_hook(keep_whole("final"))]
    if fam.pos_embed(model) is not None:
        hooks.append(fam.pos_embed(model).register_forward_hook(keep_whole("pos_embed")))
    try:
        with torch.inference_mode():
            x = torch.tensor([ids], device=device)
            bufs["logits_last"] = model(x, use_cache=False, logits_to_keep=1).logits[0, -1]
            bufs["token_ids"] = x[0]
            arrays = to_host(bufs)
    finally:
        for h in hooks:
            h.remove()
    return arrays, ids


def _qkv(fam, attn, i, x, kwargs, info, put) -> None:
    """Layer i's q [head, pos, d_head] and k, v [kv_head, pos, d_head], recomputed from the
    attention's input x [pos, d_model] (the first norm's output) with the layer's own
    projections and rotation, as the forward pass reaches the layer (x is not kept)."""
    n_head, n_kv, d_head = info["n_head"], info["n_kv_head"], info["d_head"]
    pos = x.shape[0]
    q, k, v = fam.qkv(attn, x)
    q = q.view(pos, n_head, d_head).transpose(0, 1)                       # [head, pos, d_head]
    k = k.view(pos, n_kv, d_head).transpose(0, 1)                         # [kv_head, pos, d_head]
    q, k = fam.rotate(q, k, kwargs)                                       # RoPE (or nothing)
    put("q", i, q)
    put("k_kv", i, k)
    put("v_kv", i, v.view(pos, n_kv, d_head).transpose(0, 1))


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
