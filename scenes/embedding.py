"""The embedding matrix and the lookup: where each token's first vector comes from.

``manim render scenes/embedding.py`` renders :class:`EmbeddingScene`:

1. ``beat_matrix`` — W_E with its real values (one column per token, first ``dims``
   numbers), braces with its real shape and the parameter count, read from the model.
2. ``beat_lookup`` — each prompt token's id picks its column, which is copied out: a
   *lookup*, no multiplication. The copied numbers are the Trace's ``embed``.
3. ``beat_position`` — GPT-2 style models: the learned position vectors W_pos[i] (real)
   are added, giving what enters the first layer (the Trace's ``resid[0]``). RoPE models
   add nothing here; the scene says so and shows that the first layer's input *is* the
   looked-up vector (the difference, computed from the Trace, is shown).

Knobs: ``prompt``, ``model``, ``dims`` (numbers shown per vector), ``max_tokens``.
Section ``[embedding]``.
"""
from __future__ import annotations

from typing import Annotated, ClassVar

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UP, FadeIn, FadeOut, Indicate, MathTex, ReplacementTransform,
                   SurroundingRectangle, TransformFromCopy, VGroup, config)

from scenes.kit.pieces import EmbeddingMatrix, TokenBoxes, VectorColumn, column_plan
from scenes.kit.course.spec import Range
from scenes.kit.scene import GPTScene, beat
from scenes.kit.text import displayable, num_text
from scenes.kit.theme import THEME, digits_for


