"""Matrices and vectors of real numbers: one layout for all of them.

:class:`WeightMatrix` is the one grid: a shown block of a real matrix in square brackets,
entries right-aligned in their columns, each a :class:`Cell`: bright digits
(:func:`scenes.kit.theme.ink_color`, ≥ 4.5:1 at every magnitude) over a shade that shows
sign and size (:func:`scenes.kit.theme.shade_color`), printed by :func:`scenes.kit.text.number_str`
with :func:`scenes.kit.theme.digits_for` decimals; ⋯ / ⋮ / ⋱ where the matrix goes on, a ⋮
gap row between rows that are not adjacent, optional row and column labels, a label, and
braces with notes (:meth:`WeightMatrix.annotate`). ``.value`` on every entry is the real number.
Two views are the same grid with a few settings:

- :class:`VectorColumn` — a column vector (embedding, query, key, value …): one column.
- :class:`EmbeddingMatrix` — W_E drawn as stored, one row per token (piece and id as row
  labels), the rows chosen by :func:`column_plan`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from manim import (DOWN, LEFT, ORIGIN, RIGHT, UP, Brace, Rectangle, SurroundingRectangle, VGroup,
                   VMobject)

from ..text import displayable, label_text, num_text, number_str, shape_str, token_label
from ..theme import MIN_SIZE, THEME, digits_for, ink_color, shade_color

#: Font size of the numbers in the attention scene's row matrices (X, X̂, Q, K, V).
MAT_SIZE = 18.0
#: Height of a ⋮ gap row between two shown rows, in rows (a gap is a mark, not a row of data;
#: room enough that a highlight around a shaded row does not cross the ⋮).
GAP_ROW = 0.72
#: The least space between the digits of neighbouring columns, per unit of font size / 20
#: (frame units): "0.02 −0.09" must never read as a subtraction.
MIN_GAP = 0.2
#: Space between neighbouring cell shades (frame units): cells never touch.
SHADE_GAP = 0.05

__all__ = ["MAT_SIZE", "Cell", "WeightMatrix", "VectorColumn", "EmbeddingMatrix", "column_plan", "brackets",
           "scale_of"]


def brackets(target: VMobject, buff: float = 0.1, color=None, width: float = 2.0) -> VGroup:
    """Square matrix brackets around ``target`` (plain lines: no LaTeX)."""
    color = color or THEME.dim
    h = target.height + 2 * buff * 0.6
    tick = min(0.12, 0.25 * target.width + 0.04)
    l, r = target.get_left()[0] - buff, target.get_right()[0] + buff
    c = target.get_center()[1]
    top, bot = c + h / 2, c - h / 2
    left = VMobject(stroke_color=color, stroke_width=width).set_points_as_corners(
        [[l + tick, top, 0], [l, top, 0], [l, bot, 0], [l + tick, bot, 0]])
    right = VMobject(stroke_color=color, stroke_width=width).set_points_as_corners(
        [[r - tick, top, 0], [r, top, 0], [r, bot, 0], [r - tick, bot, 0]])
    return VGroup(left, right)


def scale_of(values: np.ndarray) -> float:
    """The largest finite magnitude in ``values`` (1.0 when there is none): the scale of
    colours and decimals.

    >>> scale_of(np.array([0.5, -2.0, float("-inf")]))
    2.0
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(np.abs(v).max()) if v.size and np.abs(v).max() > 0 else 1.0


# ====================================================================== one entry
class Cell(VGroup):
    """One shown number: its digits (``.number``, a :func:`num_text`) over a shade
    (``.shade``) that shows sign and size. ``.text`` is the string, ``.value`` the real
    number; :meth:`set_color` colours the digits only (a highlighted entry stays readable).

    >>> c = Cell(num_text("−0.5", 20), Rectangle(width=1, height=0.4))
    >>> c.text, c.set_color("#FFD166").number.get_fill_color().to_hex()
    ('−0.5', '#FFD166')
    """

    def __init__(self, number: VMobject, shade: Rectangle, **kwargs):
        super().__init__(shade, number, **kwargs)
        self.number, self.shade = number, shade

    @property
    def text(self) -> str:
        return self.number.text

    def set_color(self, color=None, family: bool = True):  # type: ignore[override]
        if getattr(self, "number", None) is None:        # while VGroup initialises
            return super().set_color(color, family)
        self.number.set_color(color)
        return self


def _cell(x: float, digits: int, fs: float, sc: float) -> Cell:
    shade = Rectangle(width=1, height=1, stroke_width=0, fill_opacity=1,
                      fill_color=shade_color(x, sc))
    return Cell(num_text(number_str(x, digits), fs, ink_color(x)), shade)


