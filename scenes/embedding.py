"""The embedding matrix and the lookup: where each token's first vector comes from.

``manim render scenes/embedding.py`` renders :class:`EmbeddingScene`:

1. ``beat_matrix`` — W_E as stored, tokens as rows (``[vocab, d_model]``, the same
   orientation in every scene): real values (first ``dims`` numbers of each drawn row),
   its real shape and the parameter count, read from the model.
2. ``beat_lookup`` — each prompt token's id picks its row, which is copied out to the
   token: a *lookup*, no multiplication. The copied numbers are the Trace's ``embed``.
3. ``beat_position`` — GPT-2 style models: the learned position rows W_pos[i] (real)
   are added, giving what enters the first block (the Trace's ``resid[0]``, hooked at
   block 0's input). RoPE models add nothing here; the scene compares the looked-up rows
   with block 0's real input and shows the largest difference.

Knobs: ``prompt``, ``model``, ``dims`` (numbers shown per vector), ``max_tokens``.
Section ``[embedding]``.
"""
from __future__ import annotations

from typing import Annotated, ClassVar

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UP, FadeIn, FadeOut, Indicate, MathTex,
                   SurroundingRectangle, TransformFromCopy, VGroup, config)

from scenes.kit.pieces import EmbeddingMatrix, TokenBoxes, WeightMatrix, column_plan
from scenes.kit.course.spec import Range
from scenes.kit.ledger import sum_digits
from scenes.kit.scene import GPTScene, beat, CAPTION_TOP
from scenes.kit.text import font_size_of, num_text
from scenes.kit.theme import MIN_SIZE, THEME, digits_for


