"""The whole stack in numbers: parameters per component with the shapes they come from,
and the size of what each block writes into the residual stream.

Counts come from the model's tensors (``info["param_counts"]``, counted at capture time
with a tied matrix once); the breakdown into matrices comes from the stored weights'
shapes. A breakdown is shown only when it adds up to the count read from the model.

>>> shapes = {"W_E": (10, 4), "ln1.w": (2, 4), "ln2.w": (2, 4), "W_Q": (2, 2, 4, 2),
...           "W_K": (2, 1, 4, 2), "W_V": (2, 1, 4, 2), "W_O": (2, 2, 2, 4),
...           "W_in": (2, 4, 8), "W_out": (2, 8, 4), "ln_f.w": (4,)}
>>> pc = {"embed": 40, "ln1": [4, 4], "attn": [48, 48], "ln2": [4, 4], "mlp": [64, 64],
...       "ln_final": 4, "unembed": 0}
>>> parts = param_parts(pc, shapes, real=set(shapes), n_layer=2, tied=True)
>>> [(p.key, p.count) for p in parts]
[('embed', 40), ('attn', 48), ('mlp', 64), ('norms', 8), ('blocks', 240), ('ln_final', 4), ('unembed', 0)]
>>> parts[1].breakdown()
'2 × 4×4 + 2 × 4×2'
>>> total_of(parts), sum(40 + 2 * (48 + 64 + 8) + 4 for _ in [0])
(284, 284)
"""
from __future__ import annotations

import dataclasses
import math
from collections import Counter
from typing import Mapping, Sequence

import numpy as np


@dataclasses.dataclass
class Term:
    """One stored tensor of a part, as one block (or the whole model) holds it:
    ``factors`` multiply to its size (``[576, 192]`` for W_K of one block)."""

    name: str
    factors: tuple[int, ...]

    @property
    def size(self) -> int:
        return int(math.prod(self.factors))

    def shape_str(self) -> str:
        return "×".join(f"{f:,}" for f in self.factors)


@dataclasses.dataclass
class Part:
    """A row of the parameter table. ``count`` is read from the model; ``terms`` (the
    matrices it is made of) are kept only when their sizes add up to ``count``;
    ``per_block`` parts count one block, ``blocks`` counts ``n`` blocks."""

    key: str
    count: int
    terms: list[Term]
    per_block: bool = False

    def breakdown(self) -> str:
        """Matrices grouped by shape: ``'2 × 576×576 + 2 × 576×192'``; next to matrices,
        the vectors (biases) are summed: ``'4 × 64×64 + 256 biases'``.

        >>> Part("x", 0, [Term("W", (4, 4)), Term("b", (4,)), Term("c", (2,))]).breakdown()
        '4×4 + 6 biases'
        """
        mats = [t for t in self.terms if len(t.factors) > 1]
        vecs = [t for t in self.terms if len(t.factors) == 1]
        shown = mats or vecs
        groups = Counter(t.shape_str() for t in shown)
        order = list(dict.fromkeys(t.shape_str() for t in shown))
        out = " + ".join(s if groups[s] == 1 else f"{groups[s]} × {s}" for s in order)
        if mats and vecs:
            out += f" + {sum(t.size for t in vecs):,} biases"
        return out


#: Stored tensors of each part, per block (layer axis dropped), in display order.
PER_BLOCK = {
    "attn": ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O"),
    "mlp": ("W_gate", "W_in", "W_out", "b_gate", "b_in", "b_out"),
    "norms": ("ln1.w", "ln1.b", "ln2.w", "ln2.b"),
}


def block_factors(name: str, shape: Sequence[int]) -> tuple[int, ...]:
    """The per-block matrix shape of a stored per-layer tensor, heads merged:
    W_Q [layer, head, d_model, d_head] -> (d_model, head·d_head); W_O [layer, head, d_head,
    d_model] -> (head·d_head, d_model); b_Q [layer, head, d_head] -> (head·d_head,).

    >>> block_factors("W_K", (30, 3, 576, 64)), block_factors("W_O", (30, 9, 64, 576))
    ((576, 192), (576, 576))
    >>> block_factors("b_V", (30, 3, 64)), block_factors("W_in", (30, 576, 1536))
    ((192,), (576, 1536))
    """
    s = tuple(int(x) for x in shape[1:])
    if name in ("W_Q", "W_K", "W_V"):
        return (s[1], s[0] * s[2])
    if name == "W_O":
        return (s[0] * s[1], s[2])
    if name in ("b_Q", "b_K", "b_V"):
        return (s[0] * s[1],)
    return s


