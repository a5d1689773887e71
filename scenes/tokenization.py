"""Tokenization: the prompt cut into the model's real pieces, their ids, sub-words, vocabulary.

``manim render scenes/tokenization.py`` renders :class:`TokenizationScene`:

1. ``beat_text`` — the prompt as plain text.
2. ``beat_pieces`` — the model's tokenizer cuts it into pieces (boxes over the text). A
   leading space is shown as ␣: it belongs to the piece. Tokens are not words.
3. ``beat_ids`` — each piece is really an integer: its index in the vocabulary.
4. ``beat_subwords`` — a word that is cut into several pieces (from ``split_words``; the
   first that really splits in this model), with the pieces' ids.
5. ``beat_vocab`` — the vocabulary size read from the model and evenly spaced real entries.

Knobs: ``prompt``, ``model``, ``split_words``, ``vocab_samples``. Section ``[tokenization]``.
"""
from __future__ import annotations

from typing import ClassVar, Sequence

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UP, Arrow, FadeIn, GrowArrow, ReplacementTransform,
                   VGroup, config)

from scenes.kit.pieces import TokenBoxes
from scenes.kit.scene import GPTScene, beat
from scenes.kit.text import displayable, num_text
from scenes.kit.theme import THEME
from tensors import UserError


class TokenizationScene(GPTScene):
    config_section = "tokenization"
    beats = ("beat_text", "beat_pieces", "beat_ids", "beat_subwords", "beat_vocab")

    #: Words to show cut into sub-word pieces: the first two that are several tokens in
    #: this model are shown (a leading space is added, as mid-sentence).
    split_words: ClassVar[Sequence[str]] = ("tokenization", "unbelievably", "Transformers")
    #: How many evenly spaced real vocabulary entries to show (2 to 16).
    vocab_samples: ClassVar[int] = 10

    captions: ClassVar[dict[str, str]] = {
        "text": "A language model never sees letters or words directly.",
        "pieces": "Its tokenizer cuts the text into {n} pieces (tokens). ␣ is a space: "
                  "it is part of the piece. Tokens are not words.",
        "ids": "To the model each piece is just a number: its index in a fixed vocabulary.",
        "subwords": "A rarer word is cut into several pieces, which need not be syllables "
                    "or meaningful parts.",
        "no_split": "Each of these words is a single token in {model}.",
        "vocab": "{model}'s vocabulary: {size:,} pieces, read from the model. "
                 "{n} of them, {step:,} ids apart.",
    }

    # ------------------------------------------------------------------ data
    def prepare(self) -> None:
        if not isinstance(self.vocab_samples, int) or not 2 <= self.vocab_samples <= 16:
            raise UserError(f"vocab_samples = {self.vocab_samples!r}: choose 2 to 16 entries")
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
        # exactly evenly spaced, so "{step:,} ids apart" is true for every gap (issue 10)
        self.sample_step = top // (self.vocab_samples - 1)
        self.sample_ids = [k * self.sample_step for k in range(self.vocab_samples)]
        self.sample_strs = [displayable(s) for s in self.tok.token_strs(self.sample_ids)]

    # ------------------------------------------------------------------ beats
    def make_tag(self):
        return self.model_tag("tokenizer")

    def build_plain(self) -> None:
        self.plain = self._plain()
        self.add(self.plain)

    def build_boxes(self) -> None:
        self.boxes = self._token_boxes()
        self.add(self.boxes)

    def build_ids(self) -> None:
        self.ensure("boxes")
        self.ids, self.id_arrows = self._id_row()
        self.add(self.id_arrows, self.ids)

    def _plain(self):
        plain = self.text(self.prompt, size=46)
        if plain.width > config.frame_width - 1:
            plain.scale_to_fit_width(config.frame_width - 1)
        return plain.move_to(1.9 * UP)

    def _token_boxes(self) -> TokenBoxes:
        boxes = TokenBoxes([displayable(s) for s in self.trace.tokens], font_size=40,
                           max_width=config.frame_width - 1.0, buff=0.14)
        return boxes.move_to(1.9 * UP)

    def _id_row(self) -> tuple[VGroup, VGroup]:
        ids, arrows = VGroup(), VGroup()
        for box, i in zip(self.boxes.boxes, self.trace.token_ids):
            a = Arrow(box.get_bottom(), box.get_bottom() + 0.55 * DOWN, buff=0.05,
                      stroke_width=2, tip_length=0.12, color=THEME.dim)
            n = num_text(str(int(i)), THEME.text_size * 0.9, THEME.highlight)
            n.next_to(a, DOWN, buff=0.06)
            n.value = int(i)
            ids.add(n)
            arrows.add(a)
        return ids, arrows

    @beat(needs=("tag",))
    def beat_text(self) -> None:
        self.plain = self._plain()
        self.show_caption(self.caption_text("text"))
        self.play(FadeIn(self.plain), run_time=0.8)
        self.wait(2.0)

    @beat(needs=("tag", "plain"))
    def beat_pieces(self) -> None:
        t = self.trace
        self.boxes = self._token_boxes()
        self.show_caption(self.caption_text("pieces", n=len(t.tokens)))
        self.play(ReplacementTransform(self.plain, self.boxes.labels), run_time=1.0)
        self.play(FadeIn(self.boxes.rects), run_time=0.6)
        self.wait(3.0)

    @beat(needs=("tag", "boxes"))
    def beat_ids(self) -> None:
        ids, arrows = self._id_row()
        self.ids, self.id_arrows = ids, arrows
        self.show_caption(self.caption_text("ids"))
        self.play(*[GrowArrow(a) for a in arrows], run_time=0.6)
        self.play(FadeIn(ids, shift=0.1 * DOWN), run_time=0.8)
        self.wait(3.0)

    @beat(needs=("tag", "ids"))
    def beat_subwords(self) -> None:
        groups = VGroup()
        self.split_mobs = []
        if not self.splits:
            words = ", ".join(w.strip() for w in self.unsplit[:4]) or "(none given)"
            note = self.text(words, size=34).move_to(1.3 * DOWN)
            self.show_caption(self.caption_text("no_split", model=self.trace.info["name"]))
            self.play(FadeIn(note), run_time=0.6)
            self.wait(3.0)
            self.split_group = note
            return
        for text, ids, strs in self.splits:
            word = self.text(text.strip(), size=34)
            arrow = num_text("→", 34, THEME.dim)
            boxes = TokenBoxes(strs, font_size=34, buff=0.1, max_width=None)
            nums = VGroup()
            for b, i in zip(boxes.boxes, ids):
                n = num_text(str(int(i)), THEME.text_size * 0.75, THEME.highlight)
                n.next_to(b, DOWN, buff=0.12)
                n.value = int(i)
                nums.add(n)
            boxes.add(nums)
            row = VGroup(word, arrow, boxes).arrange(RIGHT, buff=0.35)
            word.match_y(boxes.boxes)
            arrow.match_y(boxes.boxes)
            groups.add(row)
            self.split_mobs.append((word, boxes, nums, ids, strs))
        groups.arrange(DOWN, buff=0.45, aligned_edge=LEFT)
        top = min(m.get_bottom()[1] for m in self.ids) - 0.55
        groups.move_to([0, 0, 0]).align_to([0, top, 0], UP)
        if groups.width > config.frame_width - 1:
            groups.scale_to_fit_width(config.frame_width - 1)
        self.show_caption(self.caption_text("subwords"))
        for word, boxes, nums, *_ in self.split_mobs:
            self.play(FadeIn(word), run_time=0.5)
            self.play(FadeIn(boxes.boxes, shift=0.2 * RIGHT), run_time=0.7)
            self.play(FadeIn(nums), run_time=0.4)
        self.wait(3.0)
        self.split_group = groups

    @beat(needs=("tag", "ids"))
    def beat_vocab(self) -> None:
        self.fade_out_shown(getattr(self, "split_group", None), run_time=0.5)
        head = self.text(f"vocabulary: {self.vocab_size:,} pieces", size=40)
        cells = VGroup()
        for i, s in zip(self.sample_ids, self.sample_strs):
            n = num_text(f"{i}", THEME.small_size, THEME.highlight)
            b = TokenBoxes([s], font_size=28, max_width=None)
            cell = VGroup(b, n).arrange(DOWN, buff=0.12)
            n.value = i
            cell.token_id, cell.token = i, s
            cells.add(cell)
        per_row = (len(cells) + 1) // 2
        cells.arrange_in_grid(rows=2, cols=per_row, buff=(0.35, 0.35))
        if cells.width > config.frame_width - 1:
            cells.scale_to_fit_width(config.frame_width - 1)
        block = VGroup(head, cells).arrange(DOWN, buff=0.5)
        block.next_to(self.ids, DOWN, buff=0.45)
        self.show_caption(self.caption_text("vocab", model=self.trace.info["name"],
                                            size=self.vocab_size, step=self.sample_step,
                                            n=len(self.sample_ids)))
        self.play(FadeIn(head), run_time=0.6)
        self.play(FadeIn(cells, lag_ratio=0.1), run_time=1.2)
        self.wait(3.5)
        self.vocab_cells = cells