# ====================================================================== the grid
class WeightMatrix(VGroup):
    """A shown block of a real matrix (rows × columns) — weights, or rows of activations —
    each entry coloured by sign and magnitude (blue +, red −, brighter = larger), an
    ellipsis row/column where the matrix goes on, and a brace with the real full shape.

    >>> import numpy as np
    >>> m = WeightMatrix(np.array([[0.1, -0.5], [0.3, 0.0]]), (576, 64),
    ...                  truncated_rows=True, truncated_cols=True, label="W_Q")
    >>> m.shape_text.text.replace(" ", "")
    '576×64'
    >>> m.entry(0, 1).value
    -0.5
    >>> [t.text for t in m.ellipses]
    ['⋯', '⋯', '⋮', '⋮', '⋱']

    Every digit is bright (≥ 4.5:1 against its shade); neighbouring numbers are at least
    ``MIN_GAP`` apart and their shades do not touch:

    >>> m.min_gap() >= MIN_GAP * m.font_size / 20
    True

    ``gap_after`` puts a ⋮ row after the given shown rows (the rows between are not drawn):

    >>> g = WeightMatrix(np.array([[1.0], [2.0], [3.0]]), (100, 1), gap_after=[0])
    >>> y = [float(g.entry(r).get_y()) for r in range(3)]
    >>> round((y[0] - y[1]) / (y[1] - y[2]), 2)     # 1 + 2 × (GAP_ROW − 0.5)
    1.44

    Decimals follow :func:`scenes.kit.theme.digits_for` unless ``digits`` is given; colours
    are relative to ``scale`` (default: the largest shown magnitude). Accessors:
    :meth:`entry`, :meth:`row`, :meth:`col` (VGroups of the entries), :meth:`highlight_row`
    / :meth:`highlight_col` (a rectangle to Create); parts: ``entries``, ``ellipses``,
    ``body`` (entries and ellipses), ``brackets``, ``row_labels``, ``col_labels``, ``label``, ``brace`` and
    ``shape_text``.
    """

    def __init__(self, values: np.ndarray, full_shape: tuple[int, int], *,
                 row_labels: Sequence[str | VMobject] | None = None,
                 col_labels: Sequence[str] | None = None,
                 truncated_rows: bool | None = None, truncated_cols: bool | None = None,
                 gap_after: Sequence[int] = (), label: str | None = None,
                 label_size: float | None = None, label_dir=UP, color=None,
                 font_size: float | None = None, digits: int | None = None,
                 scale: float | None = None, h_buff: float | None = None,
                 v_buff: float | None = None, show_shape: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.values = np.asarray(values, dtype=np.float64)
        if self.values.ndim != 2:
            raise ValueError("WeightMatrix needs a 2-D block")
        nr, nc = self.values.shape
        self.full_shape = tuple(int(d) for d in full_shape)
        self.truncated_rows = nr < self.full_shape[0] if truncated_rows is None else truncated_rows
        self.truncated_cols = nc < self.full_shape[1] if truncated_cols is None else truncated_cols
        fs = self.font_size = font_size or THEME.small_size
        sc = scale if scale is not None else scale_of(self.values)
        if digits is None:  # small numbers get more decimals instead of a column of 0.00
            digits = digits_for(scale_of(self.values))
        cells = [[_cell(x, digits, fs, sc) for x in row] for row in self.values]
        cw = max((t.number.width for row in cells for t in row), default=0.3)
        gap = max(h_buff if h_buff is not None else 0.35 * fs / 20, MIN_GAP * fs / 20)
        step_x = cw + gap
        digit_h = num_text("0", fs).height
        step_y = digit_h + (v_buff if v_buff is not None else 0.22 * fs / 20)
        # y of each shown row; a gap row takes GAP_ROW of a row on either side of its ⋮
        gaps = sorted(set(int(g) for g in gap_after))
        ys = [-(r + 2 * (GAP_ROW - 0.5) * sum(g < r for g in gaps)) * step_y for r in range(nr)]

        def dot(s: str, x: float, y: float) -> VMobject:
            return num_text(s, fs, THEME.dim).move_to([x, y, 0])

        # a shade reaches a little past its digits into the gap (never touching its
        # neighbour's); the brackets sit just outside the shades
        bbuff = 0.05
        px = max(0.0, min((gap - SHADE_GAP) / 2, 0.08 * fs / 20))
        py = max(0.0, min((step_y - digit_h - SHADE_GAP) / 2, px))
        for r, row in enumerate(cells):
            for c, t in enumerate(row):
                t.value, t.index = float(self.values[r, c]), (r, c)
                t.shade.stretch_to_fit_width(cw + 2 * px).stretch_to_fit_height(digit_h + 2 * py)
                t.shade.move_to([c * step_x, ys[r], 0])
                t.number.move_to([c * step_x + cw / 2 - t.number.width / 2, ys[r], 0])  # right-aligned
        self.rows = VGroup(*[VGroup(*row) for row in cells])
        self.entries = VGroup(*[t for row in cells for t in row])
        self.ellipses = VGroup()
        if self.truncated_cols:
            self.ellipses.add(*[dot("⋯", nc * step_x, y) for y in ys])
        for g in gaps:
            self.ellipses.add(*[dot("⋮", c * step_x, ys[g] - GAP_ROW * step_y) for c in range(nc)])
        if self.truncated_rows:
            y = (ys[-1] if ys else step_y) - step_y
            self.ellipses.add(*[dot("⋮", c * step_x, y) for c in range(nc)])
            if self.truncated_cols:
                self.ellipses.add(dot("⋱", nc * step_x, y))
        # no empty group in the family: a Transform would fill it with points at ORIGIN
        self.body = VGroup(self.entries, *([self.ellipses] if self.ellipses else []))
        self.brackets = brackets(self.body, buff=bbuff, color=color)
        self.add(self.body, self.brackets)
        small = max(MIN_SIZE, fs * 0.85)
        self.row_labels = VGroup()
        for r, s in enumerate(list(row_labels or [])[:nr]):
            lab = s if isinstance(s, VMobject) else num_text(s, small, THEME.dim)
            self.row_labels.add(lab.next_to(self.brackets[0], LEFT, buff=0.15).set_y(ys[r]))
        self.col_labels = VGroup()
        for c, s in enumerate(list(col_labels or [])[:nc]):
            lab = num_text(s, small, THEME.dim)
            self.col_labels.add(lab.next_to(self.brackets, UP, buff=0.12).set_x(c * step_x))
        self.add(*[g for g in (self.row_labels, self.col_labels) if g])
        self.brace, self.shape_text = (self.annotate(DOWN, shape_str(*self.full_shape))
                                       if show_shape else (None, None))
        self.label = None
        if label:
            self.label = label_text(label, label_size or fs * 1.3, color or THEME.text)
            lift = 0.35 * fs / 20 if col_labels and label_dir is UP else 0
            self.add(self.label.next_to(self.brackets, label_dir, buff=0.15 + lift))
        self.move_to(ORIGIN)

    def annotate(self, side, text: str, *, brace: bool = True,
                 size: float | None = None) -> tuple[Brace | None, VMobject]:
        """A note on ``side`` of the brackets (a real size, a shape), beyond a brace unless
        ``brace=False``; both are added. Returns (brace or None, text); ``.text`` is ``text``."""
        t = num_text(text, size or self.font_size, THEME.dim)
        t.text = text
        b = Brace(self.brackets, side, buff=0.08, color=THEME.dim) if brace else None
        t.next_to(b if brace else self.brackets, side, buff=0.08)
        self.add(*([b] if brace else []), t)
        return b, t

    def entry(self, r: int, c: int = 0) -> Cell:
        """The shown entry (r, c); it carries ``.value`` (the real number)."""
        return self.rows[r][c]

    def min_gap(self) -> float:
        """The smallest horizontal space between the digits of two neighbouring entries of
        a row (frame units; inf with one column)."""
        gaps = [b.number.get_left()[0] - a.number.get_right()[0]
                for row in self.rows for a, b in zip(row, row[1:])]
        return float(min(gaps, default=float("inf")))

    def row(self, r: int) -> VGroup:
        return self.rows[r]

    def col(self, c: int) -> VGroup:
        return VGroup(*[row[c] for row in self.rows])

    def highlight_row(self, r: int, color=None) -> SurroundingRectangle:
        return SurroundingRectangle(self.row(r), color=color or THEME.highlight, buff=0.06)

    def highlight_col(self, c: int, color=None) -> SurroundingRectangle:
        return SurroundingRectangle(self.col(c), color=color or THEME.highlight, buff=0.06)


# ====================================================================== a column vector
class VectorColumn(WeightMatrix):
    """A real column vector (an embedding, a query …): the grid with one column, ⋮ when the
    vector goes on, an optional label and its length (``show_len``) opposite the label.
    ``values`` is the shown vector, ``[n]``.

    >>> import numpy as np
    >>> v = VectorColumn(np.array([0.5, -1.25, 0.0]), 576, label="E(fluffy)")
    >>> v.values.tolist(), v.truncated_rows, v.entry(1).value
    ([0.5, -1.25, 0.0], True, -1.25)
    """

    def __init__(self, values: np.ndarray, full_len: int, *, label: str | None = None,
                 font_size: float | None = None, show_len: bool = False, label_dir=UP,
                 **kwargs):
        fs = font_size or THEME.small_size
        super().__init__(np.asarray(values, dtype=np.float64).reshape(-1, 1), (int(full_len), 1),
                         truncated_cols=False, label=label, label_size=fs * 1.1,
                         label_dir=label_dir, font_size=fs, show_shape=False, **kwargs)
        self.values = self.values[:, 0]          # a vector's values: [n]
        self.len_text = None
        if show_len:
            _, self.len_text = self.annotate(DOWN if label_dir is not DOWN else UP,
                                             shape_str(full_len), brace=False,
                                             size=max(MIN_SIZE, fs * 0.8))
            self.move_to(ORIGIN)


# ====================================================================== W_E drawn as rows
def column_plan(ids: Sequence[int], vocab: int, edge: int = 1) -> list[int | None]:
    """Which vocabulary entries (rows of W_E) to draw: the first ``edge`` ids, the given
    ids (sorted, each once), the last ``edge``; ``None`` marks a gap (rows not drawn).

    >>> column_plan([5, 3, 5, 4], 100)
    [0, None, 3, 4, 5, None, 99]
    """
    want = sorted(set(range(edge)) | {int(i) for i in ids} | set(range(vocab - edge, vocab)))
    out: list[int | None] = []
    for i in want:
        if out and out[-1] is not None and i != out[-1] + 1:
            out.append(None)
        out.append(i)
    return out


class EmbeddingMatrix(WeightMatrix):
    """W_E drawn tokens-as-rows, as stored and used (``embed = W_E[ids]``, ``[vocab, d_model]``,
    see :mod:`tensors.weights`): the grid with one row per token of ``plan`` (its piece and id
    as the row label), the first ``n_dims`` of its d_model numbers, ⋯ at the end of each
    row, a ⋮ row where ``plan`` has a gap, and braces with the real sizes below and right.

    >>> vals = {i: np.full(64, i / 100) for i in (0, 5, 99)}
    >>> m = EmbeddingMatrix(column_plan([5], 100), vals, {0: "a", 5: " b", 99: "c"}, (100, 64), 2)
    >>> m.ids, m.row_of(99), m.entry(m.row_of(5), 1).value, m.rows_text.text
    ([0, 5, 99], 2, 0.05, '100 rows:\\none per token')
    """

    def __init__(self, plan: Sequence[int | None], values: dict[int, np.ndarray],
                 labels: dict[int, str], full_shape: tuple[int, int], n_dims: int,
                 font_size: float = 18, digits: int | None = None):
        fs = max(MIN_SIZE, font_size)
        self.plan = list(plan)
        self.ids = [i for i in self.plan if i is not None]
        gaps = [k - 1 - self.plan[:k].count(None) for k, i in enumerate(self.plan) if i is None]
        heads = []
        for i in self.ids:
            idt = num_text(f"{i:,}", fs, THEME.highlight)
            idt.value = i
            heads.append(VGroup(num_text(displayable(token_label(labels[i])), fs, THEME.text), idt)
                         .arrange(RIGHT, buff=0.18))
        super().__init__(np.stack([np.asarray(values[i][:n_dims], np.float64) for i in self.ids]),
                         full_shape, row_labels=heads, gap_after=gaps, truncated_rows=False,
                         truncated_cols=True, font_size=fs, digits=digits, h_buff=0.25,
                         v_buff=0.22 * fs / 20 + 0.1, show_shape=False)
        vocab, d_model = self.full_shape
        self.brace_cols, self.cols_text = self.annotate(DOWN, f"{d_model:,} numbers per token")
        self.brace_rows, self.rows_text = self.annotate(RIGHT, f"{vocab:,} rows:\none per token")
        self.shape_text = num_text(shape_str(vocab, d_model), fs, THEME.dim)
        self.shape_text.text = shape_str(vocab, d_model)
        self.add(self.shape_text.next_to(self.cols_text, DOWN, buff=0.1))

    def row_of(self, token_id: int) -> int:
        """The shown row of token ``token_id`` (for :meth:`row` and ``row_labels``)."""
        return self.ids.index(token_id)
