"""Matrices and vectors of real numbers: one layout rule for all of them.

- :class:`WeightMatrix` — a shown block of a weight matrix (rows × columns), the real shape
  under a brace.
- :class:`VectorColumn` — a column vector (embedding, query, key, value …).
- :class:`EmbeddingMatrix` — W_E drawn as stored, one row per token, with the rows chosen
  by :func:`column_plan`.

Entries are right-aligned, coloured by sign and magnitude (:func:`scenes.kit.theme.value_color`)
and printed by :func:`scenes.kit.text.number_str`; ``.value`` on every entry is the real number.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from manim import DOWN, LEFT, ORIGIN, RIGHT, UP, Brace, SurroundingRectangle, Text, VGroup, VMobject

from ..text import displayable, label_text, num_text, number_str, shape_str, visible_token
from ..theme import MIN_SIZE, THEME, digits_for, fmt, value_color

#: Font size of the numbers in the attention scene's row matrices (X, X̂, Q, K, V).
MAT_SIZE = 18.0

__all__ = ["MAT_SIZE", "WeightMatrix", "VectorColumn", "EmbeddingMatrix", "column_plan", "brackets",
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
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(np.abs(v).max()) if v.size and np.abs(v).max() > 0 else 1.0


# ====================================================================== matrices and vectors
class WeightMatrix(VGroup):
    """The shown block of a real weight matrix, each entry coloured by sign and magnitude
    (blue +, red −, brighter = larger), an ellipsis row/column where the matrix goes on,
    and a brace with the real full shape.

    >>> import numpy as np
    >>> m = WeightMatrix(np.array([[0.1, -0.5], [0.3, 0.0]]), (576, 64),
    ...                  truncated_rows=True, truncated_cols=True, label="W_Q")
    >>> m.shape_text.text.replace(" ", "")
    '576×64'
    >>> m.entry(0, 1).value
    -0.5

    Accessors: :meth:`entry`, :meth:`row`, :meth:`col` (VGroups of the entries) and
    :meth:`highlight_row` / :meth:`highlight_col` (a rectangle to Create).
    """

    def __init__(self, values: np.ndarray, full_shape: tuple[int, int], *,
                 row_labels: Sequence[str] | None = None, col_labels: Sequence[str] | None = None,
                 truncated_rows: bool | None = None, truncated_cols: bool | None = None,
                 label: str | None = None, font_size: float | None = None,
                 digits: int | None = None, scale: float | None = None,
                 h_buff: float | None = None, v_buff: float | None = None,
                 show_shape: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.values = np.asarray(values, dtype=np.float64)
        if self.values.ndim != 2:
            raise ValueError("WeightMatrix needs a 2-D block")
        nr, nc = self.values.shape
        self.full_shape = tuple(int(d) for d in full_shape)
        self.truncated_rows = nr < self.full_shape[0] if truncated_rows is None else truncated_rows
        self.truncated_cols = nc < self.full_shape[1] if truncated_cols is None else truncated_cols
        fs = font_size or THEME.small_size
        self.font_size = fs
        sc = scale if scale is not None else scale_of(self.values)
        cells = [[num_text(number_str(x, digits), fs, value_color(x, sc)) for x in row]
                 for row in self.values]
        for r, row in enumerate(cells):
            for c, t in enumerate(row):
                t.value, t.index = float(self.values[r, c]), (r, c)
        cw = max((t.width for row in cells for t in row), default=0.3)
        ch = num_text("0", fs).height
        hb = h_buff if h_buff is not None else 0.35 * fs / 20
        vb = v_buff if v_buff is not None else 0.22 * fs / 20
        step_x, step_y = cw + hb, ch + vb
        self._step = (step_x, step_y)
        for r, row in enumerate(cells):
            for c, t in enumerate(row):
                # right-aligned numbers in each column
                t.move_to([c * step_x + cw / 2 - t.width / 2, -r * step_y, 0])
        self.rows = VGroup(*[VGroup(*row) for row in cells])
        self.entries = VGroup(*[t for row in cells for t in row])
        dots = VGroup()
        if self.truncated_cols:
            for r in range(nr):
                dots.add(num_text("⋯", fs, THEME.dim).move_to([nc * step_x, -r * step_y, 0]))
        if self.truncated_rows:
            for c in range(nc):
                dots.add(num_text("⋮", fs, THEME.dim).move_to([c * step_x, -nr * step_y, 0]))
            if self.truncated_cols:
                dots.add(num_text("⋱", fs, THEME.dim).move_to([nc * step_x, -nr * step_y, 0]))
        self.ellipses = dots
        body = VGroup(self.entries, dots)
        self.body = body
        self.brackets = brackets(body, buff=0.12 * fs / 20 + 0.06)
        self.add(body, self.brackets)
        self.row_labels = VGroup()
        if row_labels is not None:
            for r, s in enumerate(row_labels[:nr]):
                self.row_labels.add(num_text(s, max(MIN_SIZE, fs * 0.85), THEME.dim).next_to(
                    self.brackets[0], LEFT, buff=0.15).set_y(-r * step_y))
            self.add(self.row_labels)
        self.col_labels = VGroup()
        if col_labels is not None:
            for c, s in enumerate(col_labels[:nc]):
                self.col_labels.add(num_text(s, max(MIN_SIZE, fs * 0.85), THEME.dim).next_to(
                    self.brackets, UP, buff=0.12).set_x(c * step_x))
            self.add(self.col_labels)
        self.brace = None
        self.shape_text = None
        if show_shape:
            self.brace = Brace(self.brackets, DOWN, buff=0.08, color=THEME.dim)
            self.shape_text = num_text(shape_str(*self.full_shape), fs, THEME.dim)
            self.shape_text.text = shape_str(*self.full_shape)
            self.shape_text.next_to(self.brace, DOWN, buff=0.08)
            self.add(self.brace, self.shape_text)
        self.label = None
        if label:
            self.label = label_text(label, fs * 1.3)
            self.label.next_to(self.brackets, UP, buff=0.15 + (0.35 * fs / 20 if col_labels else 0))
            self.add(self.label)
        self.move_to(ORIGIN)

    def entry(self, r: int, c: int) -> Text:
        """The Text of shown entry (r, c); it carries ``.value`` (the real number)."""
        return self.rows[r][c]

    def row(self, r: int) -> VGroup:
        return self.rows[r]

    def col(self, c: int) -> VGroup:
        return VGroup(*[row[c] for row in self.rows])

    def highlight_row(self, r: int, color=None) -> SurroundingRectangle:
        return SurroundingRectangle(self.row(r), color=color or THEME.highlight, buff=0.06)

    def highlight_col(self, c: int, color=None) -> SurroundingRectangle:
        return SurroundingRectangle(self.col(c), color=color or THEME.highlight, buff=0.06)


class VectorColumn(VGroup):
    """A real column vector (an embedding, a query …): its first entries coloured by sign
    and magnitude, ⋮ when the vector goes on, optional label and length brace.

    >>> import numpy as np
    >>> v = VectorColumn(np.array([0.5, -1.25, 0.0]), 576, label="E(fluffy)")
    >>> v.values.tolist(), v.truncated
    ([0.5, -1.25, 0.0], True)
    """

    def __init__(self, values: np.ndarray, full_len: int, *, label: str | None = None,
                 font_size: float | None = None, digits: int | None = None,
                 scale: float | None = None, color=None, show_len: bool = False,
                 label_dir=UP, v_buff: float | None = None, **kwargs):
        super().__init__(**kwargs)
        self.values = np.asarray(values, dtype=np.float64).reshape(-1)
        self.full_len = int(full_len)
        self.truncated = len(self.values) < self.full_len
        fs = font_size or THEME.small_size
        sc = scale if scale is not None else scale_of(self.values)
        if digits is None:  # small vectors get more decimals instead of a column of 0.00
            digits = digits_for(scale_of(self.values))
        ch = num_text("0", fs).height
        step = ch + (v_buff if v_buff is not None else 0.22 * fs / 20)
        ents = []
        for i, x in enumerate(self.values):
            t = num_text(number_str(x, digits), fs, value_color(x, sc))
            t.value = float(x)
            ents.append(t)
        w = max((t.width for t in ents), default=0.3)
        for i, t in enumerate(ents):
            t.move_to([w / 2 - t.width / 2, -i * step, 0])
        self.entries = VGroup(*ents)
        body = VGroup(self.entries)
        if self.truncated:
            self.dots = num_text("⋮", fs, THEME.dim).move_to([0, -len(ents) * step, 0])
            body.add(self.dots)
        self.body = body
        self.brackets = brackets(body, buff=0.1 * fs / 20 + 0.05,
                                  color=color or THEME.dim)
        self.add(body, self.brackets)
        self.label = None
        if label:
            self.label = label_text(label, fs * 1.1, color or THEME.text)
            self.label.next_to(self.brackets, label_dir, buff=0.12)
            self.add(self.label)
        self.len_text = None
        if show_len:
            self.len_text = num_text(f"{self.full_len:,}", max(MIN_SIZE, fs * 0.8), THEME.dim)
            self.len_text.next_to(self.brackets, DOWN if label_dir is not DOWN else UP, buff=0.08)
            self.add(self.len_text)
        self.move_to(ORIGIN)

    def entry(self, i: int) -> Text:
        return self.entries[i]


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


class EmbeddingMatrix:
    """Builder for W_E drawn tokens-as-rows, as stored and used (``embed = W_E[ids]``,
    ``[vocab, d_model]``, see :mod:`tensors.weights`): one row per drawn token (its piece
    and id on the left), the first ``n_dims`` of its d_model numbers, ⋯ at the end of each
    row, a ⋮ row between non-adjacent ids.

    ``values[i]`` is the real row ``W_E[i]`` (first n_dims); ``.rows[id]`` is the VGroup of
    its numbers, ``.headers[id]`` its piece + id."""

    def __init__(self, plan: Sequence[int | None], values: dict[int, np.ndarray],
                 labels: dict[int, str], full_shape: tuple[int, int], n_dims: int,
                 font_size: float = 18, digits: int | None = None):
        self.plan, self.values = list(plan), values
        fs = max(MIN_SIZE, font_size)
        allv = np.concatenate([values[i][:n_dims] for i in plan if i is not None])
        scale = float(np.abs(allv).max()) or 1.0
        ch = num_text("0", fs).height
        step_y = ch + 0.22 * fs / 20 + 0.1
        cells = {i: [num_text(fmt(float(values[i][c]), digits, sign=False), fs,
                              value_color(float(values[i][c]), scale)) for c in range(n_dims)]
                 for i in plan if i is not None}
        cw = max(t.width for row in cells.values() for t in row)
        step_x = cw + 0.25
        self.rows: dict[int, Any] = {}
        self.headers: dict[int, Any] = {}
        body, heads, dots = VGroup(), VGroup(), VGroup()
        y = step_y
        for r, i in enumerate(plan):
            y -= step_y if i is not None and (r == 0 or plan[r - 1] is not None) else 0.62 * step_y
            if i is None:
                body.add(VGroup(*[num_text("⋮", fs, THEME.dim).move_to([c * step_x + cw / 2, y, 0])
                                  for c in range(n_dims)]))
                continue
            for c, t in enumerate(cells[i]):
                t.value = float(values[i][c])
                t.move_to([c * step_x + cw - t.width / 2, y, 0])      # right-aligned
            row = VGroup(*cells[i])
            marker, piece = visible_token(labels[i])
            lab = num_text(displayable(marker + piece), fs, THEME.text)
            idt = num_text(f"{i:,}", fs, THEME.highlight)
            idt.value = i
            head = VGroup(lab, idt).arrange(RIGHT, buff=0.18)
            head.move_to([-0.35 - head.width / 2, y, 0])
            self.rows[i], self.headers[i] = row, head
            body.add(row)
            heads.add(head)
            dots.add(num_text("⋯", fs, THEME.dim).move_to([n_dims * step_x + 0.1, y, 0]))
        self.body = VGroup(body, dots)
        self.brackets = brackets(self.body, buff=0.12, color=THEME.dim)
        vocab, d_model = full_shape
        self.brace_cols = Brace(self.brackets, DOWN, buff=0.08, color=THEME.dim)
        self.cols_text = num_text(f"{d_model:,} numbers per token", fs, THEME.dim)
        self.cols_text.next_to(self.brace_cols, DOWN, buff=0.06)
        self.brace_rows = Brace(self.brackets, RIGHT, buff=0.08, color=THEME.dim)
        self.rows_text = num_text(f"{vocab:,} rows:\none per token", fs, THEME.dim)
        self.rows_text.next_to(self.brace_rows, RIGHT, buff=0.08)
        self.shape_text = num_text(shape_str(vocab, d_model), fs, THEME.dim)
        self.shape_text.text = shape_str(vocab, d_model)
        self.shape_text.next_to(self.cols_text, DOWN, buff=0.1)
        self.headers_group = heads
        self.group = VGroup(heads, self.body, self.brackets, self.brace_cols, self.cols_text,
                            self.brace_rows, self.rows_text, self.shape_text)
        self.n_dims = n_dims
