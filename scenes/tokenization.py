"""Tokenization: the prompt cut into the model's real pieces, their ids, sub-words, vocabulary.

``manim render scenes/tokenization.py`` renders :class:`TokenizationScene`:

1. ``beat_text`` — the prompt as plain text (already made of the pieces to come).
2. ``beat_pieces`` — the model's tokenizer cuts it: each piece slides apart into its box. A
   leading space is shown as ␣: it belongs to the piece. Tokens are not words.
3. ``beat_ids`` — each piece is really an integer: its index in the vocabulary.
4. ``beat_subwords`` — a word that is cut into several pieces (from ``split_words``; the
   first that really splits in this model), with the pieces' ids.
5. ``beat_vocab`` — the vocabulary size read from the model and evenly spaced real entries.

Long prompts: at most ``max_rows`` rows of pieces are drawn — the first ones — and the row
ends with "+N more" (the rule is on screen; the caption counts every piece).

Knobs: ``prompt``, ``model``, ``split_words``, ``vocab_samples``, ``max_rows``.
Section ``[tokenization]``.
"""
from __future__ import annotations

from typing import Annotated, ClassVar, Sequence

import numpy as np
from manim import (DOWN, LEFT, ORIGIN, RIGHT, UP, Arrow, FadeIn, FadeOut, GrowArrow, VGroup, config)

from scenes.kit.pieces import TokenBoxes
from scenes.kit.course.spec import Range
from scenes.kit.scene import CAPTION_TOP, GPTScene, beat
from scenes.kit.text import SPACE_MARK, displayable, num_text
from scenes.kit.theme import THEME
from tensors import UserError

#: Font sizes: the pieces, their ids, the sub-word rows and the vocabulary cells.
PIECE_SIZE, ID_SIZE, SUB_SIZE, CELL_SIZE = 36.0, 24.0, 30.0, 26.0
TOP_Y = 3.05          # top edge of the first row of pieces
#: Token boxes' fill: the dim ␣ mark reads at ≥ 4.5:1 on it (4.6:1; at 0.12 it was 4.4:1).
BOX_FILL = 0.1


