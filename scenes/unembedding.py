"""Unembedding: the last position's final vector becomes a score for every token.

``manim render scenes/unembedding.py`` renders :class:`UnembeddingScene`:

1. ``beat_residual`` — the residual stream at the last position after the last block
   (``t.resid[-1, -1]``), its first entries.
2. ``beat_norm`` — the final norm as the model computes it (RMSNorm for Llama-family models,
   LayerNorm for GPT-2: read from the model), with the real statistic it divides by, and
   the normed vector (``t.final[-1]``).
3. ``beat_unembed`` — W_U (real shape vocab × d_model, rows = tokens) times the normed
   vector: one logit per token; the rows shown are the model's top predictions, and one
   dot product is spelled out.
4. ``beat_softmax`` — softmax over all the logits: the next-token probabilities.
5. ``beat_tying`` — weight tying read from the model: when W_U *is* W_E (GPT-2, SmolLM2)
   the same rows of both, the same numbers, highlighted; when not, the two differ and the
   screen says so.

Knobs: ``prompt``, ``model``, ``top_k`` (rows / bars), ``n_dims`` (columns shown).
Section ``[unembedding]``.
"""
from __future__ import annotations

from typing import Annotated, ClassVar

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UL, UP, Arrow, Create, FadeIn, FadeOut, GrowArrow,
                   ReplacementTransform, SurroundingRectangle, VGroup, VMobject, Write, config)

from scenes.kit.analysis.output import norm_stats
from scenes.kit.pieces import Bars, TokenBoxes, VectorColumn, WeightMatrix, norm_formula
from scenes.kit.course.spec import Range
from scenes.kit.scene import GPTScene, beat, clear
from scenes.kit.text import num_text, token_label
from scenes.kit.theme import THEME, fmt, mass_text
from tensors import UserError
from tensors.generate import token_strs


