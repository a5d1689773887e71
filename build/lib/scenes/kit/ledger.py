"""The equation ledger: every equation or identity a beat shows, with the full-precision
operands it displays and the result it displays, so a test can recompute each one.

A beat that draws ``q = x̂·W_Q + b_Q`` next to numbers records it::

    self.equation("matmul", "q = x̂·W_Q + b_Q", shown=q_row, x=xhat_row, W=W_Q, b=b_Q)

and ``tests`` re-derive ``shown`` from the operands with :func:`recompute`; :func:`error`
is the relative error (fp32 scale), which must stay below 1e-5.

>>> import numpy as np
>>> e = Equation("dot", "q·k", shown=np.array(11.0), operands={"a": np.array([1., 2.]), "b": np.array([3., 4.])})
>>> error(e) < 1e-12
True
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from .analysis.mlp import activation  # the MLP nonlinearities, by the model's name


def _softmax(z: np.ndarray, T: float = 1.0) -> np.ndarray:
    z = np.asarray(z, np.float64) / float(T)
    finite = np.isfinite(z)
    e = np.where(finite, np.exp(np.where(finite, z, 0) - np.max(np.where(finite, z, -np.inf), axis=-1, keepdims=True)), 0.0)
    return e / e.sum(axis=-1, keepdims=True)


def _rmsnorm(x, g, eps):
    x = np.asarray(x, np.float64)
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + float(eps)) * g


def _layernorm(x, g, b, eps):
    x = np.asarray(x, np.float64)
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + float(eps)) * g + b


def _rope(x, pos, theta, dims, scaling=1.0):
    """Rotary position embedding as Llama applies it (rotate_half convention): the first
    ``dims`` numbers of each row of x [pos, d] rotated by angles pos·θ^(−2i/dims)."""
    x = np.asarray(x, np.float64)
    pos = np.asarray(pos, np.float64).reshape(-1, 1)
    inv = 1.0 / float(theta) ** (np.arange(0, int(dims), 2, dtype=np.float64) / int(dims))
    ang = np.concatenate([pos * inv, pos * inv], axis=-1)
    cos, sin = np.cos(ang) * scaling, np.sin(ang) * scaling
    r, rest = x[..., :int(dims)], x[..., int(dims):]
    half = int(dims) // 2
    rot = np.concatenate([-r[..., half:], r[..., :half]], axis=-1)
    return np.concatenate([r * cos + rot * sin, rest], axis=-1)


def _cosine(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a @ b / (np.linalg.norm(a) * np.linalg.norm(b))


#: kind -> how its result follows from its operands (names are the keyword operands).
KINDS: dict[str, Callable[..., Any]] = {
    "matmul": lambda x, W, b=None: np.asarray(x, np.float64) @ W + (0.0 if b is None else b),
    "dot": lambda a, b: np.dot(np.asarray(a, np.float64), b),
    "scale": lambda a, s: np.asarray(a, np.float64) * s,
    "add": lambda a, b: np.asarray(a, np.float64) + b,
    "sum": lambda terms: np.asarray(terms, np.float64).sum(axis=0),
    "a-b+c": lambda a, b, c: np.asarray(a, np.float64) - b + c,
    "weighted_sum": lambda w, v: np.asarray(w, np.float64) @ np.asarray(v, np.float64),
    "softmax": _softmax,
    "rmsnorm": _rmsnorm,
    "layernorm": _layernorm,
    "cosine": _cosine,
    "rope": _rope,
    "mean": lambda x: np.asarray(x, np.float64).mean(axis=-1),
    "rms": lambda x, eps: np.sqrt((np.asarray(x, np.float64) ** 2).mean(axis=-1) + float(eps)),
    "std": lambda x, eps: np.sqrt(np.asarray(x, np.float64).var(axis=-1) + float(eps)),
    "lookup": lambda W, rows: np.asarray(W)[np.asarray(rows)],
    "total": lambda parts: np.sum(np.asarray(parts, np.int64)),
    "activation": activation,  # act(x) or act(x) * up (gated MLPs); name = the model's
    "product": lambda factors: np.prod(np.asarray(factors, np.int64)),
}


@dataclasses.dataclass
class Equation:
    """One equation as shown: its ``kind`` (a key of :data:`KINDS`), the ``text`` on screen,
    the ``shown`` result and the ``operands`` (full precision, as displayed)."""

    kind: str
    text: str
    shown: Any
    operands: dict[str, Any]
    where: str = ""  # scene.beat that recorded it


def recompute(e: Equation) -> np.ndarray:
    return np.asarray(KINDS[e.kind](**e.operands), np.float64)


def error(e: Equation) -> float:
    """max |recomputed − shown| / max(|shown|, 1e-6·…): relative error at the result's scale."""
    r = recompute(e)
    s = np.asarray(e.shown, np.float64)
    if r.shape != s.shape:
        return float("inf")
    if e.kind in ("total", "product"):
        return float(np.max(np.abs(r - s)))
    fin = np.isfinite(s)
    if not np.array_equal(fin, np.isfinite(r)):
        return float("inf")
    if not fin.any():
        return 0.0
    scale = max(float(np.max(np.abs(s[fin]))), 1e-12)
    return float(np.max(np.abs(r[fin] - s[fin]))) / scale


class LedgerMixin:
    """Gives a scene ``self.ledger`` (a list of :class:`Equation`) and ``self.equation(...)``."""

    def equation(self, kind: str, text: str, shown: Any, **operands: Any) -> Equation:
        if kind not in KINDS:
            raise ValueError(f"unknown equation kind {kind!r}; one of {sorted(KINDS)}")
        e = Equation(kind, text, shown, operands, where=getattr(self, "_current_beat", ""))
        if not hasattr(self, "ledger"):
            self.ledger = []
        self.ledger.append(e)
        return e
