"""Small pieces used only by the output-side scenes (softmax with temperature, unembedding,
generation). Everything shown is computed from the Trace (or :mod:`tensors.generate`).

>>> token_label(" Paris"), token_label("\\n\\n"), token_label("<|im_end|>")
('␣Paris', '↵↵', '<|im_end|>')
>>> temperature_path((0.1, 1.0, 5.0), between=1)
[1.0, 0.316, 0.1, 0.316, 1.0, 2.24, 5.0]
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from manim import (DOWN, Arrow, FadeIn, MathTex, RoundedRectangle, Transform, VGroup)

from scenes.theme import THEME, fmt
from scenes.vocab import ProbabilityBars, flat_text, num_text, visible_token
from tensors import UserError
from tensors.generate import check_temperature


class Bars(ProbabilityBars):
    """:class:`scenes.vocab.ProbabilityBars` without its label column (the scene draws the
    token labels once, in a table with other columns); ``.labels`` still names the tokens."""

    def __init__(self, labels: Sequence[str], probs: Sequence[float], **kw: Any):
        super().__init__(labels, probs, **kw)
        self.remove(self.label_texts)

    def with_probs(self, probs: Sequence[float]) -> "Bars":
        new = Bars(self.labels, probs, **self._kw)
        new.shift(self.bars[0].get_left() - new.bars[0].get_left())
        return new

    def retarget(self, probs: Sequence[float]) -> tuple[list, Any]:
        """Animations moving the bars to ``probs`` (rectangles morph; percentages
        cross-fade, which is far cheaper than morphing text outlines), and a function to
        call with the scene after playing them. ``self`` then shows ``probs``."""
        new = self.with_probs(probs)
        anims: list = [Transform(a, b) for a, b in zip(self.bars, new.bars)]
        old_pct = list(self.pct_texts)
        anims += [t.animate.set_opacity(0).build() for t in old_pct]
        anims += [FadeIn(t) for t in new.pct_texts]

        def finish(scene: Any) -> None:
            scene.remove(*new.pct_texts)
            self.pct_texts.remove(*old_pct)
            self.pct_texts.add(*new.pct_texts)
            for a, b in zip(self.bars, new.bars):
                a.value = b.value
            self.values = new.values

        return anims, finish


class FastText:
    """Mixin for a GPTScene: ``self.text`` (titles, captions, labels) as one flat path laid
    out by Pango (:func:`scenes.vocab.flat_text`) — the same glyphs as manim's Text, built
    ~10× faster and copied ~100× faster (captions are rebuilt often)."""

    def text(self, s: str, size: float | None = None, color: str | None = None, **kw: Any):
        if kw:
            return super().text(s, size, color, **kw)
        return flat_text(s, size or THEME.text_size, color or THEME.text)


def token_label(s: str) -> str:
    """A token as one string with its leading space visible (``' Paris'`` → ``'␣Paris'``)."""
    marker, body = visible_token(s)
    return marker + body


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


def t_label(T: float) -> str:
    return f"T = {T:.3g}"


def formula_softmax_T() -> MathTex:
    """p_i = e^{z_i / T} / Σ_j e^{z_j / T}."""
    return MathTex(r"p_i \;=\; \frac{e^{\,z_i / T}}{\sum_j e^{\,z_j / T}}", color=THEME.text,
                   font_size=40)


def norm_formula(norm: str) -> MathTex:
    """The final norm as the model computes it (read from ``info["norm"]``)."""
    if norm == "RMSNorm":
        tex = r"\hat x \;=\; \frac{x}{\sqrt{\tfrac{1}{d}\sum_i x_i^2 + \epsilon}} \odot g"
    elif norm == "LayerNorm":
        tex = r"\hat x \;=\; \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} \odot g \;+\; b"
    else:
        raise UserError(f"unknown final norm {norm!r}")
    return MathTex(tex, color=THEME.text, font_size=34)


def norm_stats(x: np.ndarray, norm: str) -> dict[str, float]:
    """The real statistics the final norm divides by (ε not included): rms, or mean and std."""
    x = np.asarray(x, dtype=np.float64)
    if norm == "RMSNorm":
        return {"rms": float(np.sqrt(np.mean(x ** 2)))}
    return {"mean": float(x.mean()), "std": float(x.std())}


def box(label: str, width: float, height: float = 0.62, color=None, size: float | None = None,
        sub: str | None = None) -> VGroup:
    """A rounded box with a label (and an optional dim second line): one stage of a pipeline."""
    color = color or THEME.dim
    rect = RoundedRectangle(width=width, height=height, corner_radius=0.1, stroke_color=color,
                            stroke_width=2, fill_color=color, fill_opacity=0.12)
    t = flat_text(label, size or THEME.small_size, THEME.text)
    if sub:
        s = flat_text(sub, (size or THEME.small_size) * 0.75, THEME.dim)
        t = VGroup(t, s).arrange(DOWN, buff=0.05)
    if t.width > width - 0.2:
        t.scale_to_fit_width(width - 0.2)
    t.move_to(rect)
    g = VGroup(rect, t)
    g.rect, g.label, g.label_str, g.sub_str = rect, t, label, sub
    return g


def down_arrow(a: Any, b: Any, color=None) -> Arrow:
    return Arrow(a.get_bottom(), b.get_top(), buff=0.04, stroke_width=2.5,
                 max_tip_length_to_length_ratio=0.35, tip_length=0.14,
                 color=color or THEME.dim)


def value_list(values: Sequence[float], digits: int | None = None) -> str:
    return "  ".join(fmt(v, digits) for v in values)


def mass_text(p: float) -> str:
    """A probability mass in %, never rounded to a misleading 100% or 0%."""
    q = 100 * p
    if q >= 99.995 and p < 1:
        return ">99.99%"
    if q >= 10:
        return f"{q:.1f}%"
    if q >= 0.01:
        return f"{q:.2f}%"
    return "<0.01%" if p > 0 else "0%"


def same_numbers_note(a: np.ndarray, b: np.ndarray) -> bool:
    """True when two blocks hold the very same numbers (bit for bit)."""
    return a.shape == b.shape and bool(np.array_equal(a, b))


__all__ = ["Bars", "FastText", "token_label", "check_temperatures", "temperature_path", "t_label",
           "formula_softmax_T", "norm_formula", "norm_stats", "box", "down_arrow",
           "value_list", "mass_text", "same_numbers_note", "num_text", "math"]
