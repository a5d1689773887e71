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
from manim import (DOWN, LEFT, RIGHT, UP, Arrow, Create, FadeIn, FadeOut, GrowArrow,
                   ReplacementTransform, SurroundingRectangle, TransformFromCopy, VGroup,
                   VMobject, Write)

from scenes.kit.analysis.output import norm_stats
from scenes.kit.pieces import Bars, TokenBoxes, VectorColumn, WeightMatrix, norm_formula
from scenes.kit.pieces.product import fly_into
from scenes.kit.course.spec import Range
from scenes.kit.scene import GPTScene, beat
from scenes.kit.text import (displayable, flat_text, font_size_of, markup, num_text,
                             token_label)
from scenes.kit.theme import THEME, fmt
from scenes.kit.transitions import in_flight
from tensors import UserError
from tensors.generate import distribution, token_strs

FS = 20.0          # matrix, logits and bar text


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
        "unembed": "ℓ = x̂·W_U: W_U ({d:,} × {vocab:,}) has one column per token, drawn "
                   "here as rows (W_Uᵀ). x̂ · a token's column = its score, the logit ℓ.",
        "dot": "One of the {vocab:,} dot products, term by term: the first {n} of its {d:,} "
               "terms, then the sum of all of them.",
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
        # the logits as the scene computes them: ℓ = x̂·W_U (glossary), i.e. final @ W.T, over the
        # whole vocabulary (W_U [vocab, d_model], rows = tokens: tensors/weights.py)
        W_U = t.weights.W_U
        self.logits = np.asarray(W_U @ t.final[-1], dtype=np.float64)
        self.top_ids = [int(i) for i in np.argsort(-self.logits, kind="stable")[:self.top_k]]
        self.top_strs = token_strs(t, self.top_ids)
        self.others = np.ones(self.vocab, dtype=bool)
        self.others[self.top_ids] = False
        self.W_U_block = np.asarray(t.W_U(self.top_ids)[:, :self.n_dims], dtype=np.float64)
        self.W_E_block = np.asarray(t.W_E(self.top_ids)[:, :self.n_dims], dtype=np.float64)
        self.tied = bool(t.weights.tied)
        if self.tied != bool(info["tied_embeddings"]):
            raise UserError("the weights cache disagrees with the model about tied embeddings; "
                            "delete the gpt-scenes weights cache and render again")
        self.probs = distribution(self.logits)        # softmax of the logits shown
        self.gain = np.asarray(t.weights.get("ln_f.w"), dtype=np.float64)
        self.bias = (np.asarray(t.weights.get("ln_f.b"), dtype=np.float64)
                     if info["final_norm"]["bias"] else None)
        self.eps = float(info["final_norm"]["eps"])

    # ------------------------------------------------------------------ layout
    def _heading(self) -> None:
        toks = TokenBoxes(self.trace.tokens, font_size=24, max_width=9.5, max_rows=1,
                          keep="end")
        toks.to_corner(np.array([-1, 1, 0]), buff=0.4).shift(0.35 * DOWN)
        mark = SurroundingRectangle(toks.boxes[-1], color=THEME.highlight, buff=0.05)
        self.toks, self.mark = toks, mark

    def _xcol(self) -> VectorColumn:
        xcol = VectorColumn(self.x[:self.n_dims], self.d, label="x", font_size=22, show_len=True)
        return xcol.move_to([-5.4, -0.3, 0])

    def _xncol(self) -> VectorColumn:
        xn = VectorColumn(self.xn[:self.n_dims], self.d, label="x̂", font_size=22,
                          show_len=True)
        return xn.move_to([5.2, -0.3, 0])

    def build_toks(self) -> None:
        """The prompt's tokens, the last one marked (as beat_residual shows them)."""
        self._heading()
        self.add(self.toks, self.mark)

    def build_xcol(self) -> None:
        self.ensure("toks")
        self.xcol = self._xcol()
        self.add(self.xcol)

    def build_xncol(self) -> None:
        self.ensure("toks")
        self.xncol = self._xncol()
        self.record_norm()
        self.add(self.xncol)

    def build_lgcol(self) -> None:
        """The logits column where beat_unembed leaves it."""
        self.ensure("toks")
        self.xncol = getattr(self, "xncol", None) or self._xncol()
        W, eq, lg = self._unembed_row(self.xncol.copy())
        self.lgcol = lg
        self.add(lg)

    def record_norm(self) -> None:
        if self.norm == "RMSNorm":
            self.equation("rmsnorm", "x̂ = x ÷ rms(x) ⊙ g", shown=self.xn, x=self.x,
                          g=self.gain, eps=self.eps)
        else:
            self.equation("layernorm", "x̂ = (x − μ) ÷ σ ⊙ g + b", shown=self.xn,
                          x=self.x, g=self.gain, b=self.bias, eps=self.eps)

    # ------------------------------------------------------------------ beats
    @beat(needs=("tag",))
    def beat_residual(self) -> None:
        t = self.trace
        self._heading()
        n = self.n_dims
        xcol = self.xcol = self._xcol()
        self.show_caption(self.caption_text("residual", n_layer=t.info["n_layer"],
                                            tok=token_label(t.tokens[-1]), d=self.d, n=n))
        self.play(FadeIn(self.toks), run_time=0.5)
        self.play(Create(self.mark), run_time=0.4)
        # the token's box morphs into its vector: a copy in flight, not read until it lands
        self.play(ReplacementTransform(in_flight(self.toks.boxes[-1].copy()), xcol), run_time=0.8)
        self.hold()

    @beat(needs=("tag", "xcol"))
    def beat_norm(self) -> None:
        formula = norm_formula(self.norm)
        formula.move_to([0.0, 0.2, 0])
        name = self.text(f"final {self.norm}", size=26, color=THEME.highlight)
        name.next_to(formula, UP, buff=0.3)
        # the glossary's rms(x) and σ include ε (scenes.kit.glossary)
        if self.norm == "RMSNorm":
            rms = float(np.sqrt(self.stats["rms"] ** 2 + self.eps))
            stat = f"rms(x) = {fmt(rms, sign=False)}"
            cap = self.caption_text("norm_rms", rms=fmt(rms, sign=False))
        else:
            sigma = float(np.sqrt(self.stats["std"] ** 2 + self.eps))
            mean, std = fmt(self.stats["mean"], 3), fmt(sigma, 3, sign=False)
            stat = f"μ = {mean},  σ = {std}"
            cap = self.caption_text("norm_ln", mean=mean, std=std)
        stat_t = num_text(stat, 24, THEME.text).next_to(formula, DOWN, buff=0.35)
        stat_t.values = self.stats
        g = self.gain[:self.n_dims]
        g_t = num_text("g = (" + ",  ".join(fmt(v, sign=False) for v in g) + ",  …)", 22,
                       THEME.dim).next_to(stat_t, DOWN, buff=0.2)
        g_t.values = g
        stat_t = VGroup(stat_t, g_t)
        if self.bias is not None:
            b = self.bias[:self.n_dims]
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
        self.record_norm()
        self.show_caption(cap)
        self.play(GrowArrow(a1), FadeIn(name), Write(formula), run_time=1.0)
        self.play(FadeIn(stat_t), run_time=0.4)
        # each entry of x flies to its place in x̂ (fading as it lands) while x̂'s entry
        # fades in: no old digits morphing over the new ones
        fly_into(self, list(xn.entries), [[e] for e in self.xcol.entries], run_time=0.9,
                 each=0.6, extra=[GrowArrow(a2), FadeIn(xn.brackets), FadeIn(xn.label),
                                  FadeIn(xn.len_text), FadeIn(xn.ellipses)])
        self.remove(*[m for m in self.mobjects if m is not xn and m in xn.get_family()])
        self.add(xn)
        self.hold()
        self.norm_group = VGroup(formula, name, stat_t, a1, a2, self.xcol)

    def _unembed_row(self, xn: VectorColumn) -> tuple[WeightMatrix, VMobject, VectorColumn]:
        """W_U's shown block, "=" and the logits column placed around ``xn`` (moved, not
        redrawn); logits entries on the rows of W_U they come from."""
        W = WeightMatrix(self.W_U_block, (self.vocab, self.d),
                         row_labels=[token_label(displayable(s)) for s in self.top_strs],
                         label="W_Uᵀ", font_size=FS)
        _transposed_label(W, "W<sub>U</sub>ᵀ")
        eq = num_text("=", 30, THEME.text)
        logit_vals = [float(self.logits[i]) for i in self.top_ids]
        lg = VectorColumn(np.array(logit_vals), self.vocab, label="ℓ", font_size=FS,
                          digits=2)
        slot = xn.copy()
        row = VGroup(W, slot, eq, lg).arrange(RIGHT, buff=0.45)
        row.move_to([0, -0.35, 0])
        eq.match_y(W.brackets)
        lg.shift((W.entry(0, 0).get_y() - lg.entry(0).get_y()) * UP)
        slot.match_y(W.brackets)
        xn.target_spot = slot.get_center()
        return W, eq, lg

    @beat(needs=("tag", "toks", "xncol"))
    def beat_unembed(self) -> None:
        t = self.trace
        xn = self.xncol
        W, eq, lg = self._unembed_row(xn)
        self.W, self.lgcol = W, lg
        group = getattr(self, "norm_group", None)
        gone = [FadeOut(group)] if group is not None and self.is_shown(group) else []
        self.show_caption(self.caption_text("unembed", vocab=self.vocab, d=self.d))
        # x̂ itself moves next to W_Uᵀ (the same mobject: its label stays whole)
        # the norm's working leaves before W_Uᵀ arrives where it was (no numbers cross-fading)
        if gone:
            self.play(*gone, run_time=0.4)
        self.play(xn.animate.move_to(xn.target_spot), FadeIn(W, shift=0.3 * RIGHT), run_time=0.7)
        self.play(FadeIn(eq), FadeIn(lg.brackets), FadeIn(lg.label), FadeIn(lg.len_text or VGroup()),
                  run_time=0.5)
        self.hold(minimum=0.3)
        # one token's column of W_U (a row of W_Uᵀ) · x̂, term by term: a highlight steps along the row of the top token
        i0 = self.top_ids[0]
        row_full = np.asarray(t.W_U([i0])[0], dtype=np.float64)
        full = float(np.dot(row_full, self.xn))
        self.show_caption(self.caption_text("dot", vocab=self.vocab, d=self.d, n=self.n_dims))
        hr = W.highlight_row(0)
        hw = SurroundingRectangle(W.entry(0, 0), color=THEME.highlight, buff=0.04)
        hx = SurroundingRectangle(xn.entry(0), color=THEME.highlight, buff=0.04)
        head = flat_text(markup(f"ℓ({token_label(displayable(self.top_strs[0]))}) = x̂ · its "
                                "column of W_U:"), FS, THEME.highlight, markup=True)
        head.next_to(self.toks, DOWN, buff=0.35).to_edge(LEFT, buff=0.5)
        terms = self.W_U_block[0] * self.xn[:self.n_dims]
        partial = np.cumsum(terms)
        # each running sum drawn from its ledger entry (logits: two decimals, as logit_str)
        e = self.equation("sum", "sum of 1 term", shown=partial[0], terms=terms[:1])
        run = e.bind(num_text(e.say("sum of 1 term = {shown:.2f}"), FS, THEME.text))
        run.next_to(head, RIGHT, buff=0.3)
        self.play(Create(hr), Create(hw), Create(hx), FadeIn(head), FadeIn(run), run_time=0.5)
        for j in range(1, self.n_dims):
            e = self.equation("sum", f"sum of {j + 1} terms", shown=partial[j], terms=terms[:j + 1])
            new = e.bind(num_text(e.say("sum of {n} terms = {shown:.2f}", n=j + 1), FS, THEME.text))
            new.move_to(run, aligned_edge=LEFT)
            self.play(hw.animate.move_to(W.entry(0, j)), hx.animate.move_to(xn.entry(j)),
                      run_time=0.35)
            self.remove(run)        # the sum counts on in place, like a counter (no cross-fade)
            self.add(new)
            run = new
        more = self.d - self.n_dims
        e = self.equation("dot", "ℓ_i = x̂ · W_U[:, i]", shown=full, a=row_full, b=self.xn)
        rest = e.bind(num_text(e.say("+ {more:,} more terms = {shown:.2f}", more=more), FS,
                               THEME.highlight))
        rest.next_to(run, RIGHT, buff=0.3)
        rest.value = full
        he = SurroundingRectangle(lg.entry(0), color=THEME.highlight, buff=0.05)
        self.play(FadeIn(rest), FadeOut(hw), FadeOut(hx), run_time=0.5)
        self.play(TransformFromCopy(rest, lg.entry(0)), Create(he), run_time=0.6)
        # the other rows: the same product, all at once
        self.play(FadeIn(VGroup(*lg.entries[1:]), lag_ratio=0.2), *(
            [FadeIn(lg.ellipses)] if lg.truncated_rows else []),
            run_time=0.6)
        self.remove(*[m for m in self.mobjects if m is not lg and m in lg.get_family()])
        self.add(lg)
        for k, i in enumerate(self.top_ids[1:], 1):
            self.equation("dot", "ℓ_i = x̂ · W_U[:, i]", shown=float(self.logits[i]),
                          a=np.asarray(t.W_U([i])[0], dtype=np.float64), b=self.xn)
        self.dot_text = rest
        self.hold()
        self.unembed_group = VGroup(W, xn, eq, hr, he, head, run, rest)

    @beat(needs=("tag", "lgcol"))
    def beat_softmax(self) -> None:
        p = [float(self.probs[i]) for i in self.top_ids]
        group = getattr(self, "unembed_group", None)
        gone = [FadeOut(group)] if group is not None and self.is_shown(group) else []
        self.play(*gone, self.lgcol.animate.move_to([-3.0, -0.3, 0]), run_time=0.7)
        step = self.lgcol.entries[0].get_y() - self.lgcol.entries[1].get_y() if self.top_k > 1 else 0.4
        bh = min(0.3, step * 0.7)
        bars = Bars(self.top_strs, p, max_bar_width=3.2, bar_height=bh,
                    row_buff=max(step - bh, 0.02), font_size=FS / 0.8)
        labels = VGroup(*[num_text(token_label(displayable(s)), FS, THEME.text)
                          for s in self.top_strs])
        for lab, e in zip(labels, self.lgcol.entries):
            lab.next_to(self.lgcol.brackets, LEFT, buff=0.25).match_y(e)
        bars.shift(self.lgcol.get_right() + 2.2 * RIGHT - bars.bars[0].get_left())
        bars.shift((self.lgcol.entries[0].get_y() - bars.bars[0].get_y()) * UP)
        y = self.lgcol.brackets.get_y()
        arrow = Arrow([self.lgcol.get_right()[0] + 0.1, y, 0],
                      [bars.bars[0].get_left()[0] - 0.1, y, 0],
                      buff=0.1, color=THEME.dim, stroke_width=3)
        sm = num_text("softmax", 22, THEME.dim).next_to(arrow, UP, buff=0.08)
        rest = float(self.probs[self.others].sum())
        rest_bar = Bars(["all other tokens"], [rest], max_bar_width=3.2, bar_height=bh,
                        font_size=FS / 0.8, color=THEME.dim)
        rest_bar.shift(bars.bars[0].get_left() - rest_bar.bars[0].get_left())
        rest_bar.shift((self.lgcol.get_bottom()[1] - 0.3 - rest_bar.bars[0].get_y()) * UP)
        rest_lab = num_text(f"all other {self.vocab - self.top_k:,}", FS, THEME.dim)
        rest_lab.match_y(rest_bar.bars[0]).align_to(labels, RIGHT)
        self.bars, self.rest_bar = bars, rest_bar
        self.equation("softmax", "p = softmax(ℓ)", shown=self.probs, z=self.logits)
        self.equation("sum", "all other tokens = Σ p_j (j not shown)", shown=rest,
                      terms=self.probs[self.others])
        self.show_caption(self.caption_text("softmax", vocab=self.vocab))
        self.play(FadeIn(labels), GrowArrow(arrow), FadeIn(sm), run_time=0.6)
        targets = [b.width for b in bars.bars]
        for b in bars.bars:
            b.stretch_to_fit_width(1e-3, about_edge=LEFT)
        self.play(*[b.animate.stretch_to_fit_width(w, about_edge=LEFT)
                    for b, w in zip(bars.bars, targets)], FadeIn(bars.pct_texts), run_time=0.8)
        self.play(FadeIn(rest_bar), FadeIn(rest_lab), run_time=0.4)
        self.hold()

    @beat(needs=("tag", "toks"))
    def beat_tying(self) -> None:
        keep = [self.tag, self.toks, self.mark, getattr(self, "_caption", None)]
        gone = [m for m in self.mobjects if m not in keep]
        labels = [token_label(displayable(s)) for s in self.top_strs]
        c = min(self.n_dims, 4)            # two matrices side by side: 4 columns each
        WE = WeightMatrix(self.W_E_block[:, :c], (self.vocab, self.d), row_labels=labels,
                          label="W_E  (token → vector)", font_size=FS)
        WU = WeightMatrix(self.W_U_block[:, :c], (self.vocab, self.d), row_labels=labels,
                          label="W_Uᵀ  (vector → score)", font_size=FS)
        _transposed_label(WU, "W<sub>U</sub>ᵀ<sub>  (vector → score)</sub>")
        VGroup(WE, WU).arrange(RIGHT, buff=1.2).move_to([0, -0.4, 0])
        self.WE, self.WU = WE, WU
        rel = num_text("=" if self.tied else "≠", 40, THEME.highlight if self.tied else THEME.negative)
        rel.move_to((WE.brackets.get_right() + WU.row_labels.get_left()) / 2)
        rel.relation = "=" if self.tied else "≠"
        tok = token_label(displayable(self.top_strs[0]))
        tied = self.tied
        cap = self.caption_text("tied" if tied else "untied", model=self.trace.info["name"],
                                tok=tok)
        self.show_caption(cap)
        # the old leaves before the matrices arrive where it was (no cross-fade of numbers)
        if gone:
            self.play(*[FadeOut(m) for m in gone], run_time=0.4)
        self.play(FadeIn(WE), FadeIn(WU), run_time=0.5)
        boxes = [WE.highlight_row(0), WU.highlight_row(0, color=None if tied else THEME.negative)]
        self.play(*[Create(b) for b in boxes], FadeIn(rel), run_time=0.7)
        if tied:  # the very same numbers: flash them in both matrices together
            self.play(*[e.animate.set_color(THEME.highlight) for e in
                        [*WE.row(0), *WU.row(0)]], run_time=0.6)
        self.tie_relation, self.tie_caption = rel, cap
        self.hold()


def _transposed_label(W: WeightMatrix, label_markup: str) -> None:
    """``W_Uᵀ`` in a matrix's label with a real subscript U and the ᵀ after it (label_text
    would put ᵀ inside the subscript). ``label_markup`` is Pango markup."""
    old = W.label
    new = flat_text(label_markup, font_size_of(old) or FS * 1.3, old.get_fill_color(),
                    markup=True)
    new.text = label_markup
    new.move_to(old)
    W.remove(old)
    W.add(new)
    W.label = new
