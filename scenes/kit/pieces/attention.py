"""Attention on screen: the queries × keys grid (numbers, cells or one image) and arcs.

- :class:`AttentionGrid` — scores (−∞ where masked) or the softmax pattern;
- :class:`AttentionArcs` — arcs from attended tokens to the attending one, width by weight;
- :func:`heatmap_image` — any 2-D array as a crisp image (hundreds of cells and more).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UP, ArcBetweenPoints, Group, ImageMobject, ManimColor,
                   Rectangle, Square, VGroup, interpolate_color)
from manim.constants import RESAMPLING_ALGORITHMS

from ..text import num_text, number_str
from ..theme import MIN_SIZE, THEME, muted_on, pct, readable_cell, value_color, value_rgb, weight_rgb
from .matrix import scale_of
from .tokens import TokenBoxes, token_text

__all__ = ["AttentionGrid", "AttentionArcs", "heatmap_image", "IMAGE_CELLS"]

#: Grids with more cells than this are drawn as one image rather than one mobject per cell.
IMAGE_CELLS = 400


def heatmap_image(values: np.ndarray, *, mode: str = "signed", scale: float | None = None,
                  color=None, height: float | None = None, width: float | None = None,
                  ) -> ImageMobject:
    """A 2-D array as a crisp image (one pixel per cell, nearest-neighbour resampling).

    ``mode="signed"``: blue/red by sign, brighter = larger (−∞ in the masked colour);
    ``mode="weight"``: values in [0, 1] as the brightness of ``color`` (attention patterns).

    >>> import numpy as np
    >>> img = heatmap_image(np.eye(3), mode="weight", height=1.0)
    >>> round(float(img.height), 3)
    1.0
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[None, :]
    rgb = value_rgb(v, scale) if mode == "signed" else weight_rgb(v, color)
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=-1)
    img = ImageMobject(rgba)
    img.set_resampling_algorithm(RESAMPLING_ALGORITHMS["nearest"])
    img.values = v
    if height is not None and width is not None:
        img.stretch_to_fit_height(height)
        img.stretch_to_fit_width(width)
    elif height is not None:
        img.height = height
    elif width is not None:
        img.width = width
    return img