def _checked(key: str, count: int, terms: list[Term], per_block: bool = False) -> Part:
    if sum(t.size for t in terms) != count:
        terms = []          # the shapes do not explain the count: show the count alone
    return Part(key, int(count), terms, per_block)


def param_parts(pc: Mapping[str, object], shapes: Mapping[str, Sequence[int]], real: set[str],
                n_layer: int, tied: bool) -> list[Part]:
    """Rows of the parameter table: embed, (pos_embed), attn / mlp / norms of one block,
    blocks (all of them), ln_final, unembed (0 when tied: W_U is W_E), (other).

    ``pc``: ``info["param_counts"]``; ``shapes``: stored weight name -> shape; ``real``:
    names that are real parameters (not zero-filled biases). A per-block row exists only
    when every block has the same count (else the row is the sum over blocks)."""
    def terms(names: Sequence[str], per_layer: bool) -> list[Term]:
        out = []
        for n in names:
            if n in shapes and n in real:
                f = block_factors(n, shapes[n]) if per_layer else tuple(int(x) for x in shapes[n])
                out.append(Term(n, f))
        return out

    parts = [_checked("embed", pc["embed"], terms(["W_E"], False))]
    if "pos_embed" in pc:
        parts.append(_checked("pos_embed", pc["pos_embed"], terms(["W_pos"], False)))
    per = {"attn": list(pc["attn"]), "mlp": list(pc["mlp"]),
           "norms": [a + b for a, b in zip(pc["ln1"], pc["ln2"])]}
    uniform = all(len(set(v)) == 1 for v in per.values())
    block_total = 0
    for key, names in PER_BLOCK.items():
        if uniform:
            parts.append(_checked(key, per[key][0], terms(names, True), per_block=True))
        else:
            parts.append(Part(key, int(sum(per[key])), []))
        block_total += per[key][0] if uniform else 0
    blocks = sum(sum(v) for v in per.values())
    parts.append(Part("blocks", int(blocks),
                      [Term("block", (n_layer, block_total))] if uniform else []))
    parts.append(_checked("ln_final", pc["ln_final"], terms(["ln_f.w", "ln_f.b"], False)))
    unembed = [] if tied else terms(["W_U"], False)
    parts.append(_checked("unembed", pc["unembed"], unembed))
    if pc.get("other"):
        parts.append(Part("other", int(pc["other"]), []))
    return parts


#: Parts whose counts add up to the model's total (per-block rows are inside "blocks").
TOTAL_KEYS = ("embed", "pos_embed", "blocks", "ln_final", "unembed", "other")


def total_of(parts: Sequence[Part]) -> int:
    """The model's parameter count as the table adds it up (a tied matrix once)."""
    return int(sum(p.count for p in parts if p.key in TOTAL_KEYS))


def write_norms(attn_out: np.ndarray, mlp_out: np.ndarray, pos: int = -1) -> np.ndarray:
    """‖what each block writes into the residual stream‖ at ``pos``:
    attn_out, mlp_out [layer, pos, d_model] -> [layer, 2] (attention, MLP), float64.

    >>> a = np.zeros((2, 3, 4)); a[1, -1, 0] = 3.0; a[1, -1, 1] = 4.0
    >>> write_norms(a, np.ones((2, 3, 4))).tolist()
    [[0.0, 2.0], [5.0, 2.0]]
    """
    a = np.linalg.norm(np.asarray(attn_out[:, pos], np.float64), axis=-1)
    m = np.linalg.norm(np.asarray(mlp_out[:, pos], np.float64), axis=-1)
    return np.stack([a, m], axis=-1)


def sig3(x: float) -> str:
    """A measured size as printed: three significant digits, at least one decimal.

    >>> sig3(194.63), sig3(0.031234), sig3(2.0), sig3(619.2)
    ('194.6', '0.0312', '2.00', '619.2')
    """
    if x == 0 or not math.isfinite(x):
        return f"{x:.1f}"
    d = max(1, 2 - int(math.floor(math.log10(abs(x)))))
    return f"{x:,.{d}f}"


def human(n: float) -> str:
    """A parameter count in words-of-the-trade: 134.5 M, 1.56 B, 175 B (3 significant digits).

    >>> human(134_515_008), human(1_557_611_200), human(175e9), human(7_000)
    ('135 M', '1.56 B', '175 B', '7,000')
    """
    for unit, name in ((1e9, "B"), (1e6, "M")):
        if n >= unit:
            return f"{float(f'{n / unit:.3g}'):g} {name}"
    return f"{int(n):,}"
