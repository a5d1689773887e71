"""Published shapes of larger GPTs (figures from their papers, not runs), and how each
compares with the model of this run — the transformer scene's ``beat_scale`` table.

>>> _count("1,542 M")
1542000000.0
"""
from __future__ import annotations

from typing import Sequence

__all__ = ["PUBLISHED", "PUBLISHED_SOURCES", "compare_shapes"]

#: Published shapes (not runs): GPT-2 — Radford et al. 2019, Table 2 (parameters, layers,
#: d_model; heads from the released configs); GPT-3 — Brown et al. 2020, Table 2.1.
PUBLISHED = (
    ("GPT-2 small", 12, 768, 12, "117 M"),
    ("GPT-2 XL", 48, 1600, 25, "1,542 M"),
    ("GPT-3 175B", 96, 12288, 96, "175.0 B"),
)
PUBLISHED_SOURCES = ("GPT-2: Radford et al. 2019, Table 2 (heads: the released configs)",
                     "GPT-3: Brown et al. 2020, Table 2.1")


def _count(p: str) -> float:
    """A published parameter count as printed (``'117 M'``, ``'175.0 B'``) → a number."""
    v, unit = p.replace(",", "").split()
    return float(v) * {"M": 1e6, "B": 1e9}[unit]


def compare_shapes(published: Sequence[tuple], n_layer: int, d_model: int, total: int) -> str:
    """How each published shape compares with this model's (read from the run), grouped:
    depth (layers), width (d_model), size (parameters; within a factor 1.5 = about as many).

    >>> compare_shapes(PUBLISHED, 30, 576, 134_515_008)
    'GPT-2 small is shallower and wider, with about as many parameters; GPT-2 XL and GPT-3 175B are deeper, wider and larger'
    """
    def words(L: int, d: int, p: str) -> tuple[str, str, str]:
        depth = "deeper" if L > n_layer else "shallower" if L < n_layer else "as deep"
        width = "wider" if d > d_model else "narrower" if d < d_model else "as wide"
        r = _count(p) / max(total, 1)
        size = "larger" if r >= 1.5 else "smaller" if r <= 1 / 1.5 else "about as large"
        return depth, width, size

    groups: dict[tuple[str, str, str], list[tuple]] = {}
    for row in published:
        groups.setdefault(words(row[1], row[2], row[4]), []).append(row)
    out = []
    for (depth, width, size), rows in groups.items():
        names = " and ".join([", ".join(r[0] for r in rows[:-1]), rows[-1][0]] if len(rows) > 1
                             else [rows[0][0]])
        verb = "are" if len(rows) > 1 else "is"
        if size == "about as large":
            out.append(f"{names} {verb} {depth} and {width}, with about as many parameters")
        else:
            out.append(f"{names} {verb} {depth}, {width} and {size}")
    return "; ".join(out)
