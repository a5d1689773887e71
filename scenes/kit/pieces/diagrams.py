"""Diagram pieces: pipeline boxes and arrows, and the formulas the output scenes write."""
from __future__ import annotations

from typing import Any

from manim import DOWN, Arrow, MathTex, RoundedRectangle, VGroup

from ..text import flat_text, markup
from ..theme import THEME
from tensors import UserError

__all__ = ["box", "down_arrow", "formula_softmax_T", "norm_formula", "t_label"]


def t_label(T: float) -> str:
    """A temperature as shown: ``t_label(0.1) == 'T = 0.1'``."""
    return f"T = {T:.3g}"


def formula_softmax_T() -> MathTex:
    """p_i = e^{ℓ_i / T} / Σ_j e^{ℓ_j / T} (ℓ: the logits, scenes.kit.glossary)."""
    return MathTex(r"p_i \;=\; \frac{e^{\,\ell_i / T}}{\sum_j e^{\,\ell_j / T}}", color=THEME.text,
                   font_size=40)


def norm_formula(norm: str) -> MathTex:
    """The final norm as the model computes it (read from ``info["norm"]``)."""
    if norm == "RMSNorm":
        tex = (r"\hat x \;=\; x \div \mathrm{rms}(x) \odot g,\quad "
               r"\mathrm{rms}(x) = \sqrt{\mathrm{mean}(x^2) + \epsilon}")
    elif norm == "LayerNorm":
        tex = (r"\hat x \;=\; (x - \mu) \div \sigma \odot g + b,\quad "
               r"\sigma = \sqrt{\mathrm{var}(x) + \epsilon}")
    else:
        raise UserError(f"unknown final norm {norm!r}")
    return MathTex(tex, color=THEME.text, font_size=34)


def box(label: str, width: float, height: float = 0.62, color=None, size: float | None = None,
        sub: str | None = None) -> VGroup:
    """A rounded box with a label (and an optional dim second line): one stage of a pipeline.
    The box widens to its text (text is never shrunk to fit)."""
    color = color or THEME.dim
    rect = RoundedRectangle(width=width, height=height, corner_radius=0.1, stroke_color=color,
                            stroke_width=2, fill_color=color, fill_opacity=0.12)
    t = flat_text(markup(label), size or THEME.small_size, THEME.text, markup=True)
    if sub:
        s = flat_text(markup(sub), (size or THEME.small_size) * 0.85, THEME.dim, markup=True)
        t = VGroup(t, s).arrange(DOWN, buff=0.05)
    if t.width > width - 0.2:
        rect.stretch_to_fit_width(t.width + 0.2)
    if t.height > height - 0.08:
        rect.stretch_to_fit_height(t.height + 0.12)
    t.move_to(rect)
    g = VGroup(rect, t)
    g.rect, g.label, g.label_str, g.sub_str = rect, t, label, sub
    return g


def down_arrow(a: Any, b: Any, color=None) -> Arrow:
    """An arrow from the bottom of ``a`` to the top of ``b``."""
    return Arrow(a.get_bottom(), b.get_top(), buff=0.04, stroke_width=2.5,
                 max_tip_length_to_length_ratio=0.35, tip_length=0.14,
                 color=color or THEME.dim)
