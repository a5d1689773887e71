"""Attention selection rules (pure numpy): which head, which attending token, which columns.

>>> import numpy as np
>>> p = np.tril(np.ones((4, 4))); p /= p.sum(-1, keepdims=True)
>>> round(float(head_scores(p)), 3)           # uniform causal attention: mass on keys 1..q-2
0.25
>>> shown_positions(12, 5, must=2)
[2, 8, 9, 10, 11]
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = ["head_scores", "select_head", "pick_query", "shown_positions", "grid_labels",
           "arc_window"]


def head_scores(pattern: np.ndarray) -> np.ndarray:
    """Long-range content mass of every head: ``[..., q, k] -> [...]``.

    For each query position q ≥ 3 (the first that has such a key), the attention mass on
    keys 1 … q−2 — i.e. *not* on the
    first token (the "attention sink" most heads park on), *not* on itself and *not* on the
    token just before it (the three patterns that carry no visible relation between words)
    — averaged over those queries (positions 0–2 have no eligible key: averaging them in
    would add built-in zeros). A value of 0.4 means the head sends, on average, 40% of its
    attention to other earlier words of the sentence. Prompts under 4 tokens score 0.
    A ``[layer, head, q, k]`` pattern is scored one layer at a time (the Trace's lazy
    pattern stays lazy: one layer in memory, not all of them).
    """
    if np.ndim(pattern) == 4:                       # np.ndim reads .ndim: no copy
        return np.stack([head_scores(pattern[layer]) for layer in range(len(pattern))])
    p = np.asarray(pattern)
    n = p.shape[-1]
    if n < 4:
        return np.zeros(p.shape[:-2])
    q = np.arange(n)[:, None]
    k = np.arange(n)[None, :]
    keep = ((k >= 1) & (k <= q - 2)).astype(np.float64)
    # Σ_k p[..., q, k]·keep[q, k] in float64, without a float64 copy of the pattern
    mass = np.einsum("...qk,qk->...q", p, keep, dtype=np.float64)   # [..., q]
    return mass[..., 3:].mean(-1)


def select_head(scores: np.ndarray, layers: Sequence[int] | None = None) -> tuple[int, int, np.ndarray]:
    """The default (layer, head): the largest of ``scores`` ([layer, head], from
    :func:`head_scores`) over ``layers`` (all layers if None); ties go to the earlier layer,
    then the lower head. Returns (layer, head, scores) where scores of layers outside
    ``layers`` are −inf."""
    s = np.asarray(scores, dtype=np.float64)
    if layers is not None:
        mask = np.full(s.shape, -np.inf)
        mask[list(layers)] = 0.0
        s = s + mask
    flat = int(np.argmax(s))                         # first max = earliest layer, lowest head
    l, h = np.unravel_index(flat, s.shape)
    return int(l), int(h), s


def pick_query(pattern_lh: np.ndarray, threshold: float = 0.5) -> int:
    """The attending token shown in the value and arc beats: the last position (where the
    next token is predicted) if at least ``threshold`` of its attention goes to keys other
    than the first token and itself; otherwise the position that sends the most there."""
    p = np.asarray(pattern_lh, dtype=np.float64)
    n = p.shape[0]
    if n == 1:
        return 0
    other = np.array([1.0 - p[q, 0] - (p[q, q] if q else 0.0) for q in range(n)])
    other[0] = -1.0
    if other[-1] >= threshold:
        return n - 1
    return int(np.argmax(other))


def shown_positions(n: int, limit: int, must: int | None = None) -> list[int]:
    """Which positions get a column when a prompt has more than ``limit`` tokens: the last
    ``limit`` ones (so the attending token, usually late, stays in view); ``must`` is kept."""
    if n <= limit:
        return list(range(n))
    pos = list(range(n - limit, n))
    if must is not None and must not in pos:
        pos = [must] + pos[1:]
        pos.sort()
    return pos


def grid_labels(tokens: Sequence[str], every_above: int = 24, target: int = 12) -> list[str | None]:
    """Row/column labels of a grid: all of them up to ``every_above`` tokens, else about
    ``target`` of them (every k-th and the last; None where unlabelled).

    >>> grid_labels(list("abc"))
    ['a', 'b', 'c']
    >>> [i for i, s in enumerate(grid_labels([str(i) for i in range(30)])) if s is not None]
    [0, 3, 6, 9, 12, 15, 18, 21, 24, 29]
    """
    n = len(tokens)
    if n <= every_above:
        return list(tokens)
    step = math.ceil(n / target)
    return [s if (i % step == 0 or i == n - 1) and (n - 1 - i >= step or i == n - 1) else None
            for i, s in enumerate(tokens)]


def arc_window(widths: Sequence[float], q: int, room: float, most: int) -> list[int]:
    """Positions of the tokens the arc beat shows: as many as fit in one row of ``room``
    (each token ``widths[p]`` wide, at full size), at most ``most``, around ``q`` — earlier
    tokens first (arcs read left to right into q), later ones only when room is left.

    >>> arc_window([1.0] * 10, 7, 4.0, 16)
    [4, 5, 6, 7]
    >>> arc_window([1.0] * 10, 1, 4.0, 16)
    [0, 1, 2, 3]
    """
    lo = hi = q
    room -= widths[q]
    while hi - lo + 1 < most:
        if lo > 0 and widths[lo - 1] <= room:
            lo -= 1
            room -= widths[lo]
        elif hi < len(widths) - 1 and widths[hi + 1] <= room:
            hi += 1
            room -= widths[hi]
        else:
            break
    return list(range(lo, hi + 1))
