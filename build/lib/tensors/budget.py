"""Will a capture of n tokens fit? The one context check and the one memory check, made right
after tokenizing, before the model is loaded.

:func:`check_fits` refuses, in one line, a prompt longer than the model's context or one
whose estimated peak memory exceeds the budget — saying how many tokens fit — instead of
dying out of memory minutes later. The budget is ``$GPT_SCENES_MEMORY_GB`` if set, else 80 %
of the memory available now.

>>> facts = {"n_layer": 2, "n_head": 4, "n_kv_head": 2, "d_model": 64, "d_head": 16,
...          "d_mlp": 256, "vocab_size": 1000, "n_ctx": 128, "gated": 1}
>>> capture_bytes(facts, 10) < capture_bytes(facts, 20)
True
>>> max_tokens(facts, capture_bytes(facts, 50), weights_bytes=0)
50
"""
from __future__ import annotations

import os
from typing import Mapping

from .errors import UserError

ENV = "GPT_SCENES_MEMORY_GB"
F32 = 4
#: Python, torch and transformers themselves (measured: ~0.45 GB RSS before any weights).
RUNTIME_BYTES = 500_000_000


def memory_budget() -> int:
    """Bytes a capture may use: ``$GPT_SCENES_MEMORY_GB`` or 80 % of the available memory."""
    raw = os.environ.get(ENV, "").strip()
    if raw:
        try:
            gb = float(raw)
        except ValueError:
            gb = float("nan")
        if not gb > 0 or gb == float("inf"):
            raise UserError(f"{ENV}={raw!r} must be a positive number of gigabytes, e.g. 4")
        return int(gb * 1e9)
    return int(0.8 * _available())


def _available() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def capture_bytes(facts: Mapping[str, int], n: int) -> int:
    """Estimated peak bytes of capturing ``n`` tokens (fp32), beyond the runtime and weights.

    ``facts``: n_layer, n_head, n_kv_head, d_model, d_head, d_mlp, vocab_size
    (:func:`tensors.resolve.config_facts`). What :mod:`tensors.capture` keeps per token
    (resid [layer+1, pos, d_model]; attn_out, mlp_out [layer, pos, d_model]; q [layer,
    head, pos, d_head]; k, v [layer, kv_head, pos, d_head]; embed, final (, pos_embed) [pos,
    d_model]) plus :func:`transient_bytes`. The derived arrays (attn_in, resid_mid, mlp_in,
    mlp_pre/gate/act, scores, pattern, z, head_out, logits but the last row) are not kept
    (:mod:`tensors.lazy`).

    Calibrated against the peak RSS of real captures of the bundled model on the CPU
    (``scripts/bench.py --memory``; :data:`RUNTIME_BYTES` + weights + this, estimated /
    measured, 2026-11-30, capture version 6): 64 tokens 1.06 / 0.96 GB, 256: 1.14 / 1.03,
    1024: 1.53 / 1.39 (the eager attention's quadratic term dominates beyond ~1,000).
    """
    L, H, kv, d, dh = (int(facts[k]) for k in ("n_layer", "n_head", "n_kv_head", "d_model", "d_head"))
    per_token = ((L + 1) * d + 2 * L * d + 3 * d       # resid; attn_out, mlp_out; embed, pos_embed, final
                 + L * H * dh + 2 * L * kv * dh)       # q; k, v
    return F32 * per_token * n + transient_bytes(facts, n)


def transient_bytes(facts: Mapping[str, int], n: int) -> int:
    """The forward pass's own working memory at its peak, for one layer at a time: the eager
    attention's [head, pos, pos] weights (×3: scores, softmax, the dropout view), the MLP's
    [pos, d_mlp] intermediates (×4) and [pos, d_model] temporaries (×4); plus the last
    position's logits (×2)."""
    H, d, m, V = (int(facts[k]) for k in ("n_head", "d_model", "d_mlp", "vocab_size"))
    return F32 * (3 * H * n * n + 4 * n * m + 4 * n * d + 2 * V)


def max_tokens(facts: Mapping[str, int], budget: int, weights_bytes: int) -> int:
    """The longest prompt whose capture fits in ``budget`` bytes beside ``weights_bytes``
    (0 if none does)."""
    lo, hi = 0, max(1, int(facts["n_ctx"]))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if weights_bytes + capture_bytes(facts, mid) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def check_context(n: int, n_ctx: int, name: str = "the model") -> None:
    """UserError (one line) when ``n`` tokens are more than the model's context."""
    if n > n_ctx:
        raise UserError(f"the prompt is {n} tokens but {name}'s context is {n_ctx}; "
                        "shorten the prompt")


def check_fits(facts: Mapping[str, int], n: int, weights_bytes: int, name: str = "the model") -> None:
    """UserError (one line) unless ``n`` tokens fit the context and the memory budget."""
    check_context(n, int(facts["n_ctx"]), name)
    budget = memory_budget()
    need = RUNTIME_BYTES + weights_bytes + capture_bytes(facts, n)
    if need > budget:
        fit = max_tokens(facts, budget, RUNTIME_BYTES + weights_bytes)
        raise UserError(f"the prompt is {n} tokens; capturing it with {name} needs about "
                        f"{need / 1e9:.1f} GB but the memory budget is {budget / 1e9:.1f} GB, "
                        f"where at most {fit} tokens fit; shorten the prompt, or raise the budget "
                        f"with {ENV}=<gigabytes>")
