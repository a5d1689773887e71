"""The KV cache in numbers: the keys and values of earlier positions do not change when a
token is appended, so a generation step computes one new row instead of the whole text.

Multiply-adds are those of the matrix products (projections, attention scores and the
weighted sum of values, unembedding); norms, activations and softmax are left out (a few
thousand per token). Per token and block, the projections cost one multiply-add per weight
entry: the sum of the sizes of W_Q, W_K, W_V, W_O and the MLP matrices. Attention of a
query at position i costs 2 · n_head · d_head · (i + 1) (q·k for i+1 keys, then the
weighted sum of as many values). Only the last position's logits are needed per step
(d_model · vocab), with or without the cache.

>>> c = StepCost(n_layer=2, proj=100, n_head=2, d_head=4, unembed=50)
>>> c.attn(3)
48
>>> c.with_cache(3), c.without_cache(3)
(346, 842)
>>> sum(c.without_cache_parts(3)) == c.without_cache(3)
True
"""
from __future__ import annotations

import dataclasses

import numpy as np


def max_cache_diff(k1: np.ndarray, v1: np.ndarray, k2: np.ndarray, v2: np.ndarray) -> tuple[float, float]:
    """Largest |difference| between the keys (and values) of run 1 and the same positions
    of run 2: k, v [layer, head, pos, d_head]; run 2 may have more positions.

    >>> k = np.ones((1, 1, 2, 3)); k2 = np.ones((1, 1, 3, 3)); k2[0, 0, 2] = 9
    >>> max_cache_diff(k, k, k2, k2)
    (0.0, 0.0)
    """
    n = k1.shape[2]
    dk = float(np.max(np.abs(np.asarray(k1, np.float64) - k2[:, :, :n])))
    dv = float(np.max(np.abs(np.asarray(v1, np.float64) - v2[:, :, :n])))
    return dk, dv


@dataclasses.dataclass
class StepCost:
    """Multiply-adds of one generation step, from the model's shapes.

    ``proj``: multiply-adds per token per block of the projections (= their weight count);
    ``unembed``: d_model · vocab."""

    n_layer: int
    proj: int
    n_head: int
    d_head: int
    unembed: int

    def attn(self, n_keys: int) -> int:
        """One query against ``n_keys`` keys: scores, then the weighted sum of values."""
        return 2 * self.n_head * self.d_head * int(n_keys)

    def position(self, i: int) -> int:
        """Position i (0-based) through every block: projections + its attention."""
        return self.n_layer * (self.proj + self.attn(i + 1))

    def with_cache_parts(self, n: int) -> list[int]:
        """A step at context length n with the cache: only the new (last) position."""
        return [self.position(n - 1), self.unembed]

    def without_cache_parts(self, n: int) -> list[int]:
        """Without it: every one of the n positions again, then the last position's logits."""
        return [self.position(i) for i in range(n)] + [self.unembed]

    def with_cache(self, n: int) -> int:
        return int(sum(self.with_cache_parts(n)))

    def without_cache(self, n: int) -> int:
        return int(sum(self.without_cache_parts(n)))


def cache_numbers(n_layer: int, n_kv_head: int, d_head: int) -> int:
    """Numbers the cache keeps per token: a key and a value per layer and kv head.

    >>> cache_numbers(30, 3, 64)
    11520
    """
    return 2 * n_layer * n_kv_head * d_head
