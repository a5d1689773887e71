"""One attention head, step by step, with every number from a real forward pass.

    manim render scenes/attention.py                 # the bundled model, default prompt
    manim render -qh scenes/attention.py             # 1080p60

Subclass to change the knobs (see :class:`AttentionScene`)::

    from scenes.attention import AttentionScene

    class MyAttention(AttentionScene):
        prompt = "the quick brown fox jumps over the lazy dog"
        layer, head = 3, 1
        beats = [b for b in AttentionScene.beats if b != "beat_multihead"]

Notation: every vector is a row and every product is ``x @ W`` (as in
:mod:`tensors.weights`): the tokens are the rows of X, X̂, Q, K and of the score grid.
Every equation on screen is recorded in the equation ledger (:mod:`scenes.kit.ledger`).
"""
from __future__ import annotations

import math
from typing import Annotated, ClassVar, Sequence

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UL, UP, Create, FadeIn, FadeOut, FadeTransform, Group,
                   LaggedStart, ManimColor, Mobject, ReplacementTransform, SurroundingRectangle,
                   Transform, TransformFromCopy, UpdateFromAlphaFunc, VGroup, VMobject, config)

from scenes.kit.analysis.attention import head_scores, pick_query, select_head, shown_positions
from scenes.kit.pieces import AttentionArcs, AttentionGrid, TokenBoxes, WeightMatrix
from scenes.kit.pieces.matrix import MIN_SIZE
from scenes.kit.course.spec import Range
from scenes.kit.scene import GPTScene, beat
from scenes.kit.text import num_text, number_str, shape_str, token_label
from scenes.kit.theme import THEME, digits_for, pct
from scenes.kit.transitions import Curtains
from tensors import UserError

__all__ = ["AttentionScene"]

#: Font size of the numbers in the row matrices (X, X̂, Q, K, V): digits 23 px at 1080p.
MAT_SIZE = 18.0


