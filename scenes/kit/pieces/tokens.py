"""Tokens on screen: the tokenizer's own pieces in boxes, leading spaces visible."""
from __future__ import annotations

from typing import Sequence

from manim import DOWN, LEFT, ORIGIN, RIGHT, ManimColor, RoundedRectangle, VGroup, VMobject, interpolate_color

from ..text import num_text, visible_token
from ..theme import THEME, muted_on

__all__ = ["TokenBoxes", "token_text"]


class TokenBoxes(VGroup):
    """The prompt as the tokenizer cut it: one box per piece, leading spaces shown as a dim
    ``␣`` (:data:`scenes.kit.text.SPACE_MARK`) so sub-words are unambiguous
    (``' ver' 'd' 'ant'``). ``.boxes[i]`` is box+text of shown token i, ``.labels[i]`` the
    text, ``.bodies[i]`` its text without the mark, ``.markers[i]`` the mark (or None),
    ``.rects[i]`` the rectangle; with ``show_positions`` a small position number sits under
    each box. Wraps to rows of at most ``max_width``, ``row_gap`` apart; ``min_widths[i]``
    widens box i (room for a label under it).

    **Long prompts** (the layout rule, stated on screen): with ``max_rows``, only as many
    tokens as fill that many rows are drawn — the first ones (``keep="start"``) or the last
    ones (``keep="end"``, for a next-token prediction) — and a dim note in the row says how
    many are left out (``+188 more`` / ``188 earlier``). ``.shown`` is the range of token
    indices drawn, ``.note`` the note (None when every token is drawn).

    >>> tb = TokenBoxes(["a", " fluffy", " creature"])
    >>> len(tb.boxes), tb.tokens[1], tb.note is None
    (3, ' fluffy', True)
    >>> tb = TokenBoxes(["x"] * 500, max_width=6.0, max_rows=1, keep="end")
    >>> tb.shown.stop, tb.note.text.endswith("earlier")
    (500, True)
    """

    def __init__(self, tokens: Sequence[str], *, font_size: float | None = None,
                 color=None, fill_opacity: float = 0.12, buff: float = 0.08,
                 max_width: float | None = 13.0, show_positions: bool = False,
                 position_offset: int = 0, max_rows: int | None = None,
                 keep: str = "start", min_widths: Sequence[float] | None = None,
                 row_gap: float | None = None, **kwargs):
        super().__init__(**kwargs)
        all_tokens = list(tokens)
        fs = font_size or THEME.text_size
        self.font_size = fs
        color = color or THEME.text
        pad_x, pad_y = 0.09 * fs / 30 + 0.03, 0.12 * fs / 30
        ref_h = num_text("Agy", fs).height
        box_h = ref_h + 2 * pad_y
        self.box_height = box_h

        def make(i: int, tok: str) -> VGroup:
            marker, body = visible_token(tok)
            txt = num_text(body, fs, color)
            m = None
            if marker:
                under = interpolate_color(THEME.color("background"), ManimColor(color), fill_opacity)
                m = num_text(marker, max(fs * 0.8, 16.0), muted_on(under), font=THEME.mono)
                m.next_to(txt, LEFT, buff=0.02).align_to(txt, DOWN)
                lab = VGroup(m, txt)
            else:
                lab = txt
            w = max(lab.width + 2 * pad_x, box_h * 0.7,
                    min_widths[i] if min_widths is not None else 0.0)
            rect = RoundedRectangle(width=w, height=box_h, corner_radius=min(0.08, box_h / 4),
                                    stroke_color=THEME.dim, stroke_width=1.5,
                                    fill_color=color, fill_opacity=fill_opacity)
            lab.move_to(rect)
            b = VGroup(rect, lab)
            b.rect, b.label, b.body, b.marker = rect, lab, txt, m
            return b

        n = len(all_tokens)
        shown = range(n)
        note = None
        made: dict[int, VGroup] = {}     # boxes measured while fitting, reused when drawn
        if max_rows and max_width and n:
            # how many fit: widths of the boxes in order, rows filled greedily; room kept
            # for the note in the row it goes into. Only the boxes looked at are made (a
            # row holds a bounded number), so a long prompt costs what is drawn, not more.
            def width(i: int) -> float:
                if i not in made:
                    made[i] = make(i, all_tokens[i])
                return made[i].width

            def fits(idx: Sequence[int], lead: float = 0.0, tail: float = 0.0) -> bool:
                rows, x = 1, 0.0
                for w in [lead] * bool(lead) + [width(i) for i in idx] + [tail] * bool(tail):
                    if x > 0 and x + w > max_width:
                        rows, x = rows + 1, 0.0
                        if rows > max_rows:
                            return False
                    x += w + buff
                return True

            def fits_lazily(idx: Sequence[int]) -> bool:   # stops at the first row too many
                rows, x = 1, 0.0
                for i in idx:
                    w = width(i)
                    if x > 0 and x + w > max_width:
                        rows, x = rows + 1, 0.0
                        if rows > max_rows:
                            return False
                    x += w + buff
                return True

            # every box is at least box_h * 0.7 wide: more than fill the rows never fit
            too_many = box_h * 0.7 <= max_width and \
                n * (box_h * 0.7 + buff) > max_rows * (max_width + buff)
            if too_many or not fits_lazily(range(n)):
                order = range(n) if keep == "start" else range(n - 1, -1, -1)
                chosen: list[int] = []
                for i in order:
                    w_note = self._note(n - len(chosen) - 1, keep, fs).width
                    trial = sorted(chosen + [i])
                    ok = fits(trial, lead=w_note) if keep == "end" else fits(trial, tail=w_note)
                    if not ok:
                        break
                    chosen.append(i)
                chosen.sort()
                shown = range(chosen[0], chosen[-1] + 1) if chosen else range(0)
                note = self._note(n - len(shown), keep, fs)
        self.tokens = [all_tokens[i] for i in shown]
        self.all_tokens = all_tokens
        self.shown = shown
        self.note = note
        self.boxes, self.labels, self.rects, self.positions = VGroup(), VGroup(), VGroup(), VGroup()
        self.bodies, self.markers = [], []
        for i in shown:
            b = made.pop(i, None) or make(i, all_tokens[i])
            self.rects.add(b.rect)
            self.labels.add(b.label)
            self.bodies.append(b.body)
            self.markers.append(b.marker)
            self.boxes.add(b)
        # lay out in rows (the note first or last)
        items = list(self.boxes)
        if note is not None:
            items = [note, *items] if keep == "end" else [*items, note]
        rows: list[list] = [[]]
        x = 0.0
        for b in items:
            if max_width and rows[-1] and x + b.width > max_width:
                rows.append([])
                x = 0.0
            rows[-1].append(b)
            x += b.width + buff
        gap = row_gap if row_gap is not None else box_h * (1.0 if show_positions else 0.45)
        self.row_of: list[int] = []
        for r, row in enumerate(rows):
            VGroup(*row).arrange(RIGHT, buff=buff).set_y(-r * (box_h + gap))
            VGroup(*row).align_to(rows[0][0] if r else VGroup(*row), LEFT)
            self.row_of += [r for b in row if b is not note]
        self.n_rows = len(rows)
        self.add(self.boxes)
        if note is not None:
            self.add(note)
        if show_positions:
            for i, b in zip(shown, self.boxes):
                p = num_text(str(i + position_offset), max(fs * 0.55, 16.0), THEME.dim)
                p.next_to(b, DOWN, buff=0.06)
                self.positions.add(p)
            self.add(self.positions)
        self.move_to(ORIGIN)

    @staticmethod
    def _note(left: int, keep: str, fs: float) -> VMobject:
        s = f"{left:,} earlier" if keep == "end" else f"+{left:,} more"
        t = num_text(s, max(fs * 0.7, 18.0), THEME.dim)
        t.left_out = left
        return t

    def highlight(self, i: int, color=None, opacity: float = 0.35) -> "TokenBoxes":
        """Fill box i with ``color`` (in place; use ``.animate`` on the rect to animate)."""
        self.rects[i].set_fill(color or THEME.highlight, opacity=opacity)
        self.rects[i].set_stroke(color or THEME.highlight)
        m = getattr(self.boxes[i], "marker", None)
        if m is not None:                       # the ␣ marker stays readable on the new fill
            under = interpolate_color(THEME.color("background"), ManimColor(color or THEME.highlight),
                                      opacity)
            m.set_fill(muted_on(under))
        return self



def token_text(s: str, size: float) -> VMobject:
    marker, body = visible_token(s)
    t = num_text(body, size, THEME.text)
    if marker:
        m = num_text(marker, max(size * 0.8, 16.0), muted_on(THEME.background), font=THEME.mono)
        m.next_to(t, LEFT, buff=0.02).align_to(t, DOWN)
        return VGroup(m, t)
    return t