class TokenizationScene(GPTScene):
    config_section = "tokenization"
    beats = ("beat_text", "beat_pieces", "beat_ids", "beat_subwords", "beat_vocab")

    #: Words to show cut into sub-word pieces: the first two that are several tokens in
    #: this model are shown (a leading space is added, as mid-sentence).
    split_words: ClassVar[Sequence[str]] = ("tokenization", "unbelievably", "Transformers")
    #: How many evenly spaced real vocabulary entries to show (2 to 16).
    vocab_samples: ClassVar[Annotated[int, Range(2, 16)]] = 10
    #: Rows of pieces drawn (1 to 3); a longer prompt shows its first pieces and "+N more".
    max_rows: ClassVar[Annotated[int, Range(1, 3)]] = 2

    captions: ClassVar[dict[str, str]] = {
        "text": "A language model never sees letters or words directly.",
        "pieces": "Its tokenizer cuts the text into {n} pieces (tokens). {mark} is a space: "
                  "it is part of the piece. Tokens are not words.",
        "ids": "To the model each piece is just a number: its index in a fixed vocabulary.",
        "subwords": "A rarer word is cut into several pieces, which need not be syllables "
                    "or meaningful parts.",
        "no_split": "Each of these words is a single token in {model}.",
        "vocab": "{model}'s vocabulary: {size:,} pieces, read from the model. "
                 "{n} of them, {gap} ids apart.",
    }

    # ------------------------------------------------------------------ data
    def prepare(self) -> None:
        t = self.trace
        self.tok = t
        self.splits: list[tuple[str, list[int], list[str]]] = []
        self.unsplit: list[str] = []
        for w in self.split_words:
            if not isinstance(w, str) or not w.strip():
                raise UserError(f"split_words: {w!r} is not a word; give non-empty strings")
            text = w if w.startswith(" ") else " " + w
            ids = self.tok.encode(text)
            if len(ids) > 1 and len(self.splits) < 2:
                self.splits.append((text, ids, [displayable(s) for s in self.tok.token_strs(ids)]))
            elif len(ids) == 1:
                self.unsplit.append(text)
        self.vocab_size = int(t.info["vocab_size"])
        n_tok = len(t.tokenizer)
        top = min(self.vocab_size, n_tok) - 1
        self.sample_ids = [int(i) for i in np.linspace(0, top, self.vocab_samples).round()]
        gaps = sorted(set(np.diff(self.sample_ids).tolist()))
        self.sample_step = int(round(top / (self.vocab_samples - 1)))
        self.sample_gaps = gaps                      # e.g. [5461, 5462]: "about" in the caption
        self.sample_strs = [displayable(s) for s in self.tok.token_strs(self.sample_ids)]
        self.id_h = num_text("0", ID_SIZE).height

    # ------------------------------------------------------------------ layout
    def make_tag(self):
        return self.model_tag("tokenizer")

    def _token_boxes(self) -> TokenBoxes:
        """The pieces in boxes, each box wide enough for its id; rows far enough apart for
        an arrow and the id under each."""
        ids = [int(i) for i in self.trace.token_ids]
        minw = [num_text(str(i), ID_SIZE).width + 0.1 for i in ids]
        boxes = TokenBoxes([displayable(s) for s in self.trace.tokens], font_size=PIECE_SIZE, fill_opacity=BOX_FILL,
                           max_width=config.frame_width - 1.0, buff=0.14,
                           max_rows=self.max_rows, min_widths=minw,
                           row_gap=0.42 + self.id_h + 0.3)
        boxes.move_to([0, 0, 0]).align_to([0, TOP_Y, 0], UP)
        return boxes

    def _plain(self, boxes: TokenBoxes) -> VGroup:
        """The text as one reads it, made of the very pieces of ``boxes`` (so cutting it
        moves each piece, no letter is redrawn): same rows, natural spacing, centred."""
        space = num_text("a a", PIECE_SIZE).width - 2 * num_text("a", PIECE_SIZE).width
        pieces = [b.copy() for b in boxes.bodies]
        plain = VGroup()
        for r in range(boxes.n_rows):
            row = [(i, p) for i, p in enumerate(pieces) if boxes.row_of[i] == r]
            if not row:
                continue
            x = 0.0
            for i, p in row:
                if boxes.markers[i] is not None and x > 0:
                    x += space
                p.move_to([x + p.width / 2, boxes.bodies[i].get_y(), 0])
                x += p.width + 0.01
            VGroup(*[p for _, p in row]).set_x(0)
            plain.add(*[p for _, p in row])
        plain.pieces = pieces
        if boxes.note is not None:
            note = boxes.note.copy().next_to(plain, RIGHT, buff=0.3)
            note.align_to(plain[-1], DOWN)
            plain.add(note)
            plain.note = note
        return plain

    def _id_row(self) -> tuple[VGroup, VGroup]:
        ids, arrows = VGroup(), VGroup()
        shown = self.boxes.shown
        for box, i in zip(self.boxes.boxes, [self.trace.token_ids[j] for j in shown]):
            a = Arrow(box.get_bottom(), box.get_bottom() + 0.42 * DOWN, buff=0.04,
                      stroke_width=2, tip_length=0.1, color=THEME.dim)
            n = num_text(str(int(i)), ID_SIZE, THEME.highlight)
            n.next_to(a, DOWN, buff=0.04)
            n.value = int(i)
            ids.add(n)
            arrows.add(a)
        return ids, arrows

    def _below(self) -> float:
        """Top of the free area under the pieces (and their ids)."""
        return self.boxes.get_bottom()[1] - (0.42 + self.id_h + 0.35)

    # ------------------------------------------------------------------ silent builders
    def build_plain(self) -> None:
        self.plain = self._plain(self._token_boxes())
        self.add(self.plain)

    def build_boxes(self) -> None:
        self.boxes = self._token_boxes()
        self.add(self.boxes)

    def build_ids(self) -> None:
        self.ensure("boxes")
        self.ids, self.id_arrows = self._id_row()
        self.add(self.id_arrows, self.ids)

    # ------------------------------------------------------------------ beats
    @beat(needs=("tag",))
    def beat_text(self) -> None:
        self.plain = self._plain(self._token_boxes())
        self.show_caption(self.caption_text("text"))
        self.play(FadeIn(self.plain), run_time=0.8)
        self.hold()

    @beat(needs=("tag", "plain"))
    def beat_pieces(self) -> None:
        t = self.trace
        boxes = self._token_boxes()
        self.boxes = boxes
        self.show_caption(self.caption_text("pieces", n=len(t.tokens), mark=SPACE_MARK))
        pieces = getattr(self.plain, "pieces", None)
        if pieces is None or len(pieces) != len(boxes.bodies):  # a plain built for another layout
            self.play(FadeOut(self.plain), FadeIn(boxes), run_time=0.8)
        else:
            # each piece slides to its place in its box; boxes and ␣ marks appear around them
            moves = [p.animate.move_to(b) for p, b in zip(pieces, boxes.bodies)]
            note = getattr(self.plain, "note", None)
            if note is not None:
                moves.append(note.animate.move_to(boxes.note))
            self.play(*moves, run_time=1.0)
            marks = [m for m in boxes.markers if m is not None]
            self.play(FadeIn(boxes.rects), *[FadeIn(m) for m in marks], run_time=0.6)
            self.remove(self.plain)
            self.add(boxes)
        self.hold()

    @beat(needs=("tag", "boxes"))
    def beat_ids(self) -> None:
        ids, arrows = self._id_row()
        self.ids, self.id_arrows = ids, arrows
        self.show_caption(self.caption_text("ids"))
        self.play(*[GrowArrow(a) for a in arrows], run_time=0.5)
        self.play(FadeIn(ids, shift=0.1 * DOWN, lag_ratio=0.05), run_time=0.8)
        self.hold()

    @beat(needs=("tag", "ids"))
    def beat_subwords(self) -> None:
        groups = VGroup()
        self.split_mobs = []
        top = self._below()
        if not self.splits:
            words = ", ".join(w.strip() for w in self.unsplit[:4]) or "(none given)"
            note = self.text(words, size=SUB_SIZE)
            note.move_to([0, top - note.height / 2, 0])
            self.show_caption(self.caption_text("no_split", model=self.trace.info["name"]))
            self.play(FadeIn(note), run_time=0.6)
            self.hold()
            self.split_group = note
            return
        for text, ids, strs in self.splits:
            word = self.text(text.strip(), size=SUB_SIZE)
            arrow = Arrow(ORIGIN, 0.8 * RIGHT, buff=0, stroke_width=2.5, tip_length=0.14,
                          color=THEME.dim)
            minw = [num_text(str(int(i)), ID_SIZE).width + 0.1 for i in ids]
            boxes = TokenBoxes(strs, font_size=SUB_SIZE, buff=0.1, max_width=None, fill_opacity=BOX_FILL,
                               min_widths=minw)
            nums = VGroup()
            for b, i in zip(boxes.boxes, ids):
                n = num_text(str(int(i)), ID_SIZE, THEME.highlight)
                n.next_to(b, DOWN, buff=0.1)
                n.value = int(i)
                nums.add(n)
            boxes.add(nums)
            row = VGroup(word, arrow, boxes).arrange(RIGHT, buff=0.35)
            word.match_y(boxes.boxes)
            arrow.match_y(boxes.boxes)
            groups.add(row)
            self.split_mobs.append((word, boxes, nums, ids, strs))
        groups.arrange(DOWN, buff=0.3, aligned_edge=LEFT)
        groups.move_to([0, top - groups.height / 2, 0])
        self.show_caption(self.caption_text("subwords"))
        for word, boxes, nums, *_ in self.split_mobs:
            self.play(FadeIn(word), FadeIn(boxes.boxes, shift=0.2 * RIGHT), run_time=0.6)
            self.play(FadeIn(nums), run_time=0.3)
        self.hold()
        self.split_group = groups

    @beat(needs=("tag", "ids"))
    def beat_vocab(self) -> None:
        self.fade_out_shown(getattr(self, "split_group", None), run_time=0.4)
        head = self.text(f"vocabulary: {self.vocab_size:,} pieces", size=30)
        cells = VGroup()
        for i, s in zip(self.sample_ids, self.sample_strs):
            n = num_text(f"{i}", ID_SIZE, THEME.highlight)
            b = TokenBoxes([s], font_size=CELL_SIZE, max_width=None, fill_opacity=BOX_FILL)
            cell = VGroup(b, n).arrange(DOWN, buff=0.08)
            n.value = i
            cell.token_id, cell.token = i, s
            cells.add(cell)
        per_row = (len(cells) + 1) // 2
        cells.arrange_in_grid(rows=2, cols=per_row, buff=(0.3, 0.2))
        block = VGroup(head, cells).arrange(DOWN, buff=0.25)
        top = self._below()
        room_w, room_h = config.frame_width - 1.0, top - (CAPTION_TOP + 0.1)
        if block.width > room_w or block.height > room_h:  # never below the size floor:
            s = min(room_w / block.width, room_h / block.height)  # ≥ 24 → ≥ 16 (see checks)
            block.scale(max(s, 0.65))
        block.move_to([0, top - block.height / 2, 0])
        gap = (f"{self.sample_step:,}" if len(self.sample_gaps) == 1 else
               f"{self.sample_gaps[0]:,}–{self.sample_gaps[-1]:,}")
        cap = self.caption_text("vocab", model=self.trace.info["name"], size=self.vocab_size,
                                step=self.sample_step, gap=gap, n=len(self.sample_ids))
        self.sample_gap_text = gap
        self.show_caption(cap)
        self.play(FadeIn(head), run_time=0.5)
        self.play(FadeIn(cells, lag_ratio=0.1), run_time=1.0)
        self.hold()
        self.vocab_cells = cells
