"""One attention head, step by step, with every number from a real forward pass.

    manim render scenes/attention.py                 # the bundled model, default prompt
    manim render -qh scenes/attention.py             # 1080p60

Subclass to change the knobs (see :class:`AttentionScene`)::

    from scenes.attention import AttentionScene

    class MyAttention(AttentionScene):
        prompt = "the quick brown fox jumps over the lazy dog"
        layer, head = 3, 1
        beats = [b for b in AttentionScene.beats if b != "beat_multihead"]
"""
from __future__ import annotations

import math
from typing import Annotated, ClassVar, Sequence

import numpy as np
from manim import DOWN, LEFT, RIGHT, UL, UP, Create, FadeIn, Group, Line, VGroup, VMobject, config

from scenes.kit.analysis.attention import head_scores, pick_query, select_head, shown_positions
from scenes.kit.pieces import (AttentionArcs, AttentionGrid, TokenBoxes, VectorColumn,
                               WeightMatrix)
from scenes.kit.course.spec import Range
from scenes.kit.scene import GPTScene, beat
from scenes.kit.text import flat_text, markup, num_text, shape_str, token_label
from scenes.kit.theme import THEME, digits_for, pct
from scenes.kit.transitions import Curtains
from tensors import UserError

__all__ = ["AttentionScene"]


