"""Pieces of the MLP scene (:mod:`scenes.mlp`): a pipeline box with a subscripted label, and
the per-layer chart of direct logit pushes (its bars keep their real values on ``.value``)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from manim import DOWN, LEFT, RIGHT, UL, UP, Line, Rectangle, VGroup, config

from ..text import flat_text, num_text
from ..theme import THEME
from .diagrams import box

__all__ = ["markup_box", "layer_chart", "chart_value", "clear_of_bars"]


def markup_box(markup: str, width: float, color: str, size: float = 25) -> VGroup:
    """:func:`scenes.kit.pieces.diagrams.box` (0.7 high) with a Pango-markup label (real subscripts)."""
    b = box("", width, 0.7, color, size)
    b.remove(b.label)
    b.label = flat_text(markup, size, THEME.text, markup=True).move_to(b.rect)
    b.add(b.label)
    return b


def layer_chart(attr: Any, top: float, bottom: float = -2.45, x0: float = -6.0, x1: float = 6.0,
                span: Sequence[Any] = (), num: float = 22, label: float = 25) -> VGroup:
    """Bars per layer of an :class:`scenes.kit.analysis.mlp.Attribution`: the embedding's,
    then each layer's attention (violet) and MLP (green) direct push, signed, between
    ``top`` and ``bottom`` (frame units) from ``x0`` to ``x1``; a legend at the top left,
    layer ticks at the bottom. The vertical scale fits ``attr`` and every attribution in
    ``span`` (so two runs' charts compare). ``.bars`` lists the bars (each with ``.value``)."""
    n = len(attr.mlp)
    vals = np.concatenate([np.r_[a.embed, a.attn, a.mlp, 0.0] for a in (attr, *span)])
    lo, hi = float(vals.min()), float(vals.max())
    unit = (top - bottom - 1.25) / max(hi - lo, 1e-9)   # legend and a value label above
    y0 = bottom + 0.4 + (-lo) * unit
    slot = (x1 - x0) / (n + 1)
    bw = min(0.42 * slot, 0.3)

    def bar(x: float, v: float, color: str) -> Rectangle:
        h = max(abs(v) * unit, 0.004)
        r = Rectangle(width=bw, height=h, stroke_width=0, fill_color=color, fill_opacity=0.9)
        r.move_to([x, y0 + np.sign(v) * h / 2, 0])
        r.value = float(v)
        return r

    xs = [x0 + slot * (i + 1.5) for i in range(n)]
    emb = bar(x0 + slot * 0.5, attr.embed, THEME.dim)
    attn = VGroup(*[bar(x - bw / 2 - 0.01, float(v), THEME.attention) for x, v in zip(xs, attr.attn)])
    mlp = VGroup(*[bar(x + bw / 2 + 0.01, float(v), THEME.mlp) for x, v in zip(xs, attr.mlp)])
    axis = Line([x0 - 0.1, y0, 0], [x1 + 0.1, y0, 0], color=THEME.dim, stroke_width=2)
    ticks = VGroup(num_text("emb", label, THEME.dim).move_to([x0 + slot * 0.5, bottom + 0.1, 0]))
    step = next(s for s in (1, 2, 5, 10, 20, 50) if s * slot >= 0.8)
    for i in range(n):
        if (i % step == 0 and (i or slot >= 0.6)) or i == n - 1:
            ticks.add(num_text(str(i), num, THEME.dim).move_to([xs[i], bottom + 0.1, 0]))
    ticks.add(flat_text("layer", label, THEME.dim).next_to(ticks, RIGHT, buff=0.15))
    leg = VGroup()
    for c, s in ((THEME.attention, "attention output"), (THEME.mlp, "MLP output")):
        leg.add(VGroup(Rectangle(width=0.3, height=0.22, stroke_width=0, fill_color=c,
                                 fill_opacity=0.9), flat_text(s, label, THEME.text)).arrange(RIGHT, buff=0.12))
    leg.arrange(RIGHT, buff=0.5).move_to([x0, top, 0], aligned_edge=UL)
    g = VGroup(axis, emb, attn, mlp, ticks, leg)
    g.axis, g.emb, g.attn, g.mlp, g.ticks, g.leg, g.y0 = axis, emb, attn, mlp, ticks, leg, y0
    g.bars = [emb, *attn, *mlp]
    return g


def chart_value(ch: VGroup, layer: int, text: str, positive: bool, corner: bool = False,
                size: float = 22) -> Any:
    """Layer ``layer``'s MLP bar value ``text`` on a :func:`layer_chart`: above the layer's
    taller bar (or beside a negative one), inside the frame; ``corner``: "MLP L: value" at
    the chart's top right, under the legend (for a narrow chart)."""
    best, att = ch.mlp[layer], ch.attn[layer]
    if corner:
        val = num_text(f"MLP {layer}: {text}", size, THEME.highlight)
        return val.move_to(ch.ticks[-1].get_right() * RIGHT + (ch.leg.get_bottom()[1] - 0.3) * UP,
                           aligned_edge=RIGHT)
    val = num_text(text, size, THEME.highlight)
    if positive:
        val.next_to([best.get_x(), max(best.get_top()[1], att.get_top()[1]), 0], UP, 0.16)
    else:  # beside the bar's end (above the axis there may be the attention bar)
        val.next_to(best, RIGHT, 0.08).align_to(best, DOWN)
    right = config.frame_width / 2 - 0.15
    return val.shift(min(0.0, right - val.get_right()[0]) * RIGHT)


def clear_of_bars(label: Any, ch: VGroup, step: float = 0.05, tries: int = 60) -> Any:
    """Move ``label`` away from the axis of a :func:`layer_chart` ``ch`` until it covers
    none of its bars (a value label placed beside one bar may touch a neighbour's)."""
    away = UP if label.get_y() >= ch.y0 else DOWN

    def hits() -> bool:
        l0, l1 = label.get_corner(DOWN + LEFT), label.get_corner(UP + RIGHT)
        for b in ch.bars:
            b0, b1 = b.get_corner(DOWN + LEFT), b.get_corner(UP + RIGHT)
            if l0[0] < b1[0] and b0[0] < l1[0] and l0[1] < b1[1] and b0[1] < l1[1]:
                return True
        return False

    for _ in range(tries):
        if not hits():
            break
        label.shift(step * away)
    return label
