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

Beats 1–2 (tokens, norm) are here, beat 3 (q, k, RoPE) in
:mod:`scenes.kit.attention_qk_beats`; the score-grid beats 4–6 are in
:mod:`scenes.kit.attention_grid_beats`, the read-out beats 7–9 (values, heads, arcs) in
:mod:`scenes.kit.attention_readout_beats`; the selection rules in
:mod:`scenes.kit.analysis.attention`; in-place transitions in :mod:`scenes.kit.transitions`.
"""
from __future__ import annotations

import textwrap
from typing import Annotated, ClassVar, Sequence

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UP, Create, FadeIn, FadeOut, FadeTransform,
                   SurroundingRectangle, VGroup, VMobject, config)

from scenes.kit.analysis.attention import head_scores, pick_query, select_head, shown_positions
from scenes.kit.attention_grid_beats import AttentionGridBeats
from scenes.kit.attention_qk_beats import AttentionQKBeats
from scenes.kit.attention_readout_beats import AttentionReadoutBeats
from scenes.kit.pieces import TokenBoxes, WeightMatrix
from scenes.kit.pieces.matrix import MAT_SIZE
from scenes.kit.camera import FrameZoom
from scenes.kit.course.spec import Range
from scenes.kit.scene import GPTScene, beat
from scenes.kit.text import token_label
from scenes.kit.theme import MIN_SIZE, THEME, digits_for
from scenes.kit.transitions import Curtains
from tensors import UserError

__all__ = ["AttentionScene"]


# ====================================================================== the scene
class AttentionScene(AttentionQKBeats, AttentionGridBeats, AttentionReadoutBeats, Curtains, FrameZoom,
                     GPTScene):
    """Self-attention in one head of a real model, beat by beat.

    Knobs (class attributes; a course config ``[attention]`` section may set them too):

    - ``prompt``, ``model``, ``device`` — what to run (see :class:`scenes.kit.scene.GPTScene`).
    - ``layer``, ``head`` — None = chosen by the rule below, else 0 to n_layer - 1 / n_head - 1.
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
        self.head_score_table = head_scores(t.pattern)     # [layer, head], a layer at a time
        auto_l, auto_h, _ = select_head(self.head_score_table, layers)
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

    def _para(self, s: str, width: int = 40, color=None) -> VGroup:
        """A note wrapped at ``width`` characters, lines left-aligned."""
        lines = [self._note(ln, color=color or THEME.text) for ln in textwrap.wrap(s, width)]
        return VGroup(*lines).arrange(DOWN, aligned_edge=LEFT, buff=0.12)

    def show_caption(self, s: str, run_time: float = 0.6, extra=()):
        """The base caption, wrapped onto two lines when long (so it stays large enough)."""
        if len(s) > 88 and "\n" not in s:
            words, best = s.split(" "), None
            for i in range(1, len(words)):
                a, b = " ".join(words[:i]), " ".join(words[i:])
                if best is None or max(len(a), len(b)) < max(len(best[0]), len(best[1])):
                    best = (a, b)
            s = "\n".join(best)
        return super().show_caption(s, run_time=run_time, extra=extra)

    # ------------------------------------------------------------------ silent builders
    def build_xmat(self) -> None:
        """X (rows of the shown tokens) on the left (what beat_tokens ends with)."""
        self.clean_stage()
        self.xmat = self._rows(self.x, self.entries, (self.n, self.d_model), "x")
        self.xmat.to_edge(LEFT, buff=0.25).set_y(0.3)
        self.add(self.xmat)

    def build_xhat_mat(self) -> None:
        """X̂ on the left (what beat_norm ends with)."""
        self.clean_stage()
        self.xhat_mat = self._xhat_matrix()
        self.add(self.xhat_mat)

    def _xhat_matrix(self) -> WeightMatrix:
        return self._xhat_layout().copy()

    def _xhat_layout(self) -> WeightMatrix:
        """X̂ in its place, built once (never on screen: where X̂ sits, for the pieces laid
        out beside it; :meth:`_xhat_matrix` gives a copy to show)."""
        if getattr(self, "_xhat_ref", None) is None:
            m = self._rows(self.xhat, self.entries, (self.n, self.d_model), "x̂")
            self._xhat_ref = m.to_edge(LEFT, buff=0.25).set_y(0.3)
        return self._xhat_ref

    def build_qmat(self) -> None:
        """Q and K (what beat_qk ends with)."""
        self.clean_stage()
        self.qmat, self.kmat = self._qk_mats(rotated=True)
        self._qk_right(self.qmat, self.kmat)
        self.add(self.qmat, self.kmat)

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
        pos_note = self._note("position")
        # the row and its "position" note share the frame's width
        full = TokenBoxes(t.tokens[start:], font_size=32, show_positions=True,
                          position_offset=start, max_width=12.5 - pos_note.width - 0.15)
        full.move_to([0, 0.4, 0])
        pos_note.next_to(full.positions[0], LEFT, buff=0.15)
        VGroup(full, pos_note).set_x(0)
        self.reveal(head, self.tag, full, pos_note, run_time=0.8)
        more = f" (the last {self.n - start} of {self.n} shown)" if start else ""
        self.show_caption(self.caption_text("tokens", model=info["name"], n=self.n,
                                            last=self.n - 1) + more)
        self._pause(1.2)
        xmat = self._rows(self.x, self.entries, (self.n, self.d_model), "x")
        xmat.to_edge(LEFT, buff=0.25).set_y(0.3)
        # each shown token's box travels to its row label
        boxes = [full.boxes[p - start] for p in self.cols if p >= start]
        labs = [xmat.row_labels[i] for i, p in enumerate(self.cols) if p >= start]
        # the tokens without a row (and the notes) leave first: X fades in where they were
        self.play(FadeOut(head), FadeOut(pos_note), FadeOut(full.positions),
                  *[FadeOut(b) for i, b in enumerate(full.boxes) if i + start not in self.cols],
                  run_time=0.4)
        self.play(*[FadeTransform(b, l) for b, l in zip(boxes, labs)],
                  FadeIn(VGroup(xmat.body, xmat.brackets, xmat.label, xmat.brace,
                                xmat.shape_text), lag_ratio=0.02), run_time=1.0)
        self.remove(*labs)
        self.add(xmat)
        more = f"; rows for the last {len(self.cols)} of {self.n} tokens" if len(self.cols) < self.n else ""
        if L == 0 and t.pos_embed is None:
            what = "x = each token's row of W_E"
        elif L == 0:
            what = "x = token's W_E row + position's W_pos row (not drawn)"
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
            lines.append(self.text("x̂ = (x − μ) ÷ σ ⊙ g + b", size=fs * 1.1, color=THEME.highlight))
            lines.append(self.text(f"row {p}: μ = {st['mean']:.4f}    σ = √(var(x) + ε) = "
                                   f"{1 / st['scale']:.4f}", size=fs))
            self.equation("mean", "μ = mean(x)", shown=st["mean"], x=x)
            self.equation("std", "σ = √(var(x) + ε)", shown=1 / st["scale"], x=x, eps=facts["eps"])
        else:
            lines.append(self.text("x̂ = x ÷ rms(x) ⊙ g", size=fs * 1.1, color=THEME.highlight))
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
        self.cross_fade([self.xmat.entries, self.xmat.label, self.xmat.ellipses, self.xmat.brackets,
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
        self.equation(eq, "x̂ = (x − μ) ÷ σ ⊙ g + b" if ln else "x̂ = x ÷ rms(x) ⊙ g",
                      shown=self.xhat[self.cols], **ops)
        self.shown.update(xhat=xh, norm_panel=panel)
        self.xhat_mat, self.xmat = xh, None
        self._pause(1.2)
        self.play(FadeOut(panel), FadeOut(rect), run_time=0.4)