# ====================================================================== the scene
class AttentionScene(Curtains, GPTScene):
    """Self-attention in one head of a real model, beat by beat.

    Knobs (class attributes; a course config ``[attention]`` section may set them too):

    - ``prompt``, ``model``, ``device`` — what to run (see :class:`scenes.kit.scene.GPTScene`).
    - ``layer``, ``head`` — None = chosen by the rule below; negative counts from the end.
    - ``search_layers`` — layers the rule looks in (None = all).
    - ``query`` — the attending position for the value and arc beats (None = rule below).
    - ``max_columns`` — at most this many tokens get rows in X, X̂, Q, K (the last ones).
    - ``max_numbers`` — grids up to this many tokens show numbers in cells (when they fit at
      the legibility floor); larger ones are coloured cells, beyond
      :data:`scenes.kit.pieces.IMAGE_CELLS` cells one image.
    - ``max_arc_tokens`` — the arc beat shows at most this many (the last) tokens.
    - ``entries`` — how many leading entries of each vector are shown.
    - ``pause`` — seconds of reading pause after each step (the video's pace).

    **Default head (the rule).** For every head, the *long-range content mass*
    (:func:`scenes.kit.analysis.attention.head_scores`): the attention each query position
    q ≥ 3 gives to keys that are neither the first token (the "attention sink"), nor itself,
    nor the previous token, averaged over those positions. The head with the most, over the
    layers searched, is shown. **Attending token** (``pick_query``): the last position,
    unless under half of its attention goes elsewhere than the first token and itself; then
    the position that sends the most elsewhere.
    """

    prompt: ClassVar[str] = "a fluffy blue creature roamed the verdant forest"
    config_section: ClassVar[str] = "attention"
    layer: ClassVar[int | None] = None
    head: ClassVar[int | None] = None
    search_layers: ClassVar[Sequence[int] | None] = None
    query: ClassVar[int | None] = None
    max_columns: ClassVar[Annotated[int, Range(1, 64)]] = 10
    max_numbers: ClassVar[Annotated[int, Range(0, 64)]] = 12
    max_arc_tokens: ClassVar[Annotated[int, Range(1, 64)]] = 16
    entries: ClassVar[Annotated[int, Range(1, 16)]] = 3
    pause: ClassVar[Annotated[float, Range(0, 60)]] = 2.0
    _no_cache = True
    _subscripts = True
    beats: ClassVar[Sequence[str]] = (
        "beat_tokens", "beat_norm", "beat_qk", "beat_dot_products", "beat_mask", "beat_softmax",
        "beat_values", "beat_multihead", "beat_arcs",
    )
    captions: ClassVar[dict[str, str]] = {
        "tokens": "The prompt, cut by {model}'s tokenizer: {n} tokens (␣ = a leading space). "
                  "Positions 0–{last} are inputs.",
        "embed": "{what}: one row of {d_model} numbers per token (first {k} shown){more}",
        "norm_rms": "Layer {layer} first normalises each row: RMSNorm divides x by its root mean "
                    "square and multiplies by {d_model} learned gains g",
        "norm_ln": "Layer {layer} first normalises each row: LayerNorm subtracts the mean μ, divides "
                   "by σ, multiplies by {d_model} gains g and adds {d_model} biases b",
        "qk": "Head {head}: query q = x̂·W_Q{bq} and key k = x̂·W_K{bk}, "
              "{d_head} numbers each (d_head = {d_head}){rope}",
        "rope": "RoPE: each q and k is rotated by angles that grow with its position — these are "
                "the q and k the dot products use",
        "dots": "Every query dotted with every key: q_i · k_j  (row i = query position, column j = key position)",
        "scale": "{scale_text}: dot products of {d_head}-long vectors grow with d_head; scaling "
                 "keeps softmax from saturating",
        "mask": "Causal mask: position i may not look at later positions j > i — those scores become −∞",
        "softmax": "Softmax along each row: weights ≥ 0 that sum to 1 — head {head}'s real attention pattern",
        "values": "Values v = x̂·W_V{bv}. {tok} (position {q}) adds up weight × value over "
                  "all {nk} keys it may see",
        "write": "W_O turns those {d_head} numbers into head {head}'s contribution: {d_model} numbers "
                 "added to the residual stream",
        "update": "The layer's real update: x + the {n_head} heads' contributions{bo}. "
                  "Then the MLP of layer {layer} adds its own change.",
        "multi": "All {n_head} heads of layer {layer}, each its own pattern "
                 "(number: share of attention on earlier words, not the first, itself or the previous one)",
        "arcs": "Head {head} of layer {layer}: what {tok} (position {q}) reads from the earlier tokens",
    }

    # ------------------------------------------------------------------ shared state
    @classmethod
    def model_problem(cls, t, get) -> tuple[str, str] | None:
        """(knob, what is allowed) for the first of ``layer``, ``head``, ``search_layers``,
        ``query`` (values from ``get(name)``) this model or prompt does not have, or None.
        The course check runs it before rendering, ``prepare`` again."""
        info = t.info
        nl, nh, n, name = info["n_layer"], info["n_head"], t.n_pos, info["name"]
        in_range = lambda v, k: v is None or -k <= int(v) < k  # noqa: E731 - negative: from the end
        if not in_range(get("layer"), nl):
            return "layer", f"must be 0 to {nl - 1}: {name} has {nl} layers"
        if not in_range(get("head"), nh):
            return "head", f"must be 0 to {nh - 1}: {name} has {nh} heads per layer"
        if any(not in_range(l, nl) for l in get("search_layers") or ()):
            return "search_layers", f"must be layers 0 to {nl - 1}: {name} has {nl} layers"
        if not in_range(get("query"), n):
            return "query", f"must be a position 0 to {n - 1}: the prompt has {n} tokens"
        return None

    def prepare(self) -> None:
        t = self.trace
        info = t.info
        problem = self.model_problem(t, lambda k: getattr(self, k))
        if problem:
            raise UserError(f"{problem[0]} = {getattr(self, problem[0])!r} — {problem[1]}")
        if self.layer is not None or self.head is not None:
            t.check_layer_head(self.layer, self.head)
        layers = None
        if self.search_layers is not None:
            layers = sorted({int(l) % info["n_layer"] for l in self.search_layers})
            for l in layers:
                t.check_layer_head(l, None)
        pattern = np.asarray(t.pattern)
        auto_l, auto_h, _ = select_head(pattern, layers)
        self.head_score_table = head_scores(pattern)     # [layer, head]
        self.L = (self.layer % info["n_layer"]) if self.layer is not None else auto_l
        if self.head is not None:
            self.H = self.head % info["n_head"]
        else:
            self.H = int(np.argmax(self.head_score_table[self.L])) if self.layer is not None else auto_h
        # what the head-choice note says: what was searched and what the course set
        nl, nh = info["n_layer"], info["n_head"]
        if self.layer is None and self.head is None:
            searched = layers if layers is not None else list(range(nl))
            self.choice = ("rule", len(searched) * nh,
                           "all" if layers is None else ", ".join(map(str, searched)))
        elif self.head is None:
            self.choice = ("layer", nh, str(self.L))
        else:
            self.choice = ("set", 0, "")
        n = t.n_pos
        if self.query is not None:
            self.Q = int(self.query) % n
        else:
            self.Q = pick_query(t.pattern[self.L][self.H])
        self.n = n
        self.cols = shown_positions(n, self.max_columns, self.Q)
        self.d_head, self.d_model = info["d_head"], info["d_model"]
        self.lay = info["layers"][self.L]
        self.scale = float(self.lay["attn_scale"])
        self.shown: dict[str, object] = {}          # name -> what a beat displayed (tests read it)
        L, H = self.L, self.H
        self.x = t.resid[L]                          # what block L receives
        self.xhat = t.attn_in[L]                     # after its first norm: what q, k, v read
        self.x_name = ("token embedding" if L == 0 and t.pos_embed is None else
                       "token + position embedding" if L == 0 else
                       f"residual stream entering layer {L}")
        # q, k before the rotation (RoPE) = x̂ @ W + b, computed here from the real weights
        self.W_Qf, self.W_Kf, self.W_Vf = (t.block(w, L, H) for w in ("W_Q", "W_K", "W_V"))
        self.b_Q, self.b_K, self.b_V = (t.block(b, L, H) for b in ("b_Q", "b_K", "b_V"))
        self.q_lin = self.xhat.astype(np.float64) @ self.W_Qf + self.b_Q
        self.k_lin = self.xhat.astype(np.float64) @ self.W_Kf + self.b_K
        self.rope = info.get("positional") == "rope" and info.get("rope") is not None
        self.has_bias = {b: t.weights.is_real(b) for b in ("b_Q", "b_K", "b_V", "b_O")}

    def make_tag(self) -> VMobject:
        return self.model_tag(f"layer {self.L}", f"head {self.H}")

    # ------------------------------------------------------------------ helpers
    def _note(self, s: str, size: float | None = None, color=None) -> VMobject:
        return self.text(s, size=max(MIN_SIZE, size or THEME.small_size), color=color or THEME.dim)

    def _pause(self, k: float = 1.0) -> None:
        self.wait(float(self.pause) * k)

    def _tok(self, p: int) -> str:
        return f"‘{token_label(self.trace.tokens[p])}’"

    def _row_labels(self, positions: Sequence[int]) -> list[str]:
        return [f"{p}  {token_label(self.trace.tokens[p])}" for p in positions]

    def _rows(self, M: np.ndarray, cols: int, full: tuple[int, int], label: str, color=None,
              positions: Sequence[int] | None = None, labels: bool = True,
              digits: int | None = None) -> WeightMatrix:
        """Rows ``positions`` (default: the shown ones) of M, first ``cols`` entries."""
        pos = list(self.cols if positions is None else positions)
        vals = np.asarray(M)[pos, :cols]
        m = WeightMatrix(vals, full, row_labels=self._row_labels(pos) if labels else None,
                         truncated_rows=False, label=label, font_size=MAT_SIZE,
                         digits=digits if digits is not None else digits_for(float(np.abs(vals).max())))
        if m.label is not None and color is not None:
            m.label.set_fill(color)
        m.positions = pos
        return m

    @staticmethod
    def _wrap(s: str, width: int) -> str:
        """Greedy word wrap at ``width`` characters (notes beside a grid)."""
        import textwrap

        return "\n".join(textwrap.wrap(s, width))

    def _para(self, s: str, width: int = 40, color=None) -> VGroup:
        """A note wrapped at ``width`` characters, lines left-aligned."""
        lines = [self._note(ln, color=color or THEME.text) for ln in self._wrap(s, width).split("\n")]
        return VGroup(*lines).arrange(DOWN, aligned_edge=LEFT, buff=0.12)

    def show_caption(self, s: str, run_time: float = 0.6):
        """The base caption, wrapped onto two lines when long (so it stays large enough)."""
        if len(s) > 88 and "\n" not in s:
            words, best = s.split(" "), None
            for i in range(1, len(words)):
                a, b = " ".join(words[:i]), " ".join(words[i:])
                if best is None or max(len(a), len(b)) < max(len(best[0]), len(best[1])):
                    best = (a, b)
            s = "\n".join(best)
        return super().show_caption(s, run_time=run_time)

    # ------------------------------------------------------------------ silent builders
    def build_xmat(self) -> None:
        """X (rows of the shown tokens) on the left (what beat_tokens ends with)."""
        self.clean_stage()
        self.xmat = self._rows(self.x, self.entries, (self.n, self.d_model), "x")
        self.xmat.to_edge(LEFT, buff=0.4).set_y(0.3)
        self.add(self.xmat)

    def build_xhat_mat(self) -> None:
        """X̂ on the left (what beat_norm ends with)."""
        self.clean_stage()
        self.xhat_mat = self._xhat_matrix()
        self.add(self.xhat_mat)

    def _xhat_matrix(self) -> WeightMatrix:
        m = self._rows(self.xhat, self.entries, (self.n, self.d_model), "x̂")
        return m.to_edge(LEFT, buff=0.4).set_y(0.3)

    def build_qmat(self) -> None:
        """Q and K (what beat_qk ends with)."""
        self.clean_stage()
        self.qmat, self.kmat = self._qk_mats(rotated=True)
        self.add(self.qmat, self.kmat)

    def build_grid(self) -> None:
        """The masked scores grid (what beat_mask ends with), silently."""
        self.clean_stage()
        self.grid = self._grid(self.trace.scores[self.L][self.H], "scores", digits=2)
        self.grid_notes = self._grid_notes(self.grid)
        self.add(self.grid, self.grid_notes)

    # ------------------------------------------------------------------ 1. tokens and x
    def beat_tokens(self) -> None:
        """1. The tokens (the tokenizer's own pieces) and the rows x that block L reads."""
        t, L = self.trace, self.L
        info = t.info
        self.fresh()
        if not self.has("tag"):
            self.tag = self.make_tag()
        head = self.text(f"{info['name']}: one attention head, step by step",
                         size=THEME.text_size).to_edge(UP, buff=0.9)
        start = max(0, self.n - self.max_arc_tokens)
        full = TokenBoxes(t.tokens[start:], font_size=32, show_positions=True,
                          position_offset=start, max_width=12.5)
        full.move_to([0, 0.4, 0])
        pos_note = self._note("position").next_to(full.positions[0], LEFT, buff=0.15)
        self.reveal(head, self.tag, full, pos_note, run_time=0.8)
        more = f" (the last {self.n - start} of {self.n} shown)" if start else ""
        self.show_caption(self.caption_text("tokens", model=info["name"], n=self.n,
                                            last=self.n - 1) + more)
        self._pause(1.2)
        xmat = self._rows(self.x, self.entries, (self.n, self.d_model), "x")
        xmat.to_edge(LEFT, buff=0.4).set_y(0.3)
        # each shown token's box travels to its row label
        boxes = [full.boxes[p - start] for p in self.cols if p >= start]
        labs = [xmat.row_labels[i] for i, p in enumerate(self.cols) if p >= start]
        self.play(FadeOut(head), FadeOut(pos_note), FadeOut(full.positions),
                  *[FadeTransform(b, l) for b, l in zip(boxes, labs)],
                  *[FadeOut(b) for i, b in enumerate(full.boxes) if i + start not in self.cols],
                  run_time=0.9)
        self.play(FadeIn(VGroup(xmat.body, xmat.brackets, xmat.label, xmat.brace,
                                xmat.shape_text), lag_ratio=0.02), run_time=0.7)
        self.remove(*labs)
        self.add(xmat)
        more = f"; rows for the last {len(self.cols)} of {self.n} tokens" if len(self.cols) < self.n else ""
        if L == 0 and t.pos_embed is None:
            what = "x = each token's row of W_E"
        elif L == 0:
            what = "x = each token's row of W_E + its position's row of W_pos"
        else:
            what = f"x = each token's {self.x_name}"
        extra = []
        ids = [int(t.token_ids[p]) for p in self.cols]
        if L == 0:
            uniq = list(dict.fromkeys(ids))[:4]
            labs = [f"{token_label(t.token_strs([i])[0])}  {i:,}" for i in uniq]
            WE = WeightMatrix(t.W_E(uniq)[:, :self.entries], (t.info["vocab_size"], self.d_model),
                              row_labels=labs, label="W_E rows", font_size=MAT_SIZE,
                              truncated_rows=True)
            WE.next_to(xmat, RIGHT, buff=1.2).align_to(xmat, UP)
            self.shown["W_E"], self.shown["W_E_ids"] = WE, uniq
            extra.append(WE)
            # the equation shown: x (its rows) = W_E[id] (+ W_pos[p])
            if t.pos_embed is None:
                self.equation("lookup", "x = W_E[id]", shown=self.x[self.cols],
                              W=t.W_E(ids), rows=np.arange(len(ids)))
            else:
                self.equation("add", "x = W_E[id] + W_pos[p]", shown=self.x[self.cols],
                              a=t.W_E(ids), b=t.pos_embed[self.cols])
        if extra:
            self.play(FadeIn(*extra), run_time=0.5)
        self.show_caption(self.caption_text("embed", what=what, d_model=self.d_model,
                                            k=self.entries, more=more))
        self.shown["x"] = xmat
        self.xmat = xmat
        self._pause(1.4)
        if extra:
            self.play(*[FadeOut(m) for m in extra], run_time=0.4)

    # ------------------------------------------------------------------ 2. the norm
    @beat(needs=("tag", "xmat"))
    def beat_norm(self) -> None:
        """2. The block's first norm, with its real statistics, gain (and bias), row by row."""
        t, L, Q = self.trace, self.L, self.Q
        facts = self.lay["norm1"]
        ln = facts["type"] == "LayerNorm"
        r = self.cols.index(Q) if Q in self.cols else len(self.cols) - 1
        p = self.cols[r]
        x = self.x[p].astype(np.float64)
        g = t.block("ln1.w", L)
        b = t.block("ln1.b", L)
        e = self.entries
        rect = SurroundingRectangle(VGroup(self.xmat.row(r), self.xmat.row_labels[r]),
                                    color=THEME.highlight, buff=0.05)
        fs = THEME.small_size
        lines = [self.text(f"{facts['type']} of layer {L} (ε = {facts['eps']:.0e})", size=fs)]
        st = t.norm_stats(x, "ln1", L)
        if ln:
            lines.append(self.text("x̂ = (x − μ) ÷ σ × g + b", size=fs * 1.1, color=THEME.highlight))
            lines.append(self.text(f"row {p}: μ = {st['mean']:.4f}    σ = √(var(x) + ε) = "
                                   f"{1 / st['scale']:.4f}", size=fs))
            self.equation("mean", "μ = mean(x)", shown=st["mean"], x=x)
            self.equation("std", "σ = √(var(x) + ε)", shown=1 / st["scale"], x=x, eps=facts["eps"])
        else:
            lines.append(self.text("x̂ = x ÷ rms(x) × g", size=fs * 1.1, color=THEME.highlight))
            lines.append(self.text(f"row {p}: rms(x) = √(mean(x²) + ε) = {1 / st['scale']:.4f}",
                                   size=fs))
            self.equation("rms", "rms(x) = √(mean(x²) + ε)", shown=1 / st["scale"], x=x,
                          eps=facts["eps"])
        gm = WeightMatrix(g[None, :e], (1, self.d_model), label=None, font_size=MAT_SIZE,
                          show_shape=False, truncated_cols=True)
        gl = self.text(f"g (learned, {self.d_model:,})", size=fs, color=THEME.dim)
        glines = [VGroup(gl, gm).arrange(RIGHT, buff=0.2)]
        if ln:
            bm = WeightMatrix(b[None, :e], (1, self.d_model), label=None, font_size=MAT_SIZE,
                              show_shape=False, truncated_cols=True)
            bl = self.text(f"b (learned, {self.d_model:,})", size=fs, color=THEME.dim)
            glines.append(VGroup(bl, bm).arrange(RIGHT, buff=0.2))
        panel = VGroup(*lines, *glines).arrange(DOWN, aligned_edge=LEFT, buff=0.22)
        panel.next_to(self.xmat, RIGHT, buff=0.7).align_to(self.xmat, UP)
        if panel.get_right()[0] > config.frame_width / 2 - 0.3:
            panel.shift((config.frame_width / 2 - 0.3 - panel.get_right()[0]) * RIGHT)
        key = "norm_ln" if ln else "norm_rms"
        self.show_caption(self.caption_text(key, layer=L, d_model=self.d_model))
        self.play(Create(rect), FadeIn(panel, lag_ratio=0.1), run_time=0.9)
        self._pause(1.2)
        # every row becomes its normalised row, in place
        xh = self._xhat_matrix()
        self._fade([self.xmat.entries, self.xmat.label, self.xmat.body[1], self.xmat.brackets,
                    self.xmat.brace, self.xmat.shape_text, self.xmat.row_labels],
                   [xh.entries, xh.label, xh.ellipses, xh.brackets, xh.brace, xh.shape_text,
                    xh.row_labels], run_time=1.0,
                   extra=[rect.animate.become(SurroundingRectangle(
                       VGroup(xh.row(r), xh.row_labels[r]), color=THEME.highlight, buff=0.05))])
        self.settle(self.xmat, xh)
        eq = ("layernorm" if ln else "rmsnorm")
        ops = dict(x=self.x[self.cols], g=g, eps=facts["eps"])
        if ln:
            ops["b"] = b
        self.equation(eq, "x̂ = (x − μ) ÷ σ × g + b" if ln else "x̂ = x ÷ rms(x) × g",
                      shown=self.xhat[self.cols], **ops)
        self.shown.update(xhat=xh, norm_panel=panel)
        self.xhat_mat, self.xmat = xh, None
        self._pause(1.2)
        self.play(FadeOut(panel), FadeOut(rect), run_time=0.4)

    def mobjects_in(self, m) -> list:
        """Top-level mobjects on screen that share part of ``m`` (after transforms)."""
        fam = set(m.get_family())
        return [x for x in self.mobjects if x in fam or any(y in fam for y in x.get_family())]

    def settle(self, *old_new) -> None:
        """After transforms between pieces: only the new pieces stay, each once."""
        *old, new = old_new
        for m in (*old, new):
            self.remove(*self.mobjects_in(m))
        self.add(new)

    # ------------------------------------------------------------------ 3. q and k
    def _qk_mats(self, rotated: bool) -> tuple[WeightMatrix, WeightMatrix]:
        """Q (at the right edge) and K (in the slot right of W), rows aligned with X̂."""
        t, L, H = self.trace, self.L, self.H
        c = min(2, self.d_head)
        qv = np.asarray(t.q[L][H]) if rotated else self.q_lin
        kv = np.asarray(t.k[L][H]) if rotated else self.k_lin
        dq = digits_for(float(max(np.abs(qv[self.cols, :c]).max(), np.abs(self.q_lin[self.cols, :c]).max())))
        dk = digits_for(float(max(np.abs(kv[self.cols, :c]).max(), np.abs(self.k_lin[self.cols, :c]).max())))
        qm = self._rows(qv, c, (self.n, self.d_head), "q", THEME.query, labels=False, digits=dq)
        km = self._rows(kv, c, (self.n, self.d_head), "k", THEME.key, labels=False, digits=dk)
        xh = self._xhat_matrix()
        qm.to_edge(RIGHT, buff=0.3)
        km.next_to(self._w_block(self.W_Kf, "W_K", THEME.key), RIGHT, buff=0.4)
        for m in (qm, km):
            m.shift((xh.brackets.get_top()[1] - m.brackets.get_top()[1]) * UP)
        return qm, km

    def _w_block(self, W: np.ndarray, name: str, color) -> WeightMatrix:
        m = WeightMatrix(W[:self.entries, :1], (self.d_model, self.d_head), label=name,
                         font_size=MAT_SIZE)
        m.label.set_fill(color)
        xh = self._xhat_matrix()
        m.next_to(xh, RIGHT, buff=0.35)
        return m.shift((xh.brackets.get_top()[1] - m.brackets.get_top()[1]) * UP)

    @beat(needs=("tag", "xhat_mat"))
    def beat_qk(self) -> None:
        """3. W_Q and W_K turn each normalised row into a query and a key (one entry worked)."""
        t, L, H = self.trace, self.L, self.H
        info = t.info
        xh = self.xhat_mat
        e = self.entries
        r = self.cols.index(self.Q) if self.Q in self.cols else len(self.cols) - 1
        p = self.cols[r]
        qm, km = self._qk_mats(rotated=False)
        # W_Q's first rows × columns, between X̂ and Q
        WQ = self._w_block(self.W_Qf, "W_Q", THEME.query)
        slot = km.copy()                                    # Q is made here, then moves right
        qm_final = qm.get_center()
        qm.move_to(slot)
        bq = "+ b_Q" if self.has_bias["b_Q"] else ""
        bk = "+ b_K" if self.has_bias["b_K"] else ""
        self.show_caption(self.caption_text("qk", head=H, layer=L, d_head=self.d_head, bq=f" {bq}" if bq else "",
                                            bk=f" {bk}" if bk else "",
                                            rope="; then RoPE" if self.rope else ""))
        self.play(FadeIn(WQ), run_time=0.5)
        # one entry worked: q[p, 0] = Σ_i x̂[p, i] W_Q[i, 0] (+ b_Q[0]), partial sums counting up
        row_rect = SurroundingRectangle(xh.row(r), color=THEME.highlight, buff=0.05)
        col_rect = SurroundingRectangle(WQ.col(0), color=THEME.highlight, buff=0.05)
        xr = self.xhat[p].astype(np.float64)
        w0 = self.W_Qf[:, 0].astype(np.float64)
        partial = np.cumsum(xr[:e] * w0[:e])
        counter = self._note(f"x̂·W_Q column 0, first term: {partial[0]:.4f}", color=THEME.text)
        counter.next_to(xh, DOWN, buff=0.3).align_to(xh, LEFT)
        self.play(Create(row_rect), Create(col_rect), FadeIn(counter), run_time=0.5)
        for i in range(1, e):
            new = self._note(f"x̂·W_Q column 0, first {i + 1} terms: {partial[i]:.4f}",
                             color=THEME.text).move_to(counter, aligned_edge=LEFT)
            self.play(Transform(counter, new), run_time=0.25)
        self.equation("dot", f"first {e} terms of x̂·W_Q[:, 0]", shown=partial[-1],
                      a=xr[:e], b=w0[:e])
        full = float(self.q_lin[p, 0])
        rest = self.d_model - e
        tail = f" + b_Q = {full:.4f}" if bq else f" = {full:.4f}"
        done = self._note(f"… + {rest:,} more terms{tail}", color=THEME.highlight)
        done.next_to(counter, DOWN, buff=0.15).align_to(counter, LEFT)
        self.play(FadeIn(done), run_time=0.4)
        # ledger: the whole product as displayed (every shown row of Q and K)
        self.equation("matmul", "q = x̂·W_Q + b_Q", shown=self.q_lin[self.cols],
                      x=self.xhat[self.cols], W=self.W_Qf, b=self.b_Q)
        self.equation("matmul", "k = x̂·W_K + b_K", shown=self.k_lin[self.cols],
                      x=self.xhat[self.cols], W=self.W_Kf, b=self.b_K)
        # the worked entry lands in Q; every row of X̂ is copied into its row of Q and K
        self.play(FadeOut(VGroup(row_rect, col_rect)), FadeTransform(done, qm.entry(r, 0).copy()),
                  FadeOut(counter), run_time=0.5)
        self.play(LaggedStart(*[TransformFromCopy(xh.row(i), qm.row(i)) for i in range(len(self.cols))],
                              lag_ratio=0.08),
                  FadeIn(VGroup(qm.brackets, qm.label, qm.brace, qm.shape_text, qm.ellipses)),
                  run_time=1.1)
        self.remove(*[m for m in self.mobjects if m not in (self.tag, self._caption, xh, WQ, qm)
                      and m not in qm.get_family()])
        self.add(qm)
        WK = self._w_block(self.W_Kf, "W_K", THEME.key)
        self.play(FadeTransform(WQ, WK), qm.animate.move_to(qm_final), run_time=0.6)
        self.play(LaggedStart(*[TransformFromCopy(xh.row(i), km.row(i)) for i in range(len(self.cols))],
                              lag_ratio=0.08),
                  FadeIn(VGroup(km.brackets, km.label, km.brace, km.shape_text, km.ellipses)),
                  run_time=1.0)
        notes = VGroup()
        if info["n_kv_head"] < info["n_head"]:
            g = info["n_head"] // info["n_kv_head"]
            kv = t.kv_head_of(H)
            notes.add(self._note(f"heads {kv * g}–{kv * g + g - 1} share this W_K (grouped-query attention)"))
        if notes:
            notes.arrange(DOWN, aligned_edge=LEFT).next_to(xh, DOWN, buff=0.3).align_to(xh, LEFT)
            self.play(FadeIn(notes), run_time=0.3)
        self.shown.update(W_Q=WQ, W_K=WK)
        self._pause(1.2)
        if self.rope:
            qr, kr = self._qk_mats(rotated=True)
            self.show_caption(self.caption_text("rope"))
            self._fade([qm.entries, km.entries], [qr.entries, kr.entries], run_time=0.9)
            self.settle(qm, qr)
            self.settle(km, kr)
            qm, km = qr, kr
            rp = info["rope"]
            for name, lin, rot in (("q", self.q_lin, t.q[L][H]), ("k", self.k_lin, t.k[L][H])):
                self.equation("rope", f"{name} rotated by position (RoPE)",
                              shown=np.asarray(rot)[self.cols], x=lin[self.cols], pos=self.cols,
                              theta=rp["theta"], dims=rp["dims"], scaling=rp["attention_scaling"])
            self._pause(1.0)
        self.play(FadeOut(WK), FadeOut(notes), FadeOut(xh), run_time=0.4)
        self.qmat, self.kmat = qm, km
        self.xhat_mat = None
        self.shown.update(q=qm, k=km)

    # ---- the grid beats share one layout
    def _grid(self, M: np.ndarray, mode: str, digits: int | None = None) -> AttentionGrid:
        n = self.n
        labels: list[str | None] = list(self.trace.tokens)
        if n > 24:  # label every k-th position only, with its position
            step = math.ceil(n / 12)
            labels = [s if (i % step == 0 or i == n - 1) and (n - 1 - i >= step or i == n - 1)
                      else None for i, s in enumerate(labels)]
        cs = min(0.56, 4.9 / n)
        g = AttentionGrid(M, labels, labels, mode=mode, cell_size=cs,
                          show_numbers=n <= self.max_numbers, digits=digits,
                          font_size=MIN_SIZE, show_positions=True, label_size=MIN_SIZE)
        g.shift((-0.55 - g.frame.get_center()[0]) * RIGHT)
        if g.frame.height >= 3.0:
            g.shift((-2.55 - g.frame.get_bottom()[1]) * UP)
        else:                                   # a small grid sits higher: room for notes
            g.shift((0.9 - g.frame.get_center()[1]) * UP)
        return g

    def _grid_notes(self, g: AttentionGrid) -> VGroup:
        q = self._note("queries (rows): the position that looks", color=THEME.query)
        if g.frame.height >= q.width:
            q.rotate(math.pi / 2)
            q.next_to(VGroup(g.query_labels, g.query_positions), LEFT, buff=0.2).set_y(g.frame.get_center()[1])
        else:                                   # too short for the note on its side
            q = self._para("queries (rows): the position that looks", 16, THEME.query)
            q.next_to(VGroup(g.query_labels, g.query_positions), LEFT, buff=0.3).align_to(g.frame, UP)
        out = VGroup(q)
        k = self._note("keys (columns): the position looked at", color=THEME.key)
        k.next_to(VGroup(g.key_labels, g.key_positions), UP, buff=0.1)
        if k.get_top()[1] > 3.3:
            k = self._note("keys (columns):\nthe position\nlooked at", color=THEME.key)
            k.next_to(g.frame, RIGHT, buff=0.3).align_to(g.frame, UP)
        out.add(k)
        if not g.show_numbers:
            rule = self._para(f"{self.n} tokens: cells coloured by value; numbers are printed "
                              f"when they fit (here up to {self._max_numbers_fit()} tokens)", 24,
                              THEME.dim)
            if k.get_left()[0] > g.frame.get_right()[0]:      # keys note beside the grid
                rule.next_to(k, DOWN, buff=0.3).align_to(k, LEFT)
            else:
                rule.next_to(g.frame, RIGHT, buff=0.35).align_to(g.frame, UP)
            rule.text = " ".join(m.text for m in rule)
            self.shown["rule"] = rule.text
            out.add(rule)
        return out

    def _max_numbers_fit(self) -> int:
        return min(self.max_numbers, int(4.9 / 0.5))

    def _grid_to(self, g: AttentionGrid, M: np.ndarray, mode: str, digits: int | None,
                 run_time: float = 0.9) -> AttentionGrid:
        """Turn grid g into the grid of M in place: the same cells change colour and their
        numbers cross-fade (no blank frame; one animation for all cells, so it stays cheap).
        Returns the new grid (now on screen)."""
        g2 = self._grid(M, mode, digits)
        flat = (not g.as_image and not g2.as_image and len(g.cells) == len(g2.cells)
                and all(not c.submobjects for c in g.cells) and all(not c.submobjects for c in g2.cells))
        if not flat and (g.as_image or g2.as_image):
            self.play(FadeOut(g.image if g.as_image else g.cells),
                      FadeIn(g2.image if g2.as_image else g2.cells), run_time=run_time)
        elif not flat:
            self._fade([*g.cells, *g.numbers], [*g2.cells, *g2.numbers], run_time=run_time)
        else:
            a = np.array([c.get_fill_rgbas()[0] for c in g.cells])
            b = np.array([c.get_fill_rgbas()[0] for c in g2.cells])

            def recolour(cells: VGroup, alpha: float) -> None:
                for c, rgba in zip(cells, a + (b - a) * alpha):
                    c.set_fill(ManimColor.from_rgb(rgba[:3]), opacity=float(rgba[3]))

            pairs = list(zip(g.numbers, g2.numbers)) if len(g.numbers) == len(g2.numbers) else []
            old = VGroup(*[x for x, y in pairs if x.text != y.text]) if pairs else g.numbers
            new = VGroup(*[y for x, y in pairs if x.text != y.text]) if pairs else g2.numbers
            self._fade(list(old), list(new), run_time=run_time,
                       extra=[UpdateFromAlphaFunc(g.cells, recolour)])
        self.settle(g, g2)
        self.chrome_front()
        return g2

    @staticmethod
    def _alphas(mobs: Sequence) -> list:
        """Each mobject's drawn parts with their fill/stroke colours (to fade by alpha)."""
        return [[(m, m.fill_rgbas.copy(), m.stroke_rgbas.copy()) if isinstance(m, VMobject)
                 else (m, None, None) for m in mob.family_members_with_points()] for mob in mobs]

    @staticmethod
    def _set_alpha(parts: list, t: float) -> None:
        for m, f, st in parts:
            if f is None:                       # an image: its own opacity
                m.set_opacity(t)
                continue
            f2, s2 = f.copy(), st.copy()
            f2[:, 3] *= t
            s2[:, 3] *= t
            m.fill_rgbas, m.stroke_rgbas = f2, s2

    def _fade(self, out: Sequence = (), into: Sequence = (), run_time: float = 0.8,
              each: float = 1.0, extra=()) -> None:
        """Cross-fade in ONE animation (cheap for hundreds of glyphs): ``out`` fades away,
        ``into`` fades in; with ``each`` < 1 the ``into`` items start one after another."""
        po, pi = self._alphas(out), self._alphas(into)
        n = len(pi)
        for p in pi:
            self._set_alpha(p, 0.0)
        self.add(*into)

        def step(_: Mobject, alpha: float) -> None:
            for p in po:
                self._set_alpha(p, 1.0 - alpha)
            for i, p in enumerate(pi):
                start = (1 - each) * i / max(n - 1, 1)
                self._set_alpha(p, min(1.0, max(0.0, (alpha - start) / each)))

        self.play(UpdateFromAlphaFunc(VGroup(), step), *extra, run_time=run_time)
        for p in pi:
            self._set_alpha(p, 1.0)
        self.remove(*out)
        for p in po:
            self._set_alpha(p, 1.0)

    @beat(needs=("tag", "qmat"))
    def beat_dot_products(self) -> None:
        """4. The grid of q·k dot products (built from copies of q and k), then scaled."""
        t, L, H, Q = self.trace, self.L, self.H, self.Q
        q = np.asarray(t.q[L][H], np.float64)
        k = np.asarray(t.k[L][H], np.float64)
        qk = q @ k.T
        g = self._grid(qk, "scores", digits=1)
        notes = self._grid_notes(g)
        qm, km = self.qmat, self.kmat
        # q rows fly to the grid's rows, k rows to its columns; cells appear row by row
        ql, kl = VGroup(g.query_labels, g.query_positions), VGroup(g.key_labels, g.key_positions)
        self._fade((), [ql, kl, g.frame], run_time=1.0, extra=[
            qm.animate.scale(0.35).move_to(ql).set_opacity(0),
            km.animate.scale(0.35).rotate(math.pi / 2).move_to(kl).set_opacity(0)])
        cells = [VGroup(g.cell(i, j), *( [g.numbers[i * self.n + j]] if g.show_numbers else []))
                 for i in range(self.n) for j in range(self.n)] if not g.as_image else [g.image]
        self._fade((), cells, run_time=1.4, each=0.3, extra=[FadeIn(notes)])
        self.settle(qm, km, g)
        self.qmat = self.kmat = None
        self.show_caption(self.caption_text("dots"))
        self.equation("matmul", "q_i · k_j (every cell)", shown=qk, x=q, W=k.T)
        # one cell worked: the query's strongest key
        j = int(np.argmax(np.asarray(t.pattern[L][H][Q])))
        cell_rect = SurroundingRectangle(g.cell(Q, j) if not g.as_image else g.frame,
                                         color=THEME.highlight, buff=0.02)
        worked = self._para(f"q_{Q} · k_{j} = the sum of {self.d_head} products "
                            f"q_{Q}[i] × k_{j}[i] = {qk[Q, j]:.3f}", 26)
        worked.next_to(g.frame, RIGHT, buff=0.35).align_to(g.frame, DOWN)
        self.equation("dot", f"q_{Q} · k_{j}", shown=qk[Q, j], a=q[Q], b=k[j])
        self.play(Create(cell_rect), FadeIn(worked), run_time=0.5)
        self.shown["qk"] = g
        self._pause(1.2)
        # the scale of this layer, read from the model
        inv = 1.0 / self.scale
        if abs(inv - math.sqrt(self.d_head)) < 1e-6 * inv:
            st = f"÷ √{self.d_head}"
            cap = f"Divided by √d_head = √{self.d_head} = {inv:g}"
        else:
            st = f"× {self.scale:.6g}"
            cap = f"Multiplied by layer {L}'s attention scale {self.scale:.6g}"
        formula = self.text(st + (f"   (√{self.d_head} = {inv:g})" if st.startswith("÷") else ""),
                            size=30, color=THEME.highlight)
        beside = [m for m in notes[1:] if m.get_left()[0] > g.frame.get_right()[0]]
        if beside:
            formula.next_to(beside[-1], DOWN, buff=0.4).align_to(beside[-1], LEFT)
        else:
            formula.next_to(g.frame, RIGHT, buff=0.35)
        self.play(FadeIn(formula, shift=0.2 * LEFT), FadeOut(cell_rect), FadeOut(worked), run_time=0.4)
        self.show_caption(self.caption_text("scale", scale_text=cap, d_head=self.d_head, sqrt=inv))
        self.grid = self._grid_to(g, qk * self.scale, "scores", 2)
        self.equation("scale", st, shown=qk * self.scale, a=qk, s=self.scale)
        self.grid_notes, self.formula = notes, formula
        self.shown["scaled"] = self.grid
        self._pause(1.4)

    @beat(needs=("tag", "grid"))
    def beat_mask(self) -> None:
        """5. The causal mask: cells of later keys set to −∞, in place."""
        t, L, H = self.trace, self.L, self.H
        if getattr(self, "formula", None) is not None:
            self.play(FadeOut(self.formula), run_time=0.3)
            self.formula = None
        self.show_caption(self.caption_text("mask"))
        self.grid = self._grid_to(self.grid, t.scores[L][H], "scores", 2)
        self.shown["scores"] = self.grid
        self._pause(1.4)

    @beat(needs=("tag", "grid"))
    def beat_softmax(self) -> None:
        """6. Softmax per query, in place; the attending token's row worked in full."""
        t, L, H, Q = self.trace, self.L, self.H, self.Q
        scores = np.asarray(t.scores[L][H], np.float64)
        pat = np.asarray(t.pattern[L][H])
        self.show_caption(self.caption_text("softmax", head=H))
        g2 = self._grid_to(self.grid, pat, "pattern", 2)
        self.grid = g2
        self.equation("softmax", "softmax along each row", shown=pat, z=scores)
        self.shown["pattern"] = g2
        row = g2.row_rect(Q, THEME.highlight)
        # the worked row: each score, e^(score − max), the sum, and the weight
        keys = list(range(Q + 1))[-8:]
        m = float(np.max(scores[Q, :Q + 1]))
        ex = np.exp(scores[Q, :Q + 1] - m)
        head = self._para(f"row {Q} ({self._tok(Q)}): weight = exp(s − max) ÷ Σ exp(s − max)", 34)
        rows = VGroup()
        for j in keys:
            r = VGroup(num_text(f"{j}", MIN_SIZE, THEME.dim),
                       num_text(number_str(scores[Q, j], 2), MIN_SIZE, THEME.text),
                       num_text(f"{pat[Q, j]:.3f}", MIN_SIZE, THEME.highlight))
            rows.add(r)
        hdr = VGroup(self._note("key"), self._note("score s"), self._note("weight"))
        table = VGroup(hdr, *rows)
        right = [None, 1.9, 3.2]                   # key left-aligned, numbers right-aligned
        for i, r in enumerate(table):
            for c, m in enumerate(r):
                m.set_y(-i * 0.34)
                if c:
                    m.align_to([right[c], 0, 0], RIGHT)
                else:
                    m.align_to([0, 0, 0], LEFT)
        lines = [head]
        if len(keys) < Q + 1:
            lines.append(self._para(f"keys {keys[0]}–{Q} of 0–{Q} listed; the sum is over all {Q + 1}",
                                    40, THEME.dim))
        lines.append(table)
        lines.append(self._para(f"Σ exp(s − max) = {ex.sum():.4f}; the weights sum to "
                                f"{pat[Q, :Q + 1].sum():.4f}", 34))
        self.equation("softmax", f"row {Q}", shown=pat[Q], z=scores[Q])
        self.equation("sum", f"row {Q} sums to 1", shown=float(pat[Q].sum()), terms=pat[Q])
        worked = VGroup(*lines).arrange(DOWN, aligned_edge=LEFT, buff=0.18)
        # the head-choice note (what was searched, what the course set)
        s = float(self.head_score_table[L, H])
        kind, count, where = self.choice
        if self.n < 4:
            why = (f"The prompt has {self.n} token{'s' if self.n > 1 else ''}: too short for the "
                   f"head rule (no query has a key other than the first, itself and the previous "
                   f"one), so every score is 0 and head {H} of layer {L} is the first "
                   f"{'set' if kind != 'rule' else 'searched'}.")
        elif kind == "rule":
            why = (f"Why head {H} of layer {L}? {pct(s)} of its attention (queries 3–{self.n - 1})\n"
                   f"goes to earlier words other than the first, itself and the previous one:\n"
                   f"the most of the {count} heads searched (layers: {where}).")
        elif kind == "layer":
            why = (f"Layer {L} set by the course; head {H} has the highest score in it:\n"
                   f"{pct(s)} of its attention (queries 3–{self.n - 1}) goes to earlier words\n"
                   f"other than the first, itself and the previous one.")
        else:
            why = (f"Layer {L} and head {H} set by the course. Score: {pct(s)} of its attention\n"
                   f"(queries 3–{self.n - 1}) to earlier words other than the first, itself, the previous one.")
        whyt = self._para(why.replace("\n", " "), 36)
        whyt.next_to(g2.frame, RIGHT, buff=0.35).align_to(g2.frame, UP)
        worked.next_to(g2.frame, RIGHT, buff=0.35).align_to(g2.frame, UP)
        side = list(self.grid_notes[1:])           # keys note and rule yield their place
        self.play(Create(row), FadeIn(worked), *[FadeOut(m) for m in side], run_time=0.6)
        self.grid_notes = VGroup(self.grid_notes[0])
        self._pause(1.6)
        self.play(FadeOut(worked), FadeIn(whyt), run_time=0.5)
        self.query_rect, self.why = row, whyt
        self.shown["why"] = whyt
        self._pause(1.8)

    # ------------------------------------------------------------------ 7. values and the write
    @beat(needs=("tag",))
    def beat_values(self) -> None:
        """7. Values, the weighted sum growing term by term, this head's contribution, and the
        layer's real update of the residual stream."""
        t, L, H, Q = self.trace, self.L, self.H, self.Q
        info = t.info
        keys = [p for p in self.cols if p <= Q]
        # the attending row's weights travel out of the pattern grid (when it is on screen)
        g, carry = getattr(self, "grid", None), None
        if g is not None and self.is_shown(g) and g.mode == "pattern" and g.show_numbers:
            carry = VGroup(*[g.numbers[Q * g.n_k + p].copy() for p in keys])
            self.add(carry)
        self.fresh(*([carry] if carry is not None else []))
        self.grid = None
        w = np.asarray(t.pattern[L][H][Q], np.float64)
        V = np.asarray(t.v[L][H], np.float64)
        hidden = [p for p in range(Q + 1) if p not in keys]
        c = self.entries
        vm = self._rows(V, c, (self.n, self.d_head), "v", THEME.value, positions=keys)
        vm.to_edge(LEFT, buff=0.4).set_y(0.4)
        wts = VGroup()
        for i, p in enumerate(keys):
            tx = num_text(f"× {w[p]:.3f}", MIN_SIZE, THEME.highlight)
            tx.value = float(w[p])
            tx.next_to(vm.brackets, RIGHT, buff=0.2).set_y(vm.row(i).get_y())
            wts.add(tx)
        wl = self._note("weight", color=THEME.highlight).next_to(wts, UP, buff=0.15)
        self.show_caption(self.caption_text("values", tok=self._tok(Q), q=Q, nk=Q + 1,
                                            d_head=self.d_head, d_model=self.d_model,
                                            bv=" + b_V" if self.has_bias["b_V"] else ""))
        self.play(FadeIn(vm), ReplacementTransform(carry, wts) if carry is not None else FadeIn(wts),
                  FadeIn(wl), run_time=0.9)
        self.equation("matmul", "v = x̂·W_V + b_V", shown=V[keys], x=self.xhat[keys], W=self.W_Vf,
                      b=self.b_V)
        omit = ""
        if hidden:
            omit = f"{len(keys)} of {Q + 1} keys shown; the sum is over all {Q + 1}"
        on = self._note(omit) if omit else VGroup()
        self.shown["omission"] = omit
        if omit:
            on.next_to(vm, DOWN, buff=0.2).align_to(vm, LEFT)
            self.play(FadeIn(on), run_time=0.3)
        # Σ weight × v grows term by term (the keys not shown first, as one term)
        zpos = np.array([0.3, 2.4, 0])
        terms = ([("keys " + (f"0–{hidden[-1]}" if hidden == list(range(len(hidden))) else "not shown"),
                   hidden)] if hidden else []) + [(f"+ key {p}", [p]) for p in keys]
        run = np.zeros(self.d_head)
        zcol = None
        for i, (name, ps) in enumerate(terms):
            run = run + w[ps] @ V[ps]
            col = WeightMatrix(run[None, :c], (1, self.d_head), font_size=MAT_SIZE,
                               show_shape=False, truncated_cols=True,
                               digits=digits_for(float(np.abs(t.z[L][H][Q][:c]).max())))
            lab = self._note(f"Σ weight × v, {i + 1} of {len(terms)} terms ({name})" if i + 1 < len(terms)
                             else f"z = Σ weight × v over all {Q + 1} keys", color=THEME.text)
            grp = VGroup(lab, col).arrange(DOWN, aligned_edge=LEFT, buff=0.12).move_to(zpos, aligned_edge=UL)
            rt = 0.35 if i else 0.5
            if zcol is None:
                src = vm.row(keys.index(ps[0])) if ps[0] in keys else on
                self.play(TransformFromCopy(src, grp), run_time=rt)
            else:
                hl = wts[keys.index(ps[0])].copy()
                self.play(FadeTransform(zcol, grp), hl.animate.move_to(col).set_opacity(0), run_time=rt)
                self.remove(hl)
            zcol = grp
        z = np.asarray(t.z[L][H][Q], np.float64)
        self.equation("weighted_sum", "z = Σ weight × v (all keys)", shown=z, w=w, v=V)
        self.shown.update(v=vm, weights=wts, z=zcol[1])
        self._pause(0.8)
        # × W_O: this head's contribution
        WO = t.block("W_O", L, H)
        ho = np.asarray(t.head_out[L][H][Q], np.float64)
        contrib = WeightMatrix(ho[None, :4], (1, self.d_model), font_size=MAT_SIZE, show_shape=False,
                               truncated_cols=True)
        clab = self._note(f"× W_O ({shape_str(self.d_head, self.d_model)}) = head {H}'s contribution",
                          color=THEME.highlight)
        cgrp = VGroup(clab, contrib).arrange(DOWN, aligned_edge=LEFT, buff=0.12)
        cgrp.next_to(zcol, DOWN, buff=0.35).align_to(zcol, LEFT)
        self.show_caption(self.caption_text("write", d_head=self.d_head, head=H, d_model=self.d_model))
        self.play(TransformFromCopy(zcol[1], contrib), FadeIn(clab), run_time=0.8)
        self.equation("matmul", f"head {H}'s contribution = z·W_O", shown=ho, x=z, W=WO)
        self._pause(0.8)
        # the layer's real update: x + Σ heads + b_O = resid_mid (the Trace's attn_out)
        x = np.asarray(self.x[Q], np.float64)
        heads = np.asarray(t.head_out[L][:, Q], np.float64)            # [head, d_model]
        others = heads.sum(0) - heads[H]
        bO = t.block("b_O", L).astype(np.float64)
        new = np.asarray(t.resid_mid[L, Q], np.float64)
        parts = [("x", x), (f"head {H}", ho), (f"{info['n_head'] - 1} other heads", others)]
        if self.has_bias["b_O"]:
            parts.append(("b_O", bO))
        parts.append(("new x", new))
        mats = VGroup()
        ne = 2 if len(parts) <= 4 else 1
        for name, vec in parts:
            m = WeightMatrix(vec[None, :ne], (1, self.d_model), font_size=MAT_SIZE, show_shape=False,
                             truncated_cols=True, digits=2)
            lab = self._note(name, color=THEME.highlight if name == f"head {H}" else THEME.text)
            mats.add(VGroup(lab, m).arrange(DOWN, buff=0.1))
        signs = ["+"] * (len(parts) - 2) + ["="]
        row = VGroup()
        for i, m in enumerate(mats):
            row.add(m)
            if i < len(signs):
                row.add(self.text(signs[i], size=30))
        row.arrange(RIGHT, buff=0.2)
        row.move_to([0, -1.3, 0])
        self.show_caption(self.caption_text("update", n_head=info["n_head"], layer=L,
                                            bo=" + b_O" if self.has_bias["b_O"] else
                                            " (this model has no b_O)"))
        self.play(FadeOut(vm), FadeOut(wts), FadeOut(wl), FadeOut(on),
                  zcol.animate.to_corner(UL, buff=0.35).shift(0.8 * DOWN),
                  cgrp.animate.to_corner(UL, buff=0.35).shift(2.0 * DOWN), run_time=0.6)
        self.play(TransformFromCopy(cgrp[1], mats[1][1]), FadeIn(VGroup(*[m for i, m in enumerate(row)
                                                                         if m is not mats[1]])),
                  FadeIn(mats[1][0]), run_time=0.9)
        self.equation("sum", "x + Σ heads + b_O = new x (all heads)", shown=new,
                      terms=np.vstack([x[None], heads, bO[None]]))
        self.equation("sum", f"{info['n_head'] - 1} other heads", shown=others,
                      terms=np.delete(heads, H, axis=0))
        self.shown.update(head_out=contrib, x_q=mats[0][1], new_x=mats[-1][1])
        self._pause(1.8)

    # ------------------------------------------------------------------ 8. every head
    @beat(needs=("tag",))
    def beat_multihead(self) -> None:
        """8. Multi-head: every head of the layer as a small real pattern."""
        t, L = self.trace, self.L
        self.fresh()
        self.grid = None
        nh = t.info["n_head"]
        per_row = nh if nh <= 6 else math.ceil(nh / 2) if nh <= 12 else math.ceil(nh / 3)
        rows = math.ceil(nh / per_row)
        side = min(2.0, 12.6 / per_row - 0.35, 5.2 / rows - 0.85)
        allg = Group()
        pats = np.asarray(t.pattern[L])
        for h in range(nh):
            img = AttentionGrid(pats[h], [None] * self.n, [None] * self.n,
                                mode="pattern", cell_size=side / self.n, as_image=True,
                                show_labels=False)
            lab = self._note(f"head {h}", color=THEME.highlight if h == self.H else THEME.text)
            sc = num_text(pct(self.head_score_table[L, h]), MIN_SIZE, THEME.dim)
            sc.value = float(self.head_score_table[L, h])
            lab.next_to(img, UP, buff=0.08)
            sc.next_to(img, DOWN, buff=0.08)
            cell = Group(img, lab, sc)
            cell.head = h
            allg.add(cell)
        allg.arrange_in_grid(rows=rows, cols=per_row, buff=(0.35, 0.3))
        allg.move_to([0, 0.15, 0])
        box = allg[self.H][0].frame.copy().set_stroke(THEME.highlight, width=4)
        self.reveal(allg, run_time=0.6)
        self.play(Create(box), run_time=0.3)
        self.show_caption(self.caption_text("multi", n_head=nh, layer=L))
        self.shown["multi"] = allg
        self._pause(2.0)

    # ------------------------------------------------------------------ 9. arcs
    @beat(needs=("tag",))
    def beat_arcs(self) -> None:
        """9. Arcs from the attended tokens to the attending one, width by the real weight."""
        t, L, H, Q = self.trace, self.L, self.H, self.Q
        self.fresh()
        n = self.n
        # as many tokens as fit in one row at full size, ending at the attending one
        # (then after it, if room): every arc reads left to right, nothing shrinks
        widths = [TokenBoxes([s], font_size=32).width + 0.08 for s in t.tokens]
        lo = hi = Q
        room = config.frame_width - 0.8 - widths[Q]
        while hi - lo + 1 < self.max_arc_tokens:
            if lo > 0 and widths[lo - 1] <= room:
                lo -= 1
                room -= widths[lo]
            elif hi < n - 1 and widths[hi + 1] <= room:
                hi += 1
                room -= widths[hi]
            else:
                break
        start = lo
        pos = list(range(lo, hi + 1))
        tb = TokenBoxes([t.tokens[p] for p in pos], font_size=32, show_positions=True,
                        position_offset=start, max_width=None)
        tb.move_to([0, -1.0, 0])
        qi = pos.index(Q)
        tb.highlight(qi)
        w = np.asarray(t.pattern[L][H][Q])[pos]
        arcs = AttentionArcs(tb, w, qi, max_width=16.0, n_labels=4)
        notes = VGroup()
        if start > 0:
            hidden = float(np.asarray(t.pattern[L][H][Q])[:start].sum())
            notes.add(self._note(f"{len(pos)} of {n} tokens fit in one row: positions 0–{start - 1} "
                                 f"(not shown) get {pct(hidden)} of the weight"))
        (best, p_best), = t.top_next(1)
        pred = self._note(f"inputs: positions 0–{n - 1}  ·  the model's prediction for the next "
                          f"token is read at position {n - 1}: ‘{token_label(best)}’ {pct(p_best)}")
        if pred.width > config.frame_width - 0.6:
            pred = self._note(f"inputs: positions 0–{n - 1}\nprediction at position {n - 1}: "
                              f"‘{token_label(best)}’ {pct(p_best)}")
        self.shown["prediction"] = (best, p_best)
        notes.add(pred)
        if all(a is None for a in arcs.arcs):
            notes.add(self._note("every token shown gets under 1% of the weight: no arc is drawn"))
        notes.arrange(DOWN, buff=0.2).next_to(tb, DOWN, buff=0.85)
        low = notes.get_bottom()[1] - (-config.frame_height / 2 + 1.25)   # the caption's room
        if low < 0:                                  # many notes: everything moves up
            VGroup(tb, arcs, notes).shift(-low * UP)
        self.reveal(tb, *notes, run_time=0.5)
        drawn = [a for a in arcs.arcs if a is not None]
        order = sorted(drawn, key=lambda a: -a.value)      # the heaviest arc first
        if order:
            self.play(LaggedStart(*[Create(a) for a in order], lag_ratio=0.15), run_time=1.2)
        self.play(FadeIn(arcs.percent_labels), run_time=0.3)
        self.show_caption(self.caption_text("arcs", head=H, layer=L, tok=self._tok(Q), q=Q))
        self.shown["arcs"] = arcs
        self.shown["arc_positions"] = pos
        self._pause(2.0)