class AttentionGrid(Group):
    """A real attention matrix: one row per query position (the token attending), one column
    per key position (the token attended to).

    ``mode="scores"``: signed colours and numbers; masked cells (−∞) in the masked colour
    with "−∞". ``mode="pattern"``: each cell a square whose *area* and brightness are the
    softmax weight, numbers as percentages-free decimals. Grids with more than
    :data:`IMAGE_CELLS` cells (or ``as_image=True``) are one nearest-neighbour image.

    >>> import numpy as np
    >>> g = AttentionGrid(np.array([[1.0, 0.0], [0.3, 0.7]]), ["a", " b"], ["a", " b"])
    >>> g.as_image, g.values.shape
    (False, (2, 2))
    """

    def __init__(self, matrix: np.ndarray, query_labels: Sequence[str],
                 key_labels: Sequence[str], *, mode: str = "pattern",
                 cell_size: float | None = None, max_side: float = 5.0,
                 show_numbers: bool | None = None, as_image: bool | None = None,
                 font_size: float | None = None, digits: int | None = None,
                 color=None, scale: float | None = None, show_labels: bool = True,
                 show_positions: bool = False, position_offset: int = 0,
                 label_size: float | None = None, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("pattern", "scores"):
            raise ValueError("mode is 'pattern' or 'scores'")
        self.values = np.asarray(matrix, dtype=np.float64)
        nq, nk = self.values.shape
        self.mode = mode
        self.n_q, self.n_k = nq, nk
        self.as_image = (nq * nk > IMAGE_CELLS) if as_image is None else as_image
        cs = cell_size or min(0.6, max_side / max(nq, nk))
        self.cell_size = cs
        color = color or THEME.highlight
        fs = max(MIN_SIZE, font_size or THEME.small_size * 0.85)
        if show_numbers is None:
            show_numbers = not self.as_image
        d0 = digits if digits is not None else (2 if mode == "pattern" else 1)
        # numbers never shrink below MIN_SIZE: fewer decimals if needed, else none
        self.digits = None
        if show_numbers and not self.as_image:
            fin = self.values[np.isfinite(self.values)]
            widest = float(np.abs(fin).max()) if fin.size else 0.0
            for d in range(d0, -1, -1):
                probe = num_text(number_str(-widest if (fin < 0).any() else widest, d), fs)
                if probe.width <= cs * 0.94:
                    self.digits = d
                    break
        show_numbers = bool(show_numbers) and self.digits is not None
        self.show_numbers = show_numbers
        sc = scale if scale is not None else scale_of(self.values)
        self.cells, self.numbers = VGroup(), VGroup()
        self.image = None
        origin = np.array([cs / 2, -cs / 2, 0])

        def center(q, k):
            return origin + np.array([k * cs, -q * cs, 0])

        self._center = center
        if self.as_image:
            self.image = heatmap_image(self.values, mode="signed" if mode == "scores" else "weight",
                                       scale=sc, color=color, height=nq * cs, width=nk * cs)
            self.image.move_to([nk * cs / 2, -nq * cs / 2, 0])
            self.add(self.image)
        else:
            for q in range(nq):
                for k in range(nk):
                    x = self.values[q, k]
                    bg = Square(cs, stroke_width=1, stroke_color=THEME.background,
                                fill_color=THEME.neutral, fill_opacity=1).move_to(center(q, k))
                    ink = THEME.text
                    if mode == "scores" and show_numbers and np.isfinite(x):
                        # the heat-map tone, moved off the mid-tones no digit reads on
                        t = min(abs(float(x)) / sc, 1.0) if sc > 0 else 0.0
                        fill, ink = readable_cell(THEME.neutral, THEME.positive if x >= 0
                                                  else THEME.negative, 0.25 + 0.75 * t)
                        bg.set_fill(fill, 1)
                        cell = bg
                    elif mode == "scores":
                        bg.set_fill(value_color(x, sc) if np.isfinite(x) else THEME.masked, 1)
                        cell = bg
                    elif show_numbers:  # brightness by weight, the number on top
                        w = float(np.clip(x, 0, 1)) if np.isfinite(x) else 0.0
                        fill, ink = readable_cell(THEME.neutral, color, 0.9 * math.sqrt(w))
                        bg.set_fill(fill, 1)
                        cell = bg
                    else:  # area and brightness by weight
                        w = float(np.clip(x, 0, 1)) if np.isfinite(x) else 0.0
                        inner = Square(max(cs * math.sqrt(w) * 0.92, 1e-3), stroke_width=0,
                                       fill_color=color, fill_opacity=0.35 + 0.65 * math.sqrt(w))
                        inner.move_to(center(q, k))
                        cell = VGroup(bg, inner)
                    cell.value = float(x)
                    self.cells.add(cell)
                    if show_numbers:
                        if not np.isfinite(x):
                            s, tcol = "−∞", muted_on(bg.get_fill_color())
                        elif mode == "pattern" and x == 0.0:
                            s, tcol = "0", muted_on(bg.get_fill_color())   # a −∞ score after softmax
                        else:
                            s, tcol = number_str(x, self.digits), ink
                        t = num_text(s, fs, tcol)
                        t.move_to(center(q, k))
                        t.value = float(x)
                        self.numbers.add(t)
            self.add(self.cells, self.numbers)
        self.frame = Rectangle(width=nk * cs, height=nq * cs, stroke_color=THEME.dim,
                               stroke_width=1).move_to([nk * cs / 2, -nq * cs / 2, 0])
        self.add(self.frame)
        self.query_labels, self.key_labels = VGroup(), VGroup()
        self.query_positions, self.key_positions = VGroup(), VGroup()
        if show_labels:
            lfs = max(MIN_SIZE, label_size or min(THEME.small_size, 38 * cs))
            pfs = MIN_SIZE
            pbuf = 0.06
            for q, s in enumerate(query_labels):
                if s is None:
                    continue
                y = center(q, 0)[1]
                x_edge = self.frame.get_left()[0] - 0.08
                if show_positions:
                    p = num_text(str(q + position_offset), pfs, THEME.dim)
                    p.move_to([x_edge - p.width / 2, y, 0])
                    self.query_positions.add(p)
                    x_edge -= p.width + pbuf + 0.04
                t = token_text(s, lfs)
                t.move_to([x_edge - t.width / 2, y, 0])
                t.index = q
                self.query_labels.add(t)
            for k, s in enumerate(key_labels):
                if s is None:
                    continue
                x = center(0, k)[0]
                y_edge = self.frame.get_top()[1] + 0.08
                if show_positions:
                    p = num_text(str(k + position_offset), pfs, THEME.dim)
                    p.move_to([x, y_edge + p.height / 2, 0])
                    self.key_positions.add(p)
                    y_edge += p.height + pbuf + 0.04
                t = token_text(s, lfs).rotate(math.pi / 2)
                t.move_to([x, y_edge + t.height / 2, 0])
                t.index = k
                self.key_labels.add(t)
            self.add(self.query_labels, self.key_labels, self.query_positions,
                     self.key_positions)

    def cell_center(self, q: int, k: int) -> np.ndarray:
        """Where cell (q, k) is now (follows moves/scales of the grid)."""
        tl = self.frame.get_corner(UP + LEFT)
        cs = self.frame.width / self.n_k
        return tl + np.array([(k + 0.5) * cs, -(q + 0.5) * self.frame.height / self.n_q, 0])

    def cell(self, q: int, k: int):
        return self.cells[q * self.n_k + k]

    def row_rect(self, q: int, color=None) -> Rectangle:
        """A rectangle around row q (one query), to Create or move."""
        cs_h = self.frame.height / self.n_q
        return Rectangle(width=self.frame.width + 0.04, height=cs_h + 0.04,
                         stroke_color=color or THEME.highlight, stroke_width=3).move_to(
            self.cell_center(q, (self.n_k - 1) / 2))

    def col_rect(self, k: int, color=None) -> Rectangle:
        cs_w = self.frame.width / self.n_k
        return Rectangle(width=cs_w + 0.04, height=self.frame.height + 0.04,
                         stroke_color=color or THEME.highlight, stroke_width=3).move_to(
            self.cell_center((self.n_q - 1) / 2, k))


class AttentionArcs(VGroup):
    """Arcs from every attended token (key) to the attending one (query ``query_index``),
    stroke width and opacity by the real attention weight; weights below ``min_weight`` are
    not drawn (their arcs would be invisible anyway). ``.arcs[k]`` (None if not drawn),
    ``.values`` = the weights given, ``.percent_labels`` for the largest ``n_labels``
    (under the attended tokens).

    >>> tb = TokenBoxes(["a", " fluffy", " creature"])
    >>> arcs = AttentionArcs(tb, [0.1, 0.6, 0.3], 2)
    >>> [a is not None for a in arcs.arcs]
    [True, True, True]
    """

    def __init__(self, token_boxes: TokenBoxes, weights: Sequence[float], query_index: int, *,
                 color=None, max_width: float = 14.0, min_weight: float = 0.01,
                 n_labels: int = 3, font_size: float | None = None, above: bool = True,
                 **kwargs):
        super().__init__(**kwargs)
        self.values = np.asarray(weights, dtype=np.float64)
        self.query_index = query_index
        color = color or THEME.highlight
        fs = max(MIN_SIZE, font_size or THEME.small_size * 0.8)
        self.arcs: list = [None] * len(self.values)
        self.percent_labels = VGroup()
        q_box = token_boxes.boxes[query_index]
        side = UP if above else DOWN
        end = q_box.get_edge_center(side) + 0.03 * side
        order = np.argsort(-self.values)
        labelled = set(int(k) for k in order[:n_labels] if self.values[k] >= min_weight)
        for k, w in enumerate(self.values):
            if w < min_weight or not np.isfinite(w):
                continue
            sw = max(1.0, max_width * float(w))
            if k == query_index:
                start = q_box.get_corner(side + LEFT) * 0.5 + end * 0.5
                arc = ArcBetweenPoints(start + 0.03 * side, end + 0.12 * RIGHT,
                                       angle=-1.6 * math.pi if above else 1.6 * math.pi)
            else:
                start = token_boxes.boxes[k].get_edge_center(side) + 0.03 * side
                d = abs(end[0] - start[0])
                ang = -math.pi * 0.55 if start[0] < end[0] else math.pi * 0.55
                if not above:
                    ang = -ang
                arc = ArcBetweenPoints(start, end, angle=ang if d > 1e-3 else math.pi)
            arc.set_stroke(color, width=sw, opacity=min(1.0, 0.35 + float(w) * 1.2))
            arc.value = float(w)
            self.arcs[k] = arc
            self.add(arc)
            if k in labelled:
                t = num_text(pct(w), fs, color)
                t.value, t.index = float(w), k
                self.percent_labels.add(t)
        # percentages sit under the attended token (under its position number if shown),
        # a second line down where two would touch
        below = -side
        placed: list = []
        for t in sorted(self.percent_labels, key=lambda m: m.index):
            k = t.index
            anchor = token_boxes.boxes[k]
            if len(token_boxes.positions) > k:
                anchor = VGroup(anchor, token_boxes.positions[k])
            t.next_to(anchor, below, buff=0.08)
            if placed and t.get_left()[0] < placed[-1].get_right()[0] + 0.08 and \
                    abs(t.get_y() - placed[-1].get_y()) < t.height:
                t.shift(below * (t.height + 0.08))
            placed.append(t)
        self.add(self.percent_labels)