class UnembeddingScene(GPTScene):
    config_section = "unembedding"
    beats = ("beat_residual", "beat_norm", "beat_unembed", "beat_softmax", "beat_tying")

    #: Rows of W_U shown (the model's most likely next tokens) and bars.
    top_k: ClassVar[Annotated[int, Range(1, 8)]] = 5
    #: Dimensions (columns of W_U, entries of the vectors) shown.
    n_dims: ClassVar[Annotated[int, Range(2, 8)]] = 6

    captions: ClassVar[dict[str, str]] = {
        "residual": "After all {n_layer} blocks, the vector at the last position (“{tok}”): "
                    "{d:,} numbers, the first {n} shown.",
        "norm_rms": "The final RMSNorm: divide by the root mean square of x ({rms}), "
                    "times a learned gain g.",
        "norm_ln": "The final LayerNorm: subtract the mean ({mean}), divide by the "
                   "standard deviation ({std}), scale by g, add b.",
        "unembed": "The unembedding matrix has one row per token ({vocab:,} × {d:,}). "
                   "Row · vector = that token's score (logit).",
        "dot": "One of the {vocab:,} dot products, in full: all {d:,} terms summed.",
        "softmax": "Softmax over all {vocab:,} logits: the model's probabilities for the next "
                   "token.",
        "tied": "Tied weights: in {model} unembedding and embedding are one matrix. "
                "The row that scores “{tok}” is the row that embeds it.",
        "untied": "Not tied: {model} learned a separate unembedding matrix; "
                  "its row for “{tok}” differs from the embedding row.",
    }

    # ------------------------------------------------------------------ data
    def prepare(self) -> None:
        t = self.trace
        info = t.info
        self.d = info["d_model"]
        self.vocab = info["vocab_size"]
        self.norm = info["norm"]
        self.x = np.asarray(t.resid[-1, -1], dtype=np.float64)          # before the final norm
        self.xn = np.asarray(t.final[-1], dtype=np.float64)             # after it
        self.stats = norm_stats(self.x, self.norm)
        # the logits as the scene computes them: final @ W_U.T over the whole vocabulary
        W_U = t.weights.W_U
        self.logits = W_U @ t.final[-1]
        self.top_ids = [int(i) for i in np.argsort(-self.logits, kind="stable")[:self.top_k]]
        self.top_strs = token_strs(t, self.top_ids)
        self.W_U_block = np.asarray(t.W_U(self.top_ids)[:, :self.n_dims], dtype=np.float64)
        self.W_E_block = np.asarray(t.W_E(self.top_ids)[:, :self.n_dims], dtype=np.float64)
        self.tied = bool(t.weights.tied)
        if self.tied != bool(info["tied_embeddings"]):
            raise UserError("the weights cache disagrees with the model about tied embeddings; "
                            "delete the gpt-scenes weights cache and render again")
        self.probs = t.probs(-1)
        self.gain = np.asarray(t.weights.get("ln_f.w"), dtype=np.float64)

    # ------------------------------------------------------------------ beats
    def _heading(self) -> None:
        title = self.text("Unembedding: last vector → next token", size=34)
        title.to_corner(UL, buff=0.35)
        toks = TokenBoxes(self.trace.tokens, font_size=24, max_width=9.5)
        toks.next_to(title, DOWN, buff=0.3).to_edge(LEFT, buff=0.5)
        mark = SurroundingRectangle(toks.boxes[-1], color=THEME.highlight, buff=0.05)
        self.title, self.toks, self.mark = title, toks, mark

    def _xcol(self) -> VectorColumn:
        xcol = VectorColumn(self.x[:self.n_dims], self.d, label="x", font_size=22, show_len=True)
        return xcol.move_to([-5.0, -0.6, 0])

    def _xncol(self) -> VectorColumn:
        xn = VectorColumn(self.xn[:self.n_dims], self.d, label="norm(x)", font_size=22,
                          show_len=True)
        return xn.move_to([5.0, -0.6, 0])

    def build_toks(self) -> None:
        """Title and the prompt's tokens, the last one marked (as beat_residual shows them)."""
        self._heading()
        self.add(self.title, self.toks, self.mark)

    def build_xcol(self) -> None:
        self.ensure("toks")
        self.xcol = self._xcol()
        self.add(self.xcol)

    def build_xncol(self) -> None:
        self.ensure("toks")
        self.xncol = self._xncol()
        self.add(self.xncol)

    def build_lgcol(self) -> None:
        """The logits column where beat_unembed leaves it."""
        self.ensure("toks")
        *_, self.lgcol = self._unembed_row()
        self.add(self.lgcol)

    @beat(needs=("tag",))
    def beat_residual(self) -> None:
        t = self.trace
        self._heading()
        self.play(FadeIn(self.title), FadeIn(self.toks), run_time=0.5)
        self.play(Create(self.mark), run_time=0.4)
        n = self.n_dims
        xcol = self.xcol = self._xcol()
        self.show_caption(self.caption_text("residual", n_layer=t.info["n_layer"],
                                            tok=token_label(t.tokens[-1]), d=self.d, n=n))
        self.play(FadeIn(xcol, shift=0.2 * DOWN), run_time=0.7)
        self.wait(1.0)

    @beat(needs=("tag", "xcol"))
    def beat_norm(self) -> None:
        formula = norm_formula(self.norm)
        formula.move_to([0.0, -0.45, 0])
        name = self.text(f"final {self.norm}", size=26, color=THEME.highlight)
        name.next_to(formula, UP, buff=0.3)
        if self.norm == "RMSNorm":
            stat = f"√(mean x²) = {fmt(self.stats['rms'], sign=False)}"
            cap = self.caption_text("norm_rms", rms=fmt(self.stats["rms"], sign=False))
        else:
            mean, std = fmt(self.stats["mean"], 3), fmt(self.stats["std"], 3, sign=False)
            stat = f"mean = {mean},  std = {std}"
            cap = self.caption_text("norm_ln", mean=mean, std=std)
        stat_t = num_text(stat, 24, THEME.text).next_to(formula, DOWN, buff=0.35)
        stat_t.values = self.stats
        g = self.gain[:self.n_dims]
        g_t = num_text("g = (" + ",  ".join(fmt(v, sign=False) for v in g) + ",  …)", 22,
                       THEME.dim).next_to(stat_t, DOWN, buff=0.2)
        g_t.values = g
        stat_t = VGroup(stat_t, g_t)
        if self.norm == "LayerNorm":
            b = np.asarray(self.trace.weights.get("ln_f.b"), dtype=np.float64)[:self.n_dims]
            b_t = num_text("b = (" + ",  ".join(fmt(v) for v in b) + ",  …)", 22,
                           THEME.dim).next_to(g_t, DOWN, buff=0.15)
            b_t.values = b
            stat_t.add(b_t)
        xn = self._xncol()
        y = formula.get_y()
        a1 = Arrow([self.xcol.get_right()[0], y, 0], [formula.get_left()[0], y, 0], buff=0.2,
                   color=THEME.dim, stroke_width=3)
        a2 = Arrow([formula.get_right()[0], y, 0], [xn.get_left()[0], y, 0], buff=0.2,
                   color=THEME.dim, stroke_width=3)
        self.xncol = xn
        self.show_caption(cap)
        self.play(GrowArrow(a1), FadeIn(name), Write(formula), run_time=1.0)
        self.play(FadeIn(stat_t), run_time=0.4)
        self.play(GrowArrow(a2), FadeIn(xn, shift=0.2 * RIGHT), run_time=0.7)
        self.wait(1.2)
        self.norm_group = VGroup(formula, name, stat_t, a1, a2, self.xcol)

    def _unembed_row(self) -> tuple[WeightMatrix, VectorColumn, VMobject, VectorColumn]:
        n = self.n_dims
        W = WeightMatrix(self.W_U_block, (self.vocab, self.d),
                         row_labels=[token_label(s) for s in self.top_strs],
                         label="W_U", font_size=20)
        xn = VectorColumn(self.xn[:n], self.d, label="norm(x)", font_size=20)
        eq = num_text("=", 30, THEME.text)
        logit_vals = [float(self.logits[i]) for i in self.top_ids]
        lg = VectorColumn(np.array(logit_vals), self.vocab, label="logits", font_size=20,
                          digits=2)
        row = VGroup(W, xn, eq, lg).arrange(RIGHT, buff=0.35)
        eq.match_y(W.brackets)
        xn.shift((W.entry(0, 0).get_y() - xn.entry(0).get_y()) * UP)
        lg.shift((W.entry(0, 0).get_y() - lg.entry(0).get_y()) * UP)
        row.move_to([0, -0.35, 0])
        if row.width > config.frame_width - 0.6:
            row.scale_to_fit_width(config.frame_width - 0.6)
        return W, xn, eq, lg

    @beat(needs=("tag", "toks", "xncol"))
    def beat_unembed(self) -> None:
        t = self.trace
        self.fade_out_shown(getattr(self, "norm_group", None), run_time=0.4)
        W, xn, eq, lg = self._unembed_row()
        self.W, self.lgcol = W, lg
        self.show_caption(self.caption_text("unembed", vocab=self.vocab, d=self.d))
        self.play(ReplacementTransform(self.xncol, xn), FadeIn(W), run_time=0.9)
        self.play(FadeIn(eq), FadeIn(lg, shift=0.2 * RIGHT), run_time=0.7)
        # one dot product, spelled out: row of the top token · norm(x)
        hr = W.highlight_row(0)
        he = SurroundingRectangle(lg.entry(0), color=THEME.highlight, buff=0.05)
        i0 = self.top_ids[0]
        full = float(np.dot(np.asarray(t.W_U([i0])[0], dtype=np.float64), self.xn))
        terms = "  +  ".join(f"({fmt(a)})({fmt(b)})" for a, b in
                             zip(self.W_U_block[0, :3], self.xn[:3]))
        dot = num_text(f"row {token_label(self.top_strs[0])} · norm(x) = {terms}  + … "
                       f"({self.d:,} terms)  =  {fmt(full)}", 22, THEME.highlight)
        dot.value = full
        if dot.width > config.frame_width - 0.8:
            dot.scale_to_fit_width(config.frame_width - 0.8)
        dot.next_to(self.toks, DOWN, buff=0.3).to_edge(LEFT, buff=0.5)
        self.dot_text = dot
        self.play(Create(hr), Create(he), run_time=0.5)
        self.show_caption(self.caption_text("dot", vocab=self.vocab, d=self.d))
        self.play(FadeIn(dot, shift=0.1 * DOWN), run_time=0.6)
        self.wait(1.5)
        self.unembed_group = VGroup(W, xn, eq, hr, he, dot)

    @beat(needs=("tag", "lgcol"))
    def beat_softmax(self) -> None:
        p = [float(self.probs[i]) for i in self.top_ids]
        group = getattr(self, "unembed_group", None)
        gone = [FadeOut(group)] if group is not None and self.is_shown(group) else []
        self.play(*gone, self.lgcol.animate.move_to([-3.2, -0.4, 0]), run_time=0.7)
        step = self.lgcol.entries[0].get_y() - self.lgcol.entries[1].get_y() if self.top_k > 1 else 0.4
        bars = Bars(self.top_strs, p, max_bar_width=3.2, bar_height=min(0.3, step * 0.7),
                    row_buff=max(step - min(0.3, step * 0.7), 0.02), font_size=22, highlight=0)
        labels = VGroup(*[num_text(token_label(s), 22, THEME.text) for s in self.top_strs])
        for lab, e in zip(labels, self.lgcol.entries):
            lab.next_to(self.lgcol.brackets, LEFT, buff=0.25).match_y(e)
        bars.shift(self.lgcol.get_right() + 2.2 * RIGHT - bars.bars[0].get_left())
        bars.shift((self.lgcol.entries[0].get_y() - bars.bars[0].get_y()) * UP)
        arrow = Arrow(self.lgcol.get_right() + 0.1 * RIGHT, bars.get_left() + 0.1 * LEFT,
                      buff=0.1, color=THEME.dim, stroke_width=3)
        sm = num_text("softmax", 22, THEME.dim).next_to(arrow, UP, buff=0.08)
        rest = 1.0 - float(np.sum(p))
        rest_t = num_text(f"all other {self.vocab - self.top_k:,} tokens together: "
                          f"{mass_text(rest)}", 22, THEME.dim)
        rest_t.next_to(bars, DOWN, buff=0.45).align_to(labels, LEFT)
        self.bars = bars
        self.show_caption(self.caption_text("softmax", vocab=self.vocab))
        self.play(FadeIn(labels), GrowArrow(arrow), FadeIn(sm), run_time=0.6)
        self.play(FadeIn(bars, shift=0.2 * RIGHT), FadeIn(rest_t), run_time=0.8)
        self.wait(1.5)

    @beat(needs=("tag", "toks"))
    def beat_tying(self) -> None:
        clear(self, self.title, self.tag, self.toks, self.mark, getattr(self, "_caption", None))
        labels = [token_label(s) for s in self.top_strs]
        WE = WeightMatrix(self.W_E_block, (self.vocab, self.d), row_labels=labels,
                          label="W_E  (token → vector)", font_size=19)
        WU = WeightMatrix(self.W_U_block, (self.vocab, self.d), row_labels=labels,
                          label="W_U  (vector → score)", font_size=19)
        pair = VGroup(WE, WU).arrange(RIGHT, buff=1.3).move_to([0, -0.5, 0])
        if pair.width > config.frame_width - 0.6:
            pair.scale_to_fit_width(config.frame_width - 0.6)
        self.WE, self.WU = WE, WU
        rel = num_text("=" if self.tied else "≠", 40, THEME.highlight if self.tied else THEME.negative)
        rel.move_to((WE.brackets.get_right() + WU.row_labels.get_left()) / 2)
        rel.relation = "=" if self.tied else "≠"
        self.play(FadeIn(WE), FadeIn(WU), run_time=0.8)
        tok = token_label(self.top_strs[0])
        if self.tied:
            cap = self.caption_text("tied", model=self.trace.info["name"], tok=tok)
            boxes = [WE.highlight_row(0), WU.highlight_row(0)]
            self.show_caption(cap)
            self.play(*[Create(b) for b in boxes], FadeIn(rel), run_time=0.7)
            # the very same numbers: flash them in both matrices together
            self.play(*[e.animate.set_color(THEME.highlight) for e in
                        [*WE.row(0), *WU.row(0)]], run_time=0.6)
        else:
            cap = self.caption_text("untied", model=self.trace.info["name"], tok=tok)
            boxes = [WE.highlight_row(0), WU.highlight_row(0, color=THEME.negative)]
            self.show_caption(cap)
            self.play(*[Create(b) for b in boxes], FadeIn(rel), run_time=0.7)
        self.tie_relation, self.tie_caption = rel, cap
        self.wait(2.0)
