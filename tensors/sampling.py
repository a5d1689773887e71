"""The one softmax (and its temperature check) every probability in gpt-scenes goes through.

>>> softmax(np.array([0.0, np.log(3.0)]))
array([0.25, 0.75])
>>> softmax(np.array([0.0, np.log(3.0)]), temperature=2.0).round(4)
array([0.366, 0.634])
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


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """softmax(logits / T) over the last axis, float64, numerically stable (max subtracted).

    logits: [..., n] -> probabilities [..., n] summing to 1; ``-inf`` entries get 0.
    """
    z = np.asarray(logits, dtype=np.float64) / check_temperature(temperature)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