class EmbeddingScene(GPTScene):
    config_section = "embedding"
    _subscripts = True
    beats = ("beat_matrix", "beat_lookup", "beat_position")

    #: How many of each vector's numbers are drawn (the rest is ⋯).
    dims: ClassVar[Annotated[int, Range(1, 8)]] = 4
    #: Tokens of the prompt that are looked up on screen (the first ones; 1 to 6).
    max_tokens: ClassVar[Annotated[int, Range(1, 6)]] = 6

    captions: ClassVar[dict[str, str]] = {
        "matrix": "W_E ({shape}): {d_model} learned numbers for each of {vocab:,} tokens, "
                  "{share} of the model's parameters.",
        "lookup": "Token {id} picks row {id} of W_E. Nothing is multiplied: the row is read out.",
        "lookup_all": "Every token is looked up the same way; a repeated token gets the same row.",
        "more": " (the first {n} of {total} tokens shown)",
        "pos_learned": "{model} also learned one row per position (W_pos, {n_ctx:,} × {d_model}), "
                       "added to the token's row.",
        "pos_sum": "Token row + position row: what enters the first block (layer 0).",
        "rounded": " (≈: the shown numbers are rounded)",
        "pos_rope": "{model} adds no position row: position enters inside attention (RoPE).",
        "rope_same": "Block 0's real input, read inside the model, is the looked-up row itself.",
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
        self.W_rows = {i: rows[k] for k, i in enumerate(drawn)}
        self.row_labels = dict(zip(drawn, t.token_strs(drawn)))
        self.params = self.vocab * self.d_model
        self.share = self.params / int(t.info["n_params"])
        self.learned = t.pos_embed is not None
        self.x0 = t.resid[0, :self.n]          # block 0's real input (hooked)
        shown = [np.abs(v[:self.dims]).max() for v in self.W_rows.values()]
        shown += [np.abs(self.x0[:, :self.dims]).max(), np.abs(t.embed[:self.n, :self.dims]).max()]
        if self.learned:
            shown.append(np.abs(t.pos_embed[:self.n, :self.dims]).max())
        self.digits = digits_for(float(max(shown)))

    # ------------------------------------------------------------------ pieces
    def _matrix(self) -> tuple[EmbeddingMatrix, VGroup]:
        m = EmbeddingMatrix(self.plan, self.W_rows, self.row_labels,
                            (self.vocab, self.d_model), self.dims, font_size=18,
                            digits=self.digits)
        count = self.equation("total", f"{self.params:,} parameters in W_E", shown=self.params,
                              parts=[self.trace.param_counts()["embed"]])
        name = VGroup(MathTex("W_E", font_size=48, color=THEME.text),
                      count.bind(num_text(count.say("{shown:,} parameters"), THEME.small_size,
                                          THEME.dim))).arrange(RIGHT, buff=0.25)
        name.next_to(m.row_labels, UP, buff=0.25).align_to(m.row_labels, LEFT)
        g = VGroup(name, m)
        g.to_edge(LEFT, buff=0.35).set_y(0.0)
        low = CAPTION_TOP + 0.15 - g.get_bottom()[1]      # clear of the two-line caption zone
        if low > 0:
            g.shift(min(low, max(0.0, 3.3 - g.get_top()[1])) * UP)
        return m, name

    def _vec(self, v: np.ndarray) -> WeightMatrix:
        return WeightMatrix(np.asarray(v)[None, :self.dims], (1, self.d_model), font_size=18,
                            show_shape=False, truncated_cols=True, digits=self.digits, h_buff=0.08)

    def _token_rows(self) -> None:
        """The prompt's tokens at the right edge, one per row, with their ids; a slot for the
        looked-up row left of each (the copy never crosses a token box)."""
        t = self.trace
        boxes = TokenBoxes([t.tokens[k] for k in range(self.n)], font_size=28, max_width=None,
                            fill_opacity=0.1)            # the dim ␣ mark reads at 4.6:1 on it
        ids = VGroup()
        ys = np.linspace(1.9, -2.0, self.n) if self.n > 1 else [0.0]
        for k, (b, i) in enumerate(zip(boxes.boxes, self.ids)):
            b.move_to([0, ys[k], 0])
            n = num_text(f"{i:,}", MIN_SIZE * 1.1, THEME.highlight)
            n.value = i
            ids.add(n)
        self.vecs = [self._vec(t.embed[k]) for k in range(self.n)]
        # the rows in one column right of W_E, then the boxes, then the ids (at the edge)
        idw = max(n.width for n in ids)
        vl = (self.W.brackets.get_right()[0] + 0.3 if self.has("W") else
              config.frame_width / 2 - 0.3 - idw - 0.15 - max(b.width for b in boxes.boxes)
              - 0.3 - max(v.width for v in self.vecs))
        left = vl + max(v.width for v in self.vecs) + 0.3
        # long tokens: the boxes shrink (not below the legibility floor) to keep the ids in frame
        bw = max(b.width for b in boxes.boxes)
        over = left + bw + 0.15 + idw - (config.frame_width / 2 - 0.2)
        if over > 0:
            least = min(sz for sz in map(font_size_of, boxes.get_family()) if sz)
            f = max(MIN_SIZE / least, (bw - over) / bw)
            for b in boxes.boxes:
                b.scale(f)
        for b, n, v in zip(boxes.boxes, ids, self.vecs):
            b.align_to([left, 0, 0], LEFT)
            n.next_to(b, RIGHT, buff=0.15)
            v.set_y(b.get_y()).align_to([vl, 0, 0], LEFT)
        self.boxes, self.id_texts = boxes, ids

    # ------------------------------------------------------------------ builders
    def build_matrix(self) -> None:
        """W_E with its name, shape and rows (what beat_matrix ends with)."""
        self.W, self.W_name = self._matrix()
        self.matrix = VGroup(self.W, self.W_name)
        self.add(self.matrix)

    def build_vecs(self) -> None:
        """The tokens with every looked-up row (what beat_lookup ends with)."""
        self.ensure("matrix")
        self._token_rows()
        self.add(self.boxes, self.id_texts, *self.vecs)

    # ------------------------------------------------------------------ beats
    @beat(needs=("tag",))
    def beat_matrix(self) -> None:
        m, name = self._matrix()
        self.W, self.W_name = m, name
        self.matrix = VGroup(m, name)
        share = f"{100 * self.share:.1f}%"

        self.play(FadeIn(m.brackets), FadeIn(name), FadeIn(m.row_labels), run_time=0.7)
        self.show_caption(self.caption_text("matrix", d_model=self.d_model, vocab=self.vocab,
                                            params=self.params, share=share,
                                            shape=f"{self.vocab:,} × {self.d_model}"))
        self.play(FadeIn(m.body, lag_ratio=0.05), run_time=1.0)
        self.play(FadeIn(m.brace_cols), FadeIn(m.cols_text), FadeIn(m.brace_rows),
                  FadeIn(m.rows_text), FadeIn(m.shape_text), run_time=0.6)
        self.wait(2.5)

    @beat(needs=("tag", "matrix"))
    def beat_lookup(self) -> None:
        t = self.trace
        self._token_rows()
        # the row/shape notes on the right yield to the tokens
        self.play(FadeOut(self.W.brace_rows), FadeOut(self.W.rows_text),
                  FadeIn(self.boxes), FadeIn(self.id_texts), run_time=0.7)
        for k, i in enumerate(self.ids):
            r = self.W.row_of(i)
            row, head = self.W.row(r), self.W.row_labels[r]
            rect = SurroundingRectangle(VGroup(row, head), color=THEME.highlight, buff=0.06)
            first = k == 0
            if k == 1:  # "Token 504 picks row 504" leaves before another token is lit
                self.show_caption(self.caption_text("lookup_all"))
            if first:
                cap = self.caption_text("lookup", id=f"{i:,}")
                if self.n < t.n_pos:
                    cap += self.caption_text("more", n=self.n, total=t.n_pos)
                self.show_caption(cap)
            self.play(Indicate(self.id_texts[k], color=THEME.highlight), FadeIn(rect),
                      run_time=0.6 if first else 0.35)
            v = self.vecs[k]
            self.play(TransformFromCopy(row, v.entries), FadeIn(v.brackets), FadeIn(v.ellipses),
                      run_time=1.0 if first else 0.5)
            self.play(FadeOut(rect), run_time=0.25 if first else 0.15)
            if first:
                self.wait(1.2)
        ids = sorted(set(self.ids))
        e = self.equation("lookup", "x = W_E[id] (the rows shown)", shown=t.embed[:self.n],
                          W=t.W_E(ids), rows=[ids.index(i) for i in self.ids])
        for k, i in enumerate(self.ids):          # the drawn row of W_E and its copy
            e.bind_entries(self.W.row(self.W.row_of(i)), "W", ids.index(i))
            e.bind_entries(self.vecs[k].row(0), "shown", k)
            e.bind_cells([self.W.row(self.W.row_of(i))], self.vecs[k].row(0))
        if len(self.ids) < 2:
            self.show_caption(self.caption_text("lookup_all"))
        self.wait(2.0)

    @beat(needs=("tag", "vecs"))
    def beat_position(self) -> None:
        gone = [FadeOut(self.matrix)] if self.has("matrix") else []
        x0 = -config.frame_width / 2 + 0.5
        idw = max(n.width for n in self.id_texts)
        bw = max(b.width for b in self.boxes.boxes)
        moves = []
        for b, n, v in zip(self.boxes.boxes, self.id_texts, self.vecs):
            moves += [b.animate.align_to([x0, 0, 0], LEFT),
                      n.animate.move_to([x0 + bw + 0.15 + n.width / 2, n.get_y(), 0]),
                      v.animate.align_to([x0 + bw + idw + 0.5, 0, 0], LEFT)]
        self.play(*gone, *moves, run_time=0.8)
        if self.learned:
            self._learned_positions()
        else:
            self._rope()

    def _learned_positions(self) -> None:
        t = self.trace
        self.show_caption(self.caption_text("pos_learned", model=t.info["name"],
                                            n_ctx=int(t.info["n_ctx"]), d_model=self.d_model))
        pos_vecs, signs, labels = [], VGroup(), VGroup()
        for k in range(self.n):
            e = self.vecs[k]
            pl = num_text("+", THEME.text_size, THEME.text).next_to(e, RIGHT, buff=0.25)
            p = self._vec(t.pos_embed[k]).next_to(pl, RIGHT, buff=0.25)
            lab = num_text(f"W_pos[{k}]", MIN_SIZE, THEME.dim).next_to(p, RIGHT, buff=0.2)
            pos_vecs.append(p)
            signs.add(pl)
            labels.add(lab)
        self.play(*[FadeIn(p) for p in pos_vecs], FadeIn(signs), FadeIn(labels), run_time=1.0)
        self.wait(2.0)
        sums = []
        for k in range(self.n):
            x = self._vec(self.x0[k]).move_to(self.vecs[k], aligned_edge=LEFT)
            sums.append(x)
        # the sums drawn add up at the shown precision, or the caption says they are rounded
        a, b = t.embed[:self.n, :self.dims].ravel(), t.pos_embed[:self.n, :self.dims].ravel()
        exact = sum_digits(np.stack([a, b]), self.x0[:, :self.dims].ravel(), self.digits,
                           self.digits) is not None
        self.pos_relation = "=" if exact else "≈"
        self.show_caption(self.caption_text("pos_sum") + ("" if exact else self.caption_text("rounded")))
        # the two rows leave, then their sum comes in the token row's place (digits never
        # morph into other digits, never two rows half-faded over each other)
        self.play(*[FadeOut(v) for v in self.vecs], *[FadeOut(p) for p in pos_vecs],
                  FadeOut(signs), FadeOut(labels), run_time=0.5)
        self.play(*[FadeIn(x) for x in sums], run_time=0.7)
        e = self.equation("add", "token row + position row = block 0's input",
                          shown=self.x0, a=t.embed[:self.n], b=t.pos_embed[:self.n])
        for k in range(self.n):
            e.bind_entries(self.vecs[k].row(0), "a", k)
            e.bind_entries(pos_vecs[k].row(0), "b", k)
            e.bind_entries(sums[k].row(0), "shown", k)
            e.bind_cells([self.vecs[k].row(0), pos_vecs[k].row(0)], sums[k].row(0), self.pos_relation)
        self.pos_vecs, self.sums = pos_vecs, sums
        self.wait(2.5)

    def _rope(self) -> None:
        t = self.trace
        diff = float(np.abs(self.x0 - t.embed[:self.n]).max())
        self.show_caption(self.caption_text("pos_rope", model=t.info["name"]))
        self.wait(2.5)
        # block 0's real input, captured by a hook inside the model, beside each looked-up row
        ins = [self._vec(self.x0[k]).next_to(self.vecs[k], RIGHT, buff=1.0) for k in range(self.n)]
        eqs = VGroup(*[num_text("=" if np.array_equal(self.x0[k], t.embed[k]) else "≈",
                                THEME.text_size, THEME.text).move_to(
            (self.vecs[k].get_right() + ins[k].get_left()) / 2) for k in range(self.n)])
        head = num_text("block 0's input (hooked)", MIN_SIZE, THEME.dim).next_to(ins[0], UP, buff=0.25)
        shown = "0 (identical)" if diff == 0 else f"{diff:.1e}"
        eq = num_text(f"largest |block 0's input − looked-up row|, these tokens: {shown}",
                      MIN_SIZE, THEME.dim)
        eq.value = diff
        eq.next_to(VGroup(*ins, *self.vecs), DOWN, buff=0.4).set_x(0)
        self.rope_check = eq
        self.show_caption(self.caption_text("rope_same"))
        self.play(*[TransformFromCopy(v, i) for v, i in zip(self.vecs, ins)], FadeIn(eqs),
                  FadeIn(head), run_time=1.0)
        self.play(FadeIn(eq), run_time=0.5)
        ids = sorted(set(self.ids))
        e = self.equation("lookup", "block 0's input = W_E[id]", shown=self.x0,
                          W=t.W_E(ids), rows=[ids.index(i) for i in self.ids])
        for k, i in enumerate(self.ids):          # the looked-up row, = or ≈ the hooked input
            e.bind_entries(self.vecs[k].row(0), "W", ids.index(i))
            e.bind_entries(ins[k].row(0), "shown", k)
            e.bind_cells([self.vecs[k].row(0)], ins[k].row(0), eqs[k].text)
        self.wait(2.5)
