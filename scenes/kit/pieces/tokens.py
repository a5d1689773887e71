"""Tokens on screen: the tokenizer's own pieces in boxes, leading spaces visible."""
from __future__ import annotations

from typing import Sequence

from manim import DOWN, LEFT, ORIGIN, RIGHT, RoundedRectangle, VGroup, VMobject

from ..text import num_text, visible_token
from ..theme import THEME

__all__ = ["TokenBoxes", "token_text"]


class TokenBoxes(VGroup):
    """The prompt as the tokenizer cut it: one box per piece, leading spaces shown as a dim
    ``␣`` so sub-words are unambiguous (``' ver' 'd' 'ant'``). ``.boxes[i]`` is box+text of
    token i, ``.labels[i]`` the text, ``.rects[i]`` the rectangle; with ``show_positions``
    a small position number sits under each box. Wraps to rows of at most ``max_width``.

    >>> tb = TokenBoxes(["a", " fluffy", " creature"])
    >>> len(tb.boxes), tb.tokens[1]
    (3, ' fluffy')
    """

    def __init__(self, tokens: Sequence[str], *, font_size: float | None = None,
                 color=None, fill_opacity: float = 0.12, buff: float = 0.08,
                 max_width: float | None = 13.0, show_positions: bool = False,
                 position_offset: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.tokens = list(tokens)
        fs = font_size or THEME.text_size
        color = color or THEME.text
        pad_x, pad_y = 0.09 * fs / 30 + 0.03, 0.12 * fs / 30
        ref_h = num_text("Agy", fs).height
        box_h = ref_h + 2 * pad_y
        self.boxes, self.labels, self.rects, self.positions = VGroup(), VGroup(), VGroup(), VGroup()
        for i, tok in enumerate(self.tokens):
            marker, body = visible_token(tok)
            txt = num_text(body, fs, color)
            if marker:
                m = num_text(marker, fs * 0.8, THEME.dim, font=THEME.mono)
                m.next_to(txt, LEFT, buff=0.02).align_to(txt, DOWN)
                txt = VGroup(m, txt)
            w = max(txt.width + 2 * pad_x, box_h * 0.7)
            rect = RoundedRectangle(width=w, height=box_h, corner_radius=min(0.08, box_h / 4),
                                    stroke_color=THEME.dim, stroke_width=1.5,
                                    fill_color=color, fill_opacity=fill_opacity)
            txt.move_to(rect)
            box = VGroup(rect, txt)
            self.rects.add(rect)
            self.labels.add(txt)
            self.boxes.add(box)
        # lay out in rows
        rows: list[list[VGroup]] = [[]]
        x = 0.0
        for b in self.boxes:
            if max_width and rows[-1] and x + b.width > max_width:
                rows.append([])
                x = 0.0
            rows[-1].append(b)
            x += b.width + buff
        gap = box_h * (1.0 if show_positions else 0.45)
        for r, row in enumerate(rows):
            VGroup(*row).arrange(RIGHT, buff=buff).set_y(-r * (box_h + gap))
            VGroup(*row).align_to(rows[0][0] if r else VGroup(*row), LEFT)
        self.n_rows = len(rows)
        self.add(self.boxes)
        if show_positions:
            for i, b in enumerate(self.boxes):
                p = num_text(str(i + position_offset), fs * 0.5, THEME.dim)
                p.next_to(b, DOWN, buff=0.06)
                self.positions.add(p)
            self.add(self.positions)
        self.move_to(ORIGIN)

    def highlight(self, i: int, color=None, opacity: float = 0.35) -> "TokenBoxes":
        """Fill box i with ``color`` (in place; use ``.animate`` on the rect to animate)."""
        self.rects[i].set_fill(color or THEME.highlight, opacity=opacity)
        self.rects[i].set_stroke(color or THEME.highlight)
        return self



def token_text(s: str, size: float) -> VMobject:
    marker, body = visible_token(s)
    t = num_text(body, size, THEME.text)
    if marker:
        m = num_text(marker, size * 0.8, THEME.dim, font=THEME.mono)
        m.next_to(t, LEFT, buff=0.02).align_to(t, DOWN)
        return VGroup(m, t)
    return t
