"""Output-side rules (pure): the temperature sweep, the temperatures knob, norm statistics.

>>> temperature_path((0.1, 1.0, 5.0), between=1)
[1.0, 0.316, 0.1, 0.316, 1.0, 2.24, 5.0]
>>> norm_stats([3.0, 4.0], "RMSNorm")["rms"] == (12.5) ** 0.5
True
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tensors import UserError
from tensors.generate import check_temperature

__all__ = ["check_temperatures", "temperature_path", "norm_stats"]


def check_temperatures(temps: Sequence[Any]) -> list[float]:
    """The ``temperatures`` knob as floats; a one-line UserError for T ≤ 0 or an empty list."""
    try:
        temps = list(temps)
    except TypeError:
        raise UserError(f"temperatures {temps!r} must be a list of positive numbers, "
                        "e.g. (0.1, 1.0, 5.0)") from None
    if not temps:
        raise UserError("temperatures is empty; give positive numbers, e.g. (0.1, 1.0, 5.0)")
    return [check_temperature(T) for T in temps]


def temperature_path(temps: Sequence[float], between: int = 2, start: float = 1.0) -> list[float]:
    """The sweep shown: from ``start`` (T = 1, the model's own distribution) through each
    chosen temperature in order, with ``between`` geometric in-between values for a smooth
    animation. Values rounded to 3 significant digits (they are shown)."""
    path = [start]
    for T in temps:
        a = path[-1]
        if T == a:
            continue
        for i in range(1, between + 1):
            path.append(a * (T / a) ** (i / (between + 1)))
        path.append(T)
        # back through 1 before crossing to the other side, so each side is seen from T = 1
        if T < start and any(x > start for x in temps[temps.index(T) + 1:]):
            for i in range(1, between + 1):
                path.append(T * (start / T) ** (i / (between + 1)))
            path.append(start)
    return [float(f"{x:.3g}") for x in path]


def norm_stats(x: np.ndarray, norm: str) -> dict[str, float]:
    """The real statistics the final norm divides by (ε not included): rms, or mean and std."""
    x = np.asarray(x, dtype=np.float64)
    if norm == "RMSNorm":
        return {"rms": float(np.sqrt(np.mean(x ** 2)))}
    return {"mean": float(x.mean()), "std": float(x.std())}
