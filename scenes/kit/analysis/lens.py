"""The logit lens: the model's own final norm and unembedding applied to the residual
stream after every block (``Trace.lens_logits(layer)``), read as a next-token guess.

>>> z = np.array([[[0.0, 1.0, 3.0]], [[2.0, 0.0, 0.0]]])      # [layer, pos, vocab]
>>> p = softmax_rows(z)
>>> top_ids(z).tolist(), np.round(p.max(-1), 3).tolist()
([[2], [0]], [[0.844], [0.787]])
>>> ranks(z[:, 0], answer=2).tolist()
[1, 2]
>>> shown_layers(30, 11), shown_layers(3, 11)
([0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30], [0, 1, 2, 3])
"""
from __future__ import annotations

import numpy as np


def lens_all(t, positions: list[int] | None = None) -> np.ndarray:
    """The logit lens at every layer in one matrix product: the final norm of every
    ``t.resid[layer, pos]`` (``t.apply_norm``) times W_Uᵀ -> [layer+1, pos, vocab] float32.
    The same numbers as ``t.lens_logits(layer)`` for each layer (tested), one BLAS call
    instead of n_layer + 1. ``positions``: only those (a long prompt shows a few), in order."""
    resid = t.resid if positions is None else np.asarray(t.resid)[:, list(positions)]
    xn = t.apply_norm(resid)                                   # [layer+1, pos, d_model]
    L, P, d = xn.shape
    return (xn.reshape(L * P, d) @ t.weights.W_U.T).reshape(L, P, -1)


class AtPositions:
    """Numbers [layer, pos, ...] computed at some positions of the prompt only (the ones a
    scene shows: its cost follows what is shown, not the prompt's length), indexed by the
    prompt's own positions: ``a[L, p]``, ``a[L, [p, q]]``, ``a[:, -1]``; ``a[L]`` is layer
    L at the computed positions, in order. A position not computed is a KeyError.

    >>> a = AtPositions(np.arange(6).reshape(2, 3), positions=[7, 8, 9], n_pos=10)
    >>> int(a[1, 8]), a[0, [9, 7]].tolist(), a[:, -1].tolist(), a[1].tolist()
    (4, [2, 0], [2, 5], [3, 4, 5])
    """

    def __init__(self, a: np.ndarray, positions: list[int], n_pos: int):
        self.a, self.positions, self.n_pos = a, list(positions), n_pos
        self.col = {p: j for j, p in enumerate(self.positions)}

    def _j(self, p):
        if isinstance(p, (list, tuple, np.ndarray)):
            return [self._j(q) for q in p]
        p = int(p)
        q = p + self.n_pos if p < 0 else p
        if q not in self.col:
            raise KeyError(f"position {p} was not computed (only {self.positions})")
        return self.col[q]

    def __getitem__(self, key):
        if not isinstance(key, tuple):
            return self.a[key]
        return self.a[(key[0], self._j(key[1]), *key[2:])]


def softmax_rows(z: np.ndarray) -> np.ndarray:
    """softmax over the last axis, in float64 (max subtracted first)."""
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def top_ids(z: np.ndarray) -> np.ndarray:
    """The most likely token per row: [..., vocab] -> [...] (first index on a tie)."""
    return np.argmax(z, axis=-1)


def ranks(z: np.ndarray, answer: int) -> np.ndarray:
    """Rank of token ``answer`` in each row of ``z`` [..., vocab]: 1 = the top token
    (1 + the number of tokens with a strictly larger logit)."""
    z = np.asarray(z)
    return 1 + (z > z[..., answer:answer + 1]).sum(axis=-1)


def shown_layers(n_layer: int, max_rows: int) -> list[int]:
    """Which lens layers (0 = the embedding … n_layer = after the last block) get a row of
    the grid: all of them when they fit, else ``max_rows`` evenly spaced ones, always with
    0 and n_layer (rounded to whole layers, no repeats)."""
    n = n_layer + 1
    if n <= max_rows:
        return list(range(n))
    return sorted({int(round(i * n_layer / (max_rows - 1))) for i in range(max_rows)})


def layer_list(layers: list[int]) -> str:
    """The rows shown, said briefly: ``'0, 3, 6 … 30 (every 3rd)'`` or the full list.

    >>> layer_list([0, 3, 6, 9, 12]), layer_list([0, 1, 5])
    ('0, 3, 6 … 12 (every 3rd)', '0, 1, 5')
    """
    steps = {b - a for a, b in zip(layers, layers[1:])}
    if len(steps) == 1 and len(layers) > 4:
        s = steps.pop()
        nth = {2: "2nd", 3: "3rd"}.get(s, f"{s}th")
        return f"{layers[0]}, {layers[1]}, {layers[2]} … {layers[-1]} (every {nth})"
    return ", ".join(str(l) for l in layers)


def first_layer_on_top(top: np.ndarray, answer: int) -> int | None:
    """The first lens layer from which ``answer`` stays the top token to the end
    (None if it is not the top token at the last layer).

    >>> first_layer_on_top(np.array([5, 2, 2, 7, 2, 2]), 2)
    4
    """
    top = np.asarray(top)
    if top[-1] != answer:
        return None
    i = len(top) - 1
    while i > 0 and top[i - 1] == answer:
        i -= 1
    return int(i)