class EmbeddingScene(GPTScene):
    config_section = "embedding"
    beats = ("beat_matrix", "beat_lookup", "beat_position")

    #: How many of each vector's numbers are drawn (the rest is ⋮).
    dims: ClassVar[Annotated[int, Range(1, 8)]] = 4
    #: Tokens of the prompt that are looked up on screen (the first ones; 1 to 6).
    max_tokens: ClassVar[Annotated[int, Range(1, 6)]] = 6

    captions: ClassVar[dict[str, str]] = {
        "matrix": "The embedding matrix: {d_model} learned numbers for each of {vocab:,} tokens, "
                  "{params:,} parameters ({share} of the model).",
        "lookup": "Token {id} picks column {id}. Nothing is multiplied: the column is "
                  "simply read out.",
        "lookup_all": "Each token's vector is looked up the same way; a repeated token gets "
                      "the very same vector.",
        "pos_learned": "{model} also learned one vector per position (W_pos, {n_ctx:,} × {d_model}). "
                       "Position i's vector is added to the token's.",
        "pos_sum": "Token vector + position vector: these sums are what enters the first block (layer 0).",
        "pos_rope": "{model} adds no position vector here. Position enters inside attention, "
                    "where queries and keys are rotated by angles that grow with position (RoPE).",
        "rope_same": "So what enters the first block (layer 0) is exactly the looked-up vector.",
    }

    # ------------------------------------------------------------------ data
    def prepare(self) -> None:
        t = self.trace
        self.n = min(self.max_tokens, t.n_pos)
        self.ids = [int(i) for i in t.token_ids[:self.n]]
        self.vocab, self.d_model = int(t.info["vocab_size"]), int(t.info["d_model"])
        self.plan = column_plan(self.ids, self.vocab)
        drawn = [i for i in self.plan if i is not None]
        # row slices are read lazily from the memory-mapped weights (no full W_E load)
        rows = np.stack([t.W_E(slice(i, i + 1))[0] for i in drawn])
        self.W_cols = {i: rows[k] for k, i in enumerate(drawn)}
        self.col_labels = dict(zip(drawn, t.token_strs(drawn)))
        self.params = self.vocab * self.d_model
        self.share = self.params / int(t.info["n_params"])
        self.learned = t.pos_embed is not None
        self.x0 = t.resid[0, :self.n]
        # one number format for every vector on screen: more decimals for small weights
        shown = [np.abs(v[:self.dims]).max() for v in self.W_cols.values()]
        shown += [np.abs(self.x0[:, :self.dims]).max(), np.abs(t.embed[:self.n, :self.dims]).max()]
        if self.learned:
            shown.append(np.abs(t.pos_embed[:self.n, :self.dims]).max())
        self.digits = digits_for(float(max(shown)))

    # ------------------------------------------------------------------ beats
    def _matrix(self) -> tuple[EmbeddingMatrix, VGroup]:
        m = EmbeddingMatrix(self.plan, self.W_cols, self.col_labels,
                            (self.d_model, self.vocab), self.dims, font_size=17,
                            digits=self.digits)
        name = VGroup(MathTex("W_E", font_size=56, color=THEME.text),
                      num_text(f"{self.params:,}", THEME.small_size, THEME.dim),
                      num_text("parameters", THEME.small_size, THEME.dim)).arrange(DOWN, buff=0.1)
        g = VGroup(name, m.group)
        name.next_to(m.brackets, LEFT, buff=0.4)
        if g.width > config.frame_width - 0.6:
            g.scale_to_fit_width(config.frame_width - 0.6)
        g.move_to([0, 0, 0]).to_edge(UP, buff=0.75)
        return m, name

    def build_matrix(self) -> None:
        """W_E with its name, shape and columns (what beat_matrix ends with)."""
        self.W, self.W_name = self._matrix()
        self.matrix = VGroup(self.W.group, self.W_name)
        self.add(self.matrix)

    def build_vecs(self) -> None:
        """The token row with every looked-up vector (what beat_lookup ends with)."""
        self.ensure("matrix")
        self._token_row()
        self.add(self.boxes, self.id_texts, *self.vecs)

    @beat(needs=("tag",))
    def beat_matrix(self) -> None:
        m, name = self._matrix()
        self.W, self.W_name = m, name
        self.matrix = VGroup(m.group, name)
        share = f"{100 * self.share:.1f}%"
        self.show_caption(self.caption_text("matrix", d_model=self.d_model, vocab=self.vocab,
                                            params=self.params, share=share))
        self.play(FadeIn(m.brackets), FadeIn(name), FadeIn(m.headers_group), run_time=0.7)
        self.play(FadeIn(m.body, lag_ratio=0.05), run_time=1.2)
        self.play(FadeIn(m.brace_cols), FadeIn(m.cols_text), FadeIn(m.brace_rows),
                  FadeIn(m.rows_text), run_time=0.6)
        self.wait(3.5)

    def _token_row(self) -> None:
        t = self.trace
        toks = [displayable(s) for s in t.tokens[:self.n]]
        boxes = TokenBoxes(toks, font_size=28, max_width=None, buff=0.1)
        vecs = [VectorColumn(t.embed[i, :self.dims], self.d_model, font_size=17,
                                       digits=self.digits)
                for i in range(self.n)]
        vw = max(v.width for v in vecs)
        need = max(max(b.width for b in boxes.boxes), 2 * vw + 0.55) + 0.25
        slot = min(need, (config.frame_width - 0.6) / self.n)
        xs = [(k - (self.n - 1) / 2) * slot for k in range(self.n)]
        y_box = self.W.group.get_bottom()[1] - 0.45
        for b, x in zip(boxes.boxes, xs):
            b.move_to([x, y_box, 0])
        if boxes.width > config.frame_width - 0.4:
            boxes.scale_to_fit_width(config.frame_width - 0.4)
        ids = VGroup()
        for b, i in zip(boxes.boxes, self.ids):
            n = num_text(f"{i}", THEME.small_size * 0.9, THEME.highlight).next_to(b, DOWN, buff=0.1)
            n.value = i
            ids.add(n)
        for v, b in zip(vecs, boxes.boxes):
            v.next_to(ids, DOWN, buff=0.2).set_x(b.get_x())
        self.boxes, self.id_texts, self.vecs, self.slot_x = boxes, ids, vecs, xs

    @beat(needs=("tag", "matrix"))
    def beat_lookup(self) -> None:
        self._token_row()
        self.play(FadeIn(self.boxes), FadeIn(self.id_texts), run_time=0.7)
        for k, i in enumerate(self.ids):
            col, head = self.W.columns[i], self.W.headers[i]
            rect = SurroundingRectangle(VGroup(col, head), color=THEME.highlight, buff=0.06)
            first = k == 0
            if first:
                self.show_caption(self.caption_text("lookup", id=f"{i}"))
            self.play(Indicate(self.id_texts[k], color=THEME.highlight), FadeIn(rect),
                      run_time=0.6 if first else 0.35)
            v = self.vecs[k]
            self.play(TransformFromCopy(col, v.entries), FadeIn(v.brackets), FadeIn(v.dots),
                      run_time=1.0 if first else 0.5)
            self.play(FadeOut(rect), run_time=0.25 if first else 0.15)
            if first:
                self.wait(1.5)
        self.show_caption(self.caption_text("lookup_all"))
        self.wait(3.0)

    @beat(needs=("tag", "vecs"))
    def beat_position(self) -> None:
        moving = VGroup(self.boxes, self.id_texts, *self.vecs)
        up = (0.9 if self.learned else 1.2) - moving.get_center()[1]
        gone = [FadeOut(self.matrix)] if self.has("matrix") else []
        self.play(*gone, moving.animate.shift(up * UP), run_time=0.8)
        if self.learned:
            self._learned_positions()
        else:
            self._rope()

    def _learned_positions(self) -> None:
        t = self.trace
        self.show_caption(self.caption_text("pos_learned", model=t.info["name"],
                                            n_ctx=int(t.info["n_ctx"]), d_model=self.d_model))
        pos_vecs, plus, labels = [], VGroup(), VGroup()
        for k in range(self.n):
            e = self.vecs[k]
            p = VectorColumn(t.pos_embed[k, :self.dims], self.d_model, font_size=17,
                             digits=self.digits)
            gap = 0.45
            e_target = e.copy().set_x(self.slot_x[k] - (p.width + gap) / 2)
            e.generate_target()
            e.target.move_to(e_target)
            p.next_to(e.target, RIGHT, buff=gap)
            pl = num_text("+", THEME.text_size, THEME.text).move_to(
                (e.target.get_right() + p.get_left()) / 2)
            lab = num_text(f"position {k}", THEME.small_size * 0.8, THEME.dim).next_to(
                self.boxes.boxes[k], UP, buff=0.1)
            pos_vecs.append(p)
            plus.add(pl)
            labels.add(lab)
        self.play(*[FadeIn(p) for p in pos_vecs], *[e.animate.move_to(e.target) for e in self.vecs],
                  FadeIn(plus), FadeIn(labels), run_time=1.0)
        self.wait(2.5)
        sums = []
        for k in range(self.n):
            x = VectorColumn(self.x0[k, :self.dims], self.d_model, font_size=17,
                             digits=self.digits)
            x.move_to(self.vecs[k]).set_x(self.slot_x[k])
            sums.append(x)
        self.show_caption(self.caption_text("pos_sum"))
        self.play(*[ReplacementTransform(VGroup(self.vecs[k], pos_vecs[k]), sums[k])
                    for k in range(self.n)], FadeOut(plus), run_time=1.2)
        self.pos_vecs, self.sums = pos_vecs, sums
        self.wait(3.5)

    def _rope(self) -> None:
        t = self.trace
        diff = float(np.abs(self.x0 - t.embed[:self.n]).max())
        self.show_caption(self.caption_text("pos_rope", model=t.info["name"]))
        self.wait(3.5)
        shown = "0 (identical)" if diff == 0 else f"{diff:.1e}"
        eq = num_text(f"largest |layer-0 input − looked-up vector|, these tokens: {shown}",
                      THEME.small_size, THEME.dim)
        eq.value = diff
        eq.next_to(VGroup(*self.vecs), DOWN, buff=0.5)
        self.rope_check = eq
        self.show_caption(self.caption_text("rope_same"))
        self.play(FadeIn(eq), run_time=0.6)
        self.wait(3.0)
