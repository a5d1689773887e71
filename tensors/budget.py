"""Will a capture of n tokens fit in memory? Checked right after tokenizing, before any work.

A capture's peak memory grows with the square of the prompt (scores and pattern are
[layer, head, pos, pos]). :func:`check_fits` refuses, in one line, a prompt longer than the
model's context or one whose estimated peak exceeds the budget — saying how many tokens
fit — instead of dying out of memory minutes later. The budget is
``$GPT_SCENES_MEMORY_GB`` if set, else 80 % of the memory available now.

>>> facts = {"n_layer": 2, "n_head": 4, "d_model": 64, "d_mlp": 256, "vocab_size": 1000, "n_ctx": 128}
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
    """Estimated peak bytes of capturing ``n`` tokens (fp32), beyond the model's weights.

    What :mod:`tensors.capture` keeps per token (resid [layer+1, pos, d_model]; q, k, v
    [layer, head, pos, d_head]; head_out [layer, head, pos, d_model]; attn_out; embed, final;
    logits [pos, vocab]) and per token pair (scores and pattern [layer, head, pos, pos]),
    twice (per-layer lists, then stacked), plus the forward pass's own per-layer work
    (eager attention weights [head, pos, pos] ×3, the MLP [pos, d_mlp] ×3).

    Checked against the peak RSS of real captures of the bundled model on the CPU
    (:data:`RUNTIME_BYTES` + weights + this): 64 tokens 1.22 GB estimated / 1.17 GB
    measured, 256: 1.97 / 1.86, 512: 3.48 / 3.55. Update it with :mod:`tensors.capture`.
    """
    L, H, d = facts["n_layer"], facts["n_head"], facts["d_model"]
    kept = ((L + 1) * n * d + 3 * L * n * d + L * H * n * d + L * n * d + 2 * n * d
            + n * facts["vocab_size"] + 2 * L * H * n * n)
    transient = 3 * H * n * n + 3 * n * facts["d_mlp"] + 2 * L * n * d
    return F32 * (2 * kept + transient)


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


def check_fits(facts: Mapping[str, int], n: int, weights_bytes: int, name: str = "the model") -> None:
    """UserError (one line) unless ``n`` tokens fit the context and the memory budget."""
    if n > facts["n_ctx"]:
        raise UserError(f"the prompt is {n} tokens but {name}'s context is {facts['n_ctx']}; "
                        "shorten the prompt")
    budget = memory_budget()
    need = RUNTIME_BYTES + weights_bytes + capture_bytes(facts, n)
    if need > budget:
        fit = max_tokens(facts, budget, RUNTIME_BYTES + weights_bytes)
        raise UserError(f"the prompt is {n} tokens; capturing it with {name} needs about "
                        f"{need / 1e9:.1f} GB but the memory budget is {budget / 1e9:.1f} GB, "
                        f"where at most {fit} tokens fit; shorten the prompt, or raise the budget "
                        f"with {ENV}=<gigabytes>")
