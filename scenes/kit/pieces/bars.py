"""Probabilities on screen: one bar per token, its length the real probability."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from manim import RIGHT, FadeIn, Rectangle, Transform, VGroup

from ..text import flat_text, num_text
from ..theme import THEME, pct
from .tokens import token_text

__all__ = ["ProbabilityBars", "Bars"]


class ProbabilityBars(VGroup):
    """Next-token probabilities: one row per label, a bar whose length is the real
    probability, and the percentage. ``.values`` holds the probabilities.

    Labels are token strings by default (``tokens=True``: a leading space drawn as ␣, as the
    model sees it); ``tokens=False`` draws each label as the text given (``"L16 H0"``).

    For a temperature sweep keep the labels and pass new real probabilities:
    ``self.play(bars.animate_to(new_probs))`` or ``bars.with_probs(new_probs)``.

    >>> b = ProbabilityBars([" Paris", " the"], [0.773, 0.065])
    >>> [t.text for t in b.pct_texts]
    ['77.3%', '6.50%']
    >>> [t.text for t in ProbabilityBars(["L16 H0"], [0.92], tokens=False).label_texts]
    ['L16 H0']
    """

    def __init__(self, labels: Sequence[str], probs: Sequence[float], *,
                 max_bar_width: float = 5.0, bar_height: float = 0.32,
                 font_size: float | None = None, color=None, highlight: int | None = None,
                 full_scale: float = 1.0, row_buff: float = 0.12, highlight_color=None,
                 tokens: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.labels = list(labels)
        self.values = np.asarray(probs, dtype=np.float64)
        self._kw = dict(max_bar_width=max_bar_width, bar_height=bar_height,
                        font_size=font_size, color=color, highlight=highlight,
                        full_scale=full_scale, row_buff=row_buff,
                        highlight_color=highlight_color, tokens=tokens)
        fs = font_size or THEME.text_size * 0.8
        color = color or THEME.positive
        self.label_texts, self.bars, self.pct_texts = VGroup(), VGroup(), VGroup()
        lab = [token_text(s, fs) if tokens else _plain(s, fs) for s in self.labels]
        lw = max((t.width for t in lab), default=0.5)
        for i, (t, p) in enumerate(zip(lab, self.values)):
            y = -i * (bar_height + row_buff)
            t.move_to([-0.2 - t.width / 2, y, 0])
            w = max(float(p) / full_scale * max_bar_width, 1e-3)
            c = (highlight_color or THEME.highlight) if highlight == i else color
            bar = Rectangle(width=w, height=bar_height, stroke_width=0, fill_color=c,
                            fill_opacity=0.9).move_to([w / 2, y, 0])
            bar.value = float(p)
            pt = num_text(pct(p), fs * 0.85, THEME.text)
            pt.text = pct(p)
            pt.next_to(bar, RIGHT, buff=0.12)
            pt.value = float(p)
            self.label_texts.add(t)
            self.bars.add(bar)
            self.pct_texts.add(pt)
        self._label_w = lw
        self.add(self.label_texts, self.bars, self.pct_texts)

    def set_values(self, probs: Sequence[float]) -> "ProbabilityBars":
        """Show ``probs`` in place (bar lengths from the left edge, percentages redrawn):
        cheap enough for an updater that follows a live temperature every frame."""
        kw = self._kw
        fs = kw["font_size"] or THEME.text_size * 0.8
        for bar, pt, p in zip(self.bars, self.pct_texts, probs):
            left = bar.get_left()
            w = max(float(p) / kw["full_scale"] * kw["max_bar_width"], 1e-3)
            bar.stretch_to_fit_width(w).move_to(left, aligned_edge=np.array([-1, 0, 0]))
            bar.value = float(p)
            new = num_text(pct(p), fs * 0.85, THEME.text).next_to(bar, RIGHT, buff=0.12)
            pt.become(new)
            pt.text, pt.value = pct(p), float(p)
            pt.font_size_made, pt.extent_made = new.font_size_made, new.extent_made
        self.values = np.asarray(probs, dtype=np.float64)
        return self

    def with_probs(self, probs: Sequence[float]) -> "ProbabilityBars":
        """A copy with the same labels and layout, showing ``probs`` (aligned with self)."""
        new = ProbabilityBars(self.labels, probs, **self._kw)
        new.shift(self.bars[0].get_left() - new.bars[0].get_left())
        return new

    def animate_to(self, probs: Sequence[float], run_time: float = 0.8) -> Transform:
        """Animation turning these bars into ``probs`` (self then shows the new values)."""
        new = self.with_probs(probs)
        self.values = new.values
        for old_t, new_t in zip(self.pct_texts, new.pct_texts):
            old_t.value, old_t.text = new_t.value, new_t.text
        for old_b, new_b in zip(self.bars, new.bars):
            old_b.value = new_b.value
        return Transform(self, new, run_time=run_time)


def _plain(s: str, size: float) -> Any:
    """Label ``s`` drawn as given (no visible-space marks), in the theme font."""
    t = flat_text(s, size, THEME.text)
    t.text = s
    return t


class Bars(ProbabilityBars):
    """:class:`ProbabilityBars` without its label column (the scene draws the
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
