"""Arrays [layer, ...] whose layers are computed on first access, from what the Trace stores.

The attention scores and pattern grow with the square of the prompt and the heads' outputs
with n_head × pos × d_model, per layer; a scene looks at one or two layers. So the Trace
stores q, k and v and derives these (and z, the norms' outputs, the MLP's arrays) per layer
when asked (:class:`PerLayer`), keeping the last few layers computed. Indexing with a layer number computes that layer only:

>>> calls = []
>>> a = PerLayer(3, (2,), np.float32, lambda i: calls.append(i) or np.full(2, i, np.float32))
>>> a[2], a.shape, calls
(array([2., 2.], dtype=float32), (3, 2), [2])
>>> a[1, 0], calls
(np.float32(1.0), [2, 1])

Arrays that are computed position by position (norms, the MLP: ``compute_rows(i, rows)``)
also answer a slice over layers at given positions without computing whole layers:
``t.mlp_out[:, pos]`` computes that position's MLP in every layer, not every position's.

>>> b = PerLayer(3, (4, 2), np.float32, lambda i: np.full((4, 2), i, np.float32),
...              compute_rows=lambda i, rows: calls.append((i, rows)) or np.full((4, 2), i, np.float32)[rows])
>>> b[:, 1].tolist(), calls[-3:]
([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], [(0, 1), (1, 1), (2, 1)])

Anything else (a slice over layers, ``np.asarray(a)``, ``a.sum(-1)``, ``a * 2``) works on the
whole array, built layer by layer (kept when at most :data:`KEEP_WHOLE_BYTES`).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable

import numpy as np

#: The whole array is kept after it was built once when it is at most this big.
KEEP_WHOLE_BYTES = 64 << 20
#: How many computed layers each array keeps.
KEEP_LAYERS = 4


class PerLayer(np.lib.mixins.NDArrayOperatorsMixin):
    """A read-only array of shape [n_layer, *layer_shape] computed per layer by ``compute(i)``."""

    def __init__(self, n_layer: int, layer_shape: tuple[int, ...], dtype: Any,
                 compute: Callable[[int], np.ndarray],
                 compute_all: Callable[[], np.ndarray] | None = None,
                 compute_rows: Callable[[int, Any], np.ndarray] | None = None):
        """``compute_all`` (optional): the whole array at once, when that is much cheaper
        than stacking ``compute(i)`` for every i (one matmul instead of n).
        ``compute_rows(i, rows)`` (optional): ``compute(i)[rows]`` (rows: an int or a slice
        of the layer's first axis) without computing the other rows — for arrays computed
        row by row (per position); used for ``a[layers, rows, ...]``."""
        self.shape = (int(n_layer), *map(int, layer_shape))
        self.dtype = np.dtype(dtype)
        self._compute = compute
        self._compute_all = compute_all
        self._compute_rows = compute_rows
        self._layers: OrderedDict[int, np.ndarray] = OrderedDict()
        self._whole: np.ndarray | None = None

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape)))
    nbytes = property(lambda self: self.size * self.dtype.itemsize)

    def __len__(self) -> int:
        return self.shape[0]

    def layer(self, i: int) -> np.ndarray:
        """Layer i [*layer_shape] (negative counts from the end), computed once."""
        n = self.shape[0]
        if not -n <= i < n:
            raise IndexError(f"layer {i} is out of range for {n} layers")
        i %= n
        if self._whole is not None:
            return self._whole[i]
        if i in self._layers:
            self._layers.move_to_end(i)
        else:
            a = np.asarray(self._compute(i), dtype=self.dtype)
            a.flags.writeable = False
            self._layers[i] = a
            while len(self._layers) > KEEP_LAYERS:
                self._layers.popitem(last=False)
        return self._layers[i]

    def __getitem__(self, idx: Any) -> Any:
        key = idx if isinstance(idx, tuple) else (idx,)
        if key and isinstance(key[0], (int, np.integer)) and not isinstance(key[0], bool):
            x = self.layer(int(key[0]))
            return x[key[1:]] if len(key) > 1 else x
        if (self._compute_rows is not None and self._whole is None and len(key) > 1
                and isinstance(key[0], slice) and isinstance(key[1], (int, np.integer, slice))
                and not isinstance(key[1], bool)):
            return self._rows(key[0], key[1], key[2:])
        return np.asarray(self)[idx]

    def _rows(self, layers: slice, rows: Any, rest: tuple) -> np.ndarray:
        """``a[layers, rows, *rest]`` from rows of each layer (a computed layer is reused)."""
        parts = [self._layers[i][rows] if i in self._layers else self._compute_rows(i, rows)
                 for i in range(len(self))[layers]]
        if parts:
            out = np.stack([np.asarray(p, dtype=self.dtype) for p in parts])
        else:
            one = np.broadcast_to(np.empty((), self.dtype), self.shape[1:])[rows]
            out = np.empty((0, *one.shape), self.dtype)
        keep = (slice(None),) * (2 if isinstance(rows, slice) else 1)
        return out[keep + rest] if rest else out

    def __iter__(self):
        return (self.layer(i) for i in range(len(self)))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = self._whole
        if whole is None:
            if self._compute_all is not None:
                whole = np.asarray(self._compute_all(), dtype=self.dtype)
            elif len(self):
                whole = np.stack([self.layer(i) for i in range(len(self))])
            else:
                whole = np.empty(self.shape, self.dtype)
            if whole.nbytes <= KEEP_WHOLE_BYTES:
                whole.flags.writeable = False
                self._whole = whole
        return whole if dtype is None else whole.astype(dtype)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        inputs = tuple(np.asarray(x) if isinstance(x, PerLayer) else x for x in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(np.asarray(self), name)      # .sum, .max, .mean, .astype, .T …

    def __repr__(self) -> str:
        return f"PerLayer(shape={self.shape}, dtype={self.dtype}, computed={sorted(self._layers)})"