# ====================================================================== the scene
class AttentionScene(Curtains, GPTScene):
    """Self-attention in one head of a real model, in eight beats.

    Knobs (class attributes; a course config ``[attention]`` section may set them too):

    - ``prompt``, ``model``, ``device`` — what to run (see :class:`scenes.base.GPTScene`).
    - ``layer``, ``head`` — None = chosen by the rule below; negative counts from the end.
    - ``search_layers`` — layers the rule looks in (None = all).
    - ``query`` — the attending position for the value and arc beats (None = rule below).
    - ``max_columns`` — at most this many tokens get vector columns (the last ones).
    - ``max_numbers`` — grids up to this many tokens show numbers in cells; larger ones are
      coloured cells, and beyond :data:`scenes.kit.pieces.IMAGE_CELLS` cells one image.
    - ``max_arc_tokens`` — the arc beat shows at most this many (the last) tokens.
    - ``entries`` — how many leading entries of each vector are shown.
    - ``pause`` — seconds of reading pause after each step (the video's pace).

    **Default head (the rule).** For every head, the *long-range content mass*
    (:func:`scenes.kit.analysis.attention.head_scores`): the attention each query position q ≥ 2 gives to keys that are
    neither the first token (the "attention sink"), nor itself, nor the previous token,
    averaged over positions. The head with the most is shown — a head whose pattern links
    words across the sentence, not one that only parks on the first token, looks at itself,
    or copies its neighbour. The multi-head beat prints this score under every head of the
    layer so the viewer sees why. **Attending token** (``pick_query``): the last position
    (where the next token is predicted), unless under half of its attention goes elsewhere
    than the first token and itself; then the position that sends the most elsewhere.
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
    entries: ClassVar[Annotated[int, Range(1, 16)]] = 5
    pause: ClassVar[Annotated[float, Range(0, 60)]] = 2.4
    _no_cache = True
    _subscripts = True
    beats: ClassVar[Sequence[str]] = (
        "beat_tokens", "beat_qk", "beat_dot_products", "beat_mask", "beat_softmax",
        "beat_values", "beat_multihead", "beat_arcs",
    )
    captions: ClassVar[dict[str, str]] = {
        "tokens": "The prompt, cut by {model}'s tokenizer: {n} tokens (␣ = a leading space). "
                  "Positions 0–{last} are inputs.",
        "embed": "{what}: {d_model} numbers (first {k} shown){more}",
        "qk": "Layer {layer}, head {head}: query q = x·W_Q and key k = x·W_K, "
              "{d_head} numbers each (d_head = {d_head}){rope}",
        "dots": "Every query dotted with every key: q_i · k_j  (row i = query position, column j = key position)",
        "scale": "Divided by √d_head = √{d_head} = {sqrt:g}: dot products of {d_head}-long vectors grow with "
                 "d_head; scaling keeps softmax from saturating",
        "mask": "Causal mask: position i may not look at later positions j > i — those scores become −∞",
        "softmax": "Softmax along each row: weights ≥ 0 that sum to 1 — head {head}'s real attention pattern",
        "values": "Values v = x·W_V. {tok} (position {q}) adds up weight × value; "
                  "W_O turns those {d_head} numbers into a change Δx of its {d_model}",
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
        layers = None if self.search_layers is None else [int(l) for l in self.search_layers]
        auto_l, auto_h, scores = select_head(t.pattern, layers)
        self.L = (self.layer % info["n_layer"]) if self.layer is not None else auto_l
        if self.head is not None:
            self.H = self.head % info["n_head"]
        elif self.layer is not None:
            self.H = int(np.argmax(head_scores(t.pattern[self.L])))
        else:
            self.H = auto_h
        self.head_score_table = head_scores(t.pattern)     # [layer, head]
        self.picked_by_rule = self.layer is None and self.head is None
        n = t.n_pos
        if self.query is not None:
            self.Q = int(self.query) % n
        else:
            self.Q = pick_query(t.pattern[self.L, self.H])
        self.n = n
        self.cols = shown_positions(n, self.max_columns, self.Q)
        self.d_head, self.d_model = info["d_head"], info["d_model"]
        self.shown: dict[str, object] = {}          # name -> what a beat displayed (tests read it)
        # x: what the attention block of layer L reads (before its norm)
        self.x = t.resid[self.L]
        if self.L == 0:
            self.x_name = ("token embedding" if t.pos_embed is None
                           else "token + position embedding")
        else:
            self.x_name = f"residual stream entering layer {self.L}"

    def make_tag(self) -> VMobject:
        return self.model_tag(f"layer {self.L}", f"head {self.H}")

    # ------------------------------------------------------------------ layout helpers
    def _slots(self, left: float = -3.3, right: float = 6.6) -> np.ndarray:
        k = len(self.cols)
        pitch = min(1.05, (right - left) / max(k, 1))
        xs = left + pitch * (np.arange(k) + 0.5)
        return xs + ((right - left) - pitch * k) / 2

    def _slot_tokens(self, y: float) -> TokenBoxes:
        t = self.trace
        tb = TokenBoxes([t.tokens[p] for p in self.cols], font_size=18, show_positions=True,
                        max_width=None)
        xs = self._slots()
        pitch = xs[1] - xs[0] if len(xs) > 1 else 1.0
        for i, (b, p) in enumerate(zip(tb.boxes, tb.positions)):
            if b.width > pitch * 0.96:
                b.scale_to_fit_width(pitch * 0.96)
            b.move_to([xs[i], y, 0])
            p.become(num_text(str(self.cols[i]), 10, THEME.dim)).next_to(b, DOWN, buff=0.05)
        return tb

    def _columns(self, M: np.ndarray, width: int, y_top: float, color, label: str | None = None,
                 fs: float = 13) -> VGroup:
        xs = self._slots()
        cols = VGroup()
        sc = float(np.abs(M[self.cols, :self.entries]).max()) or 1.0
        digits = digits_for(sc)  # one number format for the whole row of columns
        for i, p in enumerate(self.cols):
            c = VectorColumn(M[p, :self.entries], width, font_size=fs, scale=sc, color=color,
                             digits=digits)
            c.move_to([xs[i], 0, 0]).align_to([0, y_top, 0], UP)
            c.position = p
            cols.add(c)
        return cols

    def _note(self, s: str, size: float | None = None, color=None) -> VMobject:
        return self.text(s, size=size or THEME.small_size, color=color or THEME.dim)

    def _pause(self, k: float = 1.0) -> None:
        self.wait(self.wait_time * k)

    @property
    def wait_time(self) -> float:
        return float(self.pause)

    def _tok(self, p: int) -> str:
        return f"‘{token_label(self.trace.tokens[p])}’"

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

    # ------------------------------------------------------------------ beats
    def build_xcols(self) -> None:
        """The token slots and their x columns (what beat_tokens ends with), silently."""
        self.clean_stage()
        self.slots = self._slot_tokens(3.0)
        self.xcols = self._columns(self.x, self.d_model, 2.45, THEME.dim)
        self.add(self.slots, self.xcols)

    def build_scaled_grid(self) -> None:
        """The grid of scaled q·k (what beat_dot_products ends with), silently."""
        self.clean_stage()
        qk, scale = self._scaled_qk()
        g = self._grid(qk * scale, "scores", digits=2)
        self.grid = self.scaled_grid = g
        self.grid_notes = self._grid_notes(g)
        self.add(g, self.grid_notes)

    def build_scores_grid(self) -> None:
        """The masked scores grid (what beat_mask ends with), silently."""
        self.clean_stage()
        t = self.trace
        g = self._grid(t.scores[self.L, self.H], "scores", digits=2)
        self.grid = self.scores_grid = g
        self.grid_notes = self._grid_notes(g)
        self.add(g, self.grid_notes)

    def beat_tokens(self) -> None:
        """1. The tokens (the tokenizer's own pieces) and their embedding vectors."""
        t = self.trace
        info = t.info
        self.fresh()
        if not self.has("tag"):
            self.tag = self.make_tag()
        head = self.text(f"{info['name']}: one attention head, step by step",
                         size=THEME.text_size).to_edge(UP, buff=0.9)
        start = max(0, self.n - self.max_arc_tokens)
        full = TokenBoxes(t.tokens[start:], font_size=30, show_positions=True,
                          position_offset=start, max_width=12.5)
        full.move_to([0, 0.4, 0])
        pos_note = self._note("position", size=14).next_to(full.positions[0], LEFT, buff=0.15)
        self.reveal(head, self.tag, full, pos_note, run_time=0.8)
        more = ""
        if start:
            more = f" (the last {self.n - start} of {self.n} shown)"
        self.show_caption(self.caption_text("tokens", model=info["name"], n=self.n,
                                            last=self.n - 1) + more)
        self._pause(1.6)
        # tokens into slots; one vector column each
        slots = self._slot_tokens(3.0)
        self.swap([head, pos_note, full], slots, region=VGroup(head, full, slots), run_time=0.6)
        xcols = self._columns(self.x, self.d_model, 2.45, THEME.dim)
        label = self.text("x", size=28).next_to(xcols, LEFT, buff=0.5)
        more = ""
        if len(self.cols) < self.n:
            more = f"; columns for the last {len(self.cols)} of {self.n} tokens"
        self.reveal(xcols, label, run_time=0.6)
        if self.L == 0 and t.pos_embed is None:
            what = "x = each token's embedding, its row of W_E"
        elif self.L == 0:
            what = "x = each token's row of W_E + its position's row of W_pos"
        else:
            what = f"x = each token's {self.x_name}"
        extra = []
        if self.L == 0:
            # where the vectors come from: rows of the embedding matrix, looked up by token id
            seen, ids, labs = set(), [], []
            for p in self.cols:
                i = int(t.token_ids[p])
                if i not in seen:
                    seen.add(i)
                    ids.append(i)
                    labs.append(token_label(t.tokens[p]) + f"  (id {i:,})")
                if len(ids) == 4:
                    break
            WE = WeightMatrix(t.W_E(ids)[:, :6], (t.info["vocab_size"], self.d_model),
                              row_labels=labs, label="W_E", font_size=16)
            WE.move_to([1.2, -1.25, 0])
            self.shown["W_E"] = WE
            self.shown["W_E_ids"] = ids
            extra.append(WE)
        if extra:
            self.reveal(*extra, run_time=0.5)
        self.show_caption(self.caption_text("embed", what=what, d_model=self.d_model,
                                            k=self.entries, more=more))
        self.shown["x"] = xcols
        self.slots, self.xcols, self.xlabel = slots, xcols, label
        self._pause(1.6)

    @beat(needs=("tag", "xcols"))
    def beat_qk(self) -> None:
        """2. W_Q and W_K turn each vector into a query and a key (real d_head numbers)."""
        t, L, H = self.trace, self.L, self.H
        info = t.info
        self.fresh(self.slots, self.xcols)
        wq = t.block("W_Q", L, H, slice(0, 6), slice(0, 4))
        wk = t.block("W_K", L, H, slice(0, 6), slice(0, 4))
        WQ = WeightMatrix(wq, (self.d_model, self.d_head), label="W_Q", font_size=11)
        WK = WeightMatrix(wk, (self.d_model, self.d_head), label="W_K", font_size=11)
        WQ.label.set_fill(THEME.query)
        WK.label.set_fill(THEME.key)
        WQ.to_edge(LEFT, buff=0.35).set_y(1.55)
        WK.to_edge(LEFT, buff=0.35).set_y(-1.05)
        qcols = self._columns(t.q[L, H], self.d_head, 2.45, THEME.query)
        kcols = self._columns(t.k[L, H], self.d_head, -0.15, THEME.key)
        ql = self.text("q", size=28, color=THEME.query).next_to(qcols, LEFT, buff=0.25)
        kl = self.text("k", size=28, color=THEME.key).next_to(kcols, LEFT, buff=0.25)
        self.reveal(WQ, WK, run_time=0.5)
        # the same x goes through both matrices: x fades into q (same place) and k (below)
        self.swap(self.xcols, VGroup(qcols, ql), region=VGroup(self.xcols, qcols, ql),
                   run_time=0.6)
        self.reveal(kcols, kl, run_time=0.5)
        self.xcols = None
        rope = ""
        if info.get("positional") == "rope":
            rope = "; then rotated by position (RoPE)"
        if info["n_kv_head"] < info["n_head"]:
            g = info["n_head"] // info["n_kv_head"]
            kv = t.kv_head_of(H)
            gqa = self._note(f"heads {kv * g}–{kv * g + g - 1} share this W_K\n"
                             "(grouped-query attention)", size=13)
            gqa.next_to(WK, DOWN, buff=0.06)
            self.reveal(gqa, run_time=0.3)
        self.show_caption(self.caption_text("qk", layer=L, head=H, d_head=self.d_head, rope=rope))
        self.shown.update(W_Q=WQ, W_K=WK, q=qcols, k=kcols)
        self._pause(2.2)

    # ---- the grid beats share one layout
    def _grid(self, M: np.ndarray, mode: str, digits: int | None = None) -> AttentionGrid:
        n = self.n
        labels: list[str | None] = list(self.trace.tokens)
        label_size = None
        if n > 24:  # label every k-th position only, in a readable size, with its position
            step = math.ceil(n / 12)
            labels = [s if (i % step == 0 or i == n - 1) and (n - 1 - i >= step or i == n - 1)
                      else None for i, s in enumerate(labels)]
            label_size = 13
        cs = min(0.44, 4.6 / n)
        g = AttentionGrid(M, labels, labels, mode=mode, cell_size=cs,
                          show_numbers=n <= self.max_numbers, digits=digits,
                          show_positions=True, label_size=label_size)
        g.move_to([0.9, 0, 0])
        g.shift((-2.6 - g.frame.get_bottom()[1]) * UP)
        return g

    def _grid_notes(self, g: AttentionGrid) -> VGroup:
        q = self._note("queries (rows): the position that looks", size=15, color=THEME.query)
        q.rotate(math.pi / 2)
        q.next_to(g.query_labels, LEFT, buff=0.2).set_y(g.frame.get_center()[1])
        k = self._note("keys (columns): the position looked at", size=15, color=THEME.key)
        k.next_to(g.key_labels, UP, buff=0.1)
        if k.get_top()[1] > 3.7:
            k.next_to(g.key_labels, LEFT, buff=0.2).align_to(g.key_labels, DOWN)
        out = VGroup(q, k)
        if self.n > self.max_numbers:
            rule = self._note(f"{self.n} tokens: cells coloured by value; numbers are\n"
                              f"printed for prompts of up to {self.max_numbers} tokens", size=15)
            rule.to_corner(UL, buff=0.35)
            out.add(rule)
        return out

    def _morph_grid(self, g: AttentionGrid, g2: AttentionGrid, run_time: float = 0.7) -> AttentionGrid:
        """Turn grid g into g2 (same layout, same labels): the cells dip to the background
        and come back with g2's values. Returns g2, now on screen (g is left untouched)."""
        self.swap(g, g2, region=g.frame, run_time=run_time, margin=0.02)
        return g2

    def _scaled_qk(self) -> tuple[np.ndarray, float]:
        t, L, H = self.trace, self.L, self.H
        qk = t.q[L, H].astype(np.float64) @ t.k[L, H].astype(np.float64).T
        scale = float(t.info.get("attn_scale") or 1.0 / math.sqrt(self.d_head))
        return qk, scale

    @beat(needs=("tag",))
    def beat_dot_products(self) -> None:
        """3. The grid of q·k dot products, then divided by √d_head (why)."""
        self.fresh()
        qk, scale = self._scaled_qk()
        g = self._grid(qk, "scores", digits=1)
        notes = self._grid_notes(g)
        self.reveal(g, notes, run_time=0.7)
        self.show_caption(self.caption_text("dots"))
        self.shown["qk"] = g
        self._pause(1.6)
        g2 = self._grid(qk * scale, "scores", digits=2)
        inv = 1.0 / scale
        formula = self.text(f"÷ {inv:g}", size=40, color=THEME.highlight)
        formula.next_to(g.frame, RIGHT, buff=0.4)
        self.play(FadeIn(formula, shift=0.2 * LEFT), run_time=0.3)
        self.grid = self.scaled_grid = self._morph_grid(g, g2)
        self.show_caption(self.caption_text("scale", d_head=self.d_head, sqrt=inv))
        self.grid_notes, self.formula = notes, formula
        self.shown["scaled"] = g2
        self._pause(2.2)

    @beat(needs=("tag", "scaled_grid"))
    def beat_mask(self) -> None:
        """4. The causal mask: cells of later keys set to −∞."""
        t, L, H = self.trace, self.L, self.H
        if getattr(self, "formula", None) is not None:
            self.remove(self.formula)
            self.formula = None
        g2 = self._grid(t.scores[L, H], "scores", digits=2)
        self.grid = self.scores_grid = self._morph_grid(self.scaled_grid, g2)
        self.show_caption(self.caption_text("mask"))
        self.shown["scores"] = g2
        self._pause(1.8)

    @beat(needs=("tag", "scores_grid"))
    def beat_softmax(self) -> None:
        """5. Softmax per query: the real attention pattern."""
        t, L, H = self.trace, self.L, self.H
        g2 = self._grid(t.pattern[L, H], "pattern", digits=2)
        self.swap(self.scores_grid, g2, region=self.scores_grid, run_time=0.7)
        self.grid = g2
        self.show_caption(self.caption_text("softmax", head=H))
        self.shown["pattern"] = g2
        self._pause(1.4)
        row = g2.row_rect(self.Q, THEME.highlight)
        s = float(self.head_score_table[L, H])
        total = t.info["n_layer"] * t.info["n_head"]
        why = (f"Why head {H} of layer {L}?\n"
               f"{pct(s)} of its attention goes to\nearlier words other than the first\n"
               f"token, itself and the previous one:\n"
               + (f"the most of all {total} heads." if self.picked_by_rule
                  else "(layer/head set by the course)"))
        whyt = self._note(why, size=16, color=THEME.text)
        room = g2.query_labels.get_left()[0] - 1.0 - (-config.frame_width / 2 + 0.35)
        if whyt.width > room:
            whyt.scale_to_fit_width(room)
        whyt.to_corner(UL, buff=0.35).shift(0.9 * DOWN)
        self.play(Create(row), FadeIn(whyt), run_time=0.5)
        self.query_rect = row
        self._pause(2.4)

    @beat(needs=("tag",))
    def beat_values(self) -> None:
        """6. Values, the weighted sum, and the change it adds to the attending token."""
        t, L, H, Q = self.trace, self.L, self.H, self.Q
        self.fresh()
        self.grid = None
        keys = [p for p in self.cols if p <= Q]
        saved = self.cols
        self.cols = keys
        slots = self._slot_tokens(3.0)
        w = t.pattern[L, H, Q]
        vcols = self._columns(t.v[L, H], self.d_head, 2.0, THEME.value)
        vl = self.text("v", size=28, color=THEME.value).next_to(vcols, LEFT, buff=0.25)
        wts = VGroup()
        for c, p in zip(vcols, keys):
            tx = num_text(pct(w[p]), 13, THEME.highlight)
            tx.value = float(w[p])
            tx.next_to(c, UP, buff=0.08)
            wts.add(tx)
            a = 0.3 + 0.7 * min(1.0, float(w[p]) / max(float(w.max()), 1e-9))
            c.entries.set_fill(opacity=a)
            c.brackets.set_stroke(opacity=a)
        slots.highlight(keys.index(Q))
        wl = self._note("weight", size=16, color=THEME.highlight).next_to(wts, LEFT, buff=0.25)
        self.reveal(slots, vcols, vl, run_time=0.6)
        self.reveal(wts, wl, run_time=0.4)
        self.show_caption(self.caption_text("values", tok=self._tok(Q), q=Q,
                                            d_head=self.d_head, d_model=self.d_model))
        self._pause(1.6)
        # z = Σ_j w_j v_j over all keys (not only the shown ones), then × W_O
        z = w.astype(np.float64) @ t.v[L, H].astype(np.float64)
        dx = t.head_out[L, H, Q]
        x = t.resid[L, Q]
        zc = VectorColumn(z[:self.entries], self.d_head, font_size=14, color=THEME.value,
                          label="Σ weight × v", label_dir=DOWN)
        dxc = VectorColumn(dx[:6], self.d_model, font_size=14, color=THEME.highlight,
                           label="change Δx", label_dir=DOWN)
        xc = VectorColumn(x[:6], self.d_model, font_size=14, label=f"x at {self._tok(Q)}",
                          label_dir=DOWN)
        dx2 = VectorColumn(dx[:6], self.d_model, font_size=14, color=THEME.highlight,
                           label="Δx", label_dir=DOWN)
        newc = VectorColumn((x + dx)[:6], self.d_model, font_size=14, label="x + Δx",
                            label_dir=DOWN, color=THEME.text)
        wo = flat_text(markup("× W_O →"), 22, THEME.text, markup=True)
        plus, eq = self.text("+", size=30), self.text("=", size=30)
        sep = Line(0.8 * UP, 0.8 * DOWN, stroke_color=THEME.dim, stroke_width=1.5)
        row = VGroup(zc, wo, dxc, sep, xc, plus, dx2, eq, newc)
        row.arrange(RIGHT, buff=0.4, aligned_edge=UP)
        for m in (wo, plus, eq, sep):  # centred on the number columns
            m.set_y(zc.brackets.get_center()[1])
        row.move_to([0.4, 0, 0]).align_to([0, -0.05, 0], UP)
        if row.width > 12.8:
            row.scale_to_fit_width(12.8)
        wo_shape = flat_text(markup(f"W_O: {shape_str(self.d_head, self.d_model)}"), 14,
                             THEME.dim, markup=True).next_to(wo, DOWN, buff=0.15)
        self.reveal(zc, run_time=0.5)
        self.reveal(wo, wo_shape, dxc, run_time=0.5)
        self._pause(0.8)
        self.reveal(*row[3:], run_time=0.5)
        self.shown.update(v=vcols, weights=wts, z=zc, head_out=dxc, x_q=xc, new_x=newc)
        self._pause(2.4)
        self.cols = saved

    @beat(needs=("tag",))
    def beat_multihead(self) -> None:
        """7. Multi-head: every head of the layer as a small real pattern."""
        t, L = self.trace, self.L
        self.fresh()
        self.grid = None
        nh = t.info["n_head"]
        per_row = nh if nh <= 6 else math.ceil(nh / 2) if nh <= 12 else math.ceil(nh / 3)
        rows = math.ceil(nh / per_row)
        side = min(2.0, 12.6 / per_row - 0.35, 5.4 / rows - 0.75)
        allg = Group()
        for h in range(nh):
            img = AttentionGrid(t.pattern[L, h], [None] * self.n, [None] * self.n,
                                mode="pattern", cell_size=side / self.n, as_image=True,
                                show_labels=False)
            lab = self._note(f"head {h}", size=16,
                             color=THEME.highlight if h == self.H else THEME.text)
            sc = num_text(pct(self.head_score_table[L, h]), 14, THEME.dim)
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
        self._pause(2.6)

    @beat(needs=("tag",))
    def beat_arcs(self) -> None:
        """8. Arcs from the attended tokens to the attending one, back in the sentence."""
        t, L, H, Q = self.trace, self.L, self.H, self.Q
        self.fresh()
        n = self.n
        start = max(0, min(n - self.max_arc_tokens, Q - self.max_arc_tokens + 1))
        pos = list(range(start, min(n, start + self.max_arc_tokens)))
        tb = TokenBoxes([t.tokens[p] for p in pos], font_size=30, show_positions=True,
                        position_offset=start, max_width=None)
        if tb.width > 13.2:  # one row, scaled to fit, so every arc reads left to right
            tb.scale_to_fit_width(13.2)
        tb.move_to([0, -1.0, 0])
        qi = pos.index(Q)
        tb.highlight(qi)
        w = t.pattern[L, H, Q, pos]
        arcs = AttentionArcs(tb, w, qi, max_width=16.0, n_labels=4)
        notes = VGroup()
        if start > 0:
            hidden = float(t.pattern[L, H, Q, :start].sum())
            notes.add(self._note(f"positions 0–{start - 1} not shown: {pct(hidden)} of the weight",
                                 size=16).to_corner(UL, buff=0.35))
        # inputs vs prediction: every position is an input; the next-token guess is read
        # at the last one (a real number from the same forward pass)
        (best, p_best), = t.top_next(1)
        pred = self._note(f"inputs: positions 0–{n - 1}  ·  the model's prediction for the next "
                          f"token is read at position {n - 1}: ‘{token_label(best)}’ {pct(p_best)}",
                          size=16)
        pred.next_to(tb, DOWN, buff=0.75)
        self.shown["prediction"] = (best, p_best)
        notes.add(pred)
        self.reveal(tb, *notes, run_time=0.5)
        self.play(Create(VGroup(*[a for a in arcs.arcs if a is not None])), run_time=1.0)
        self.reveal(arcs.percent_labels, run_time=0.3)
        self.show_caption(self.caption_text("arcs", head=H, layer=L, tok=self._tok(Q), q=Q))
        self.shown["arcs"] = arcs
        self.shown["arc_positions"] = pos
        self._pause(3.0)
