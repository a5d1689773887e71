"""Next-token probabilities and seeded draws: the one softmax every probability shown goes
through, and the sampling rule (:mod:`tensors.generate` grows text with it).

>>> softmax(np.array([0.0, np.log(3.0)]))
array([0.25, 0.75])
>>> softmax(np.array([0.0, np.log(3.0)]), temperature=2.0).round(4)
array([0.366, 0.634])
>>> sample(np.array([0.0, 0.0, 50.0]), seed=0, n=3)
array([2, 2, 2])

How a token is drawn (:func:`sample`)
    The distribution is ``p = softmax(logits / T)`` over the whole vocabulary (float64), or,
    with ``top_k``, over the k largest logits only (the others get probability 0 — the usual
    top-k sampling). A ``numpy.random.Generator(PCG64(seed))`` draws ``u ~ U[0, 1)`` and the
    token is the inverse CDF: the first id whose cumulative probability exceeds ``u``.
    Same logits, T, top_k and seed → the same ids, on any machine. Temperature only changes
    the distribution we sample from: the most likely token (:func:`greedy`, the argmax) is
    the same for every T > 0. T ≤ 0 is a :class:`UserError`.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import UserError


def check_temperature(temperature: Any) -> float:
    """``temperature`` as a float, or a one-line UserError unless it is a positive number."""
    try:
        T = float(temperature)
    except (TypeError, ValueError):
        T = float("nan")
    if not math.isfinite(T) or T <= 0:
        raise UserError(f"temperature {temperature!r} must be a positive number, e.g. 0.7 "
                        "(greedy decoding is the argmax, the limit T → 0)")
    return T


def softmax(logits: np.ndarray, temperature: float = 1.0, dtype: Any = np.float64,
            out: np.ndarray | None = None) -> np.ndarray:
    """softmax(logits / T) over the last axis, numerically stable (max subtracted before
    dividing by T): finite and exact for every T > 0 and every finite logit range (T = 1e-320
    gives the argmax, one-hot; T = 1e9 the near-uniform distribution).

    >>> softmax(np.array([3.0, 2.0, 1.0]), temperature=1e-320)
    array([1., 0., 0.])

    logits: [..., n] -> probabilities [..., n] summing to 1; ``-inf`` entries get 0.
    ``dtype``: float64 for the probabilities shown and sampled; the attention pattern uses
    float32, the precision the model's own attention softmax runs in (and 20× faster on a
    [head, pos, pos] layer). ``out``: an array to work in (and return) instead of a new
    copy — ``logits`` itself for an in-place softmax (its dtype then wins).
    """
    T = check_temperature(temperature)
    if out is None:
        z = np.array(logits, dtype=dtype)             # a copy, worked on in place
    else:
        z = out
        if z is not logits:
            np.copyto(z, logits)
    # log-space: shift by the max first (z_i - max <= 0, the max row entry exactly 0), then
    # divide by T in float64 — never an overflow (logits of ±1e30, T = 1e-320: the
    # others go to -inf, exp 0) and never a NaN, so T -> 0 is the argmax (ties shared).
    with np.errstate(over="ignore", under="ignore"):     # -> -inf / 0, as meant
        z -= z.max(axis=-1, keepdims=True)
        if T != 1.0:
            np.divide(z, np.float64(T), out=z, casting="unsafe")
        np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


def check_top_k(top_k: Any, vocab: int) -> int | None:
    if top_k is None:
        return None
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or not 1 <= top_k:
        raise UserError(f"top_k {top_k!r} must be a whole number ≥ 1 (or None for the whole "
                        "vocabulary), e.g. 40")
    return int(min(top_k, vocab))


def _logits_of(trace_or_logits: Any, pos: int = -1) -> np.ndarray:
    if hasattr(trace_or_logits, "logits"):
        return np.asarray(trace_or_logits.logits[pos], dtype=np.float64)
    x = np.asarray(trace_or_logits, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected one row of logits [vocab], got shape {x.shape}")
    return x


def distribution(trace_or_logits: Any, temperature: float = 1.0, top_k: int | None = None,
                 pos: int = -1) -> np.ndarray:
    """The distribution :func:`sample` draws from: softmax(logits / T), restricted to the
    ``top_k`` largest logits when given (renormalised). [vocab] float64, sums to 1."""
    T = check_temperature(temperature)
    z = _logits_of(trace_or_logits, pos)
    k = check_top_k(top_k, z.shape[0])
    if k is not None and k < z.shape[0]:
        keep = np.argpartition(-z, k - 1)[:k]
        masked = np.full_like(z, -np.inf)
        masked[keep] = z[keep]
        z = masked
    return softmax(z, T)


def greedy(trace_or_logits: Any, pos: int = -1) -> int:
    """Greedy decoding: the argmax of the logits — the same token for every temperature."""
    return int(np.argmax(_logits_of(trace_or_logits, pos)))


def rng(seed: int) -> np.random.Generator:
    """The generator every draw here uses: numpy's PCG64 seeded with ``seed``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UserError(f"seed {seed!r} must be a whole number ≥ 0, e.g. 0")
    return np.random.Generator(np.random.PCG64(int(seed)))


def draw(p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw: for each u in [0, 1), the first id whose cumulative probability > u."""
    cdf = np.cumsum(p)
    ids = np.searchsorted(cdf, u * cdf[-1], side="right")
    ids = np.minimum(ids, len(p) - 1)
    # never return a zero-probability id (possible only through float rounding at an edge)
    bad = p[ids] == 0
    if bad.any():
        nz = np.flatnonzero(p)
        ids[bad] = nz[np.minimum(np.searchsorted(nz, ids[bad]), len(nz) - 1)]
    return ids


def sample(trace_or_logits: Any, temperature: float = 1.0, seed: int = 0, n: int = 1,
           top_k: int | None = None, pos: int = -1) -> np.ndarray:
    """``n`` token ids drawn independently from :func:`distribution` with seed ``seed``.

    Reproducible: the same inputs give the same ids. ``trace_or_logits``: a Trace (its
    logits at ``pos``) or one row of logits [vocab].
    """
    p = distribution(trace_or_logits, temperature, top_k, pos)
    g = rng(seed)
    return draw(p, g.random(int(n))).astype(np.int64)
