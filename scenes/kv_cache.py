"""The KV cache: why generation does not recompute the past.

``manim render scenes/kv_cache.py`` renders :class:`KVCacheScene`:

1. ``beat_runs`` — two real runs: the prompt, and the prompt with its next token (the
   model's own top prediction) appended.
2. ``beat_same`` — the keys (then the values) of one head, run 1 beside run 2: the earlier
   positions hold the same numbers; the measured largest difference over every layer,
   head, position and number is shown.
3. ``beat_step`` — so a generation step computes only the new row: the new token's query
   against every cached key — q·k_0 counted term by term by the product piece (Kᵀ's columns
   are K's rows on screen), the other keys swept in —, × the real scale, and each softmax
   weight from its score, their running sum counted to 1 (= the run's own pattern row).
4. ``beat_cost`` — multiply-adds per step with and without the cache, counted from the
   model's shapes, at the prompt's length and at a long context; and what the cache holds.

Knobs: ``prompt``, ``model``, ``layer``, ``head``, ``entries``, ``long_context``, ``pause``.
Section ``[kv_cache]``.
"""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UL, UP, UR, FadeIn, FadeOut, FadeTransform, LaggedStart,
                   ReplacementTransform, SurroundingRectangle, VGroup)

from scenes.kit.analysis.kvcache import StepCost, cache_numbers, max_cache_diff
from scenes.kit.course.spec import Range
from scenes.kit.camera import FrameZoom
from scenes.kit.scene import GPTScene, beat
from scenes.kit.pieces import TokenBoxes, WeightMatrix
from scenes.kit.glossary import scale_str
from scenes.kit.pieces.product import MatrixProduct
from scenes.kit.text import num_text, number_str, token_label
from scenes.kit.theme import THEME, mass_text
from tensors import UserError

#: Per-layer weight matrices a token goes through (one multiply-add per entry).
PROJECTIONS = ("W_Q", "W_K", "W_V", "W_O", "W_gate", "W_in", "W_out")


def sci(x: float) -> str:
    """A measured difference as printed: '0 (identical)' or '3.1e-07'.

    >>> sci(0.0), sci(3.14e-7)
    ('0 (bit for bit)', '3.1e−07')
    """
    return "0 (bit for bit)" if x == 0 else f"{x:.1e}".replace("-", "−")


def settle(scene, group) -> None:
    """Make ``group`` one entry of the scene (its parts may have been added one by one), so
    that a later FadeOut(group) takes all of it."""
    scene.remove(*group.get_family())
    scene.add(group)



def said_cell(eq: Any, j: int, size: float, color: Any) -> Any:
    """Entry ``j`` of ``eq``'s result as an entry is printed (:func:`number_str`), made
    from the ledger entry by :meth:`Equation.say` and bound to it; a value whose printed
    form is not a plain format (−0.00 shown as 0.00, scientific) is drawn unbound."""
    v = float(np.asarray(eq.shown)[j])
    shown = number_str(v)
    said = eq.say(f"{{shown[{j}]:.{THEME.digits}f}}")
    cell = num_text(shown, size, color)
    return eq.bind(cell) if said == shown else cell

class KVCacheScene(FrameZoom, GPTScene):
    _subscripts = True
    _max_prompt_tokens, _max_prompt_why = 7, "one row per token"
    config_section = "kv_cache"
    beats = ("beat_runs", "beat_same", "beat_step", "beat_cost")

    #: Layer whose keys and values are drawn (0 to n_layer - 1).
    layer: ClassVar[int] = 0
    #: Query head whose keys and values are drawn (it reads kv head head // group size).
    head: ClassVar[int] = 0
    #: Numbers of each key/value row drawn (of d_head; 2 to 5).
    entries: ClassVar[Annotated[int, Range(2, 5)]] = 4
    #: The long context of the cost table, in tokens (None = the model's maximum, n_ctx).
    long_context: ClassVar[int | None] = None
    #: Seconds of reading pause after each step.
    pause: ClassVar[Annotated[float, Range(0, 60)]] = 1.6

    captions: ClassVar[dict[str, str]] = {
        "runs": "Two real runs of {model}: the prompt, and the prompt with its next token "
                "“{tok}” appended.",
        "keys": "Keys of layer {layer}, head {head}, for every position: run 1 beside run 2.",
        "same": "The earlier positions' keys are the same numbers: a token's key depends only on "
                "the tokens up to it.",
        "values": "And the values too. Only the new token's row is new.",
        "step": "So a generation step computes one new row, k and v of “{tok}”, and reads the "
                "cached rows of all earlier tokens.",
        "scores": "The new query against all {n} keys: q·k {scale}, then softmax — the "
                  "attention row of “{tok}” in run 2.",
        "cost": "Multiply-adds per step, counted from {model}'s shapes: the matrix products, "
                "with and without the cache.",
        "cache": "The price: the cache keeps a key and a value per layer and kv head for every "
                 "token.",
    }

    # ------------------------------------------------------------------ data
    @classmethod
    def model_problem(cls, t: Any, get: Any) -> tuple[str, str] | None:
        """(knob, what is allowed) for a ``layer`` or ``head`` this model lacks, or None."""
        info = t.info
        for knob, n in (("layer", info["n_layer"]), ("head", info["n_head"])):
            v = get(knob)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not -n <= v < n:
                return knob, f"must be 0 to {n - 1}: {info['name']} has {n} {knob}s"
        return None

    def prepare(self) -> None:
        t1 = self.trace
        info = self.info = t1.info
        problem = self.model_problem(t1, lambda k: getattr(self, k))
        if problem:
            raise UserError(f"{problem[0]} = {getattr(self, problem[0])!r} — {problem[1]}")
        self.L = int(self.layer) % info["n_layer"]
        self.H = int(self.head) % info["n_head"]
        self.kvh = t1.kv_head_of(self.H)
        n_ctx = info["n_ctx"]
        lc = n_ctx if self.long_context is None else self.long_context
        if isinstance(lc, bool) or not isinstance(lc, int) or not t1.n_pos + 1 < lc <= 10 ** 7:
            raise UserError(f"long_context = {self.long_context!r}: choose a whole number of tokens "
                            f"above {t1.n_pos + 1} (None = the model's n_ctx, {n_ctx:,})")
        self.long = int(lc)
        self.check_prompt_length(t1.prompt, self.model, n_tokens=t1.n_pos)
        # run 2: the prompt and the model's own next token
        self.next_id = int(np.argmax(t1.logits[-1]))
        self.next_str = t1.token_strs([self.next_id])[0]
        text2 = t1.prompt + t1.tokenizer.decode([self.next_id])
        t2 = self.trace2 = self.load_trace(text2)
        n = t1.n_pos
        if t2.n_pos != n + 1 or list(t2.token_ids[:n]) != list(t1.token_ids) \
                or int(t2.token_ids[n]) != self.next_id:
            raise UserError(f"the prompt plus its next token {self.next_str!r} is tokenized "
                            f"differently from the prompt's tokens + that token; choose another "
                            f"prompt (e.g. 'The capital of France is')")
        self.n = n
        self.dk, self.dv = max_cache_diff(t1.k, t1.v, t2.k, t2.v)
        # the cost, from the stored weights' shapes
        w = t1.weights
        shapes = {name: tuple(w.shape(name)) for name in w.names}
        per_layer = [int(np.prod(shapes[m][1:])) for m in PROJECTIONS if m in shapes]
        self.proj_sizes = per_layer
        self.proj = int(sum(per_layer))
        V, d = shapes["W_U" if "W_U" in shapes else "W_E"]
        self.cost = StepCost(n_layer=info["n_layer"], proj=self.proj, n_head=info["n_head"],
                             d_head=info["d_head"], unembed=int(V) * int(d))
        self.tag = self.model_tag(f"layer {self.L}", f"head {self.H}")

    # ------------------------------------------------------------------ pieces
    def build_runs_g(self) -> None:
        t1, t2 = self.trace, self.trace2
        self.title = self.text("The KV cache", size=34).to_corner(UL, buff=0.35)
        r1 = TokenBoxes(t1.tokens, font_size=22, max_width=None)
        r2 = TokenBoxes(t2.tokens, font_size=22, max_width=None)
        r2.highlight(self.n, THEME.accent, 0.28)
        lab1 = self.text("run 1", size=20, color=THEME.dim)
        lab2 = self.text("run 2", size=20, color=THEME.dim)
        r1.move_to([0, 2.45, 0], aligned_edge=LEFT).set_x(-4.8, direction=LEFT)
        r2.move_to([0, 1.85, 0], aligned_edge=LEFT).set_x(-4.8, direction=LEFT)
        lab1.next_to(r1, LEFT, buff=0.3)
        lab2.next_to(r2, LEFT, buff=0.3)
        for r in (r1, r2):
            if r.get_right()[0] > 6.9:
                raise UserError("the prompt is too long to draw here; use a shorter prompt "
                                "(about 8 tokens)")
        p = float(t1.probs(-1)[self.next_id])
        why = self.text(f"← run 1's most likely next token ({mass_text(p)})", size=20,
                        color=THEME.accent).next_to(r2, RIGHT, buff=0.25)
        if why.get_right()[0] > 6.9:
            why = VGroup()
        self.runs_g = VGroup(lab1, r1, lab2, r2, why)
        self.runs_g.r1, self.runs_g.r2, self.runs_g.why = r1, r2, why
        self.add(self.tag, self.title, self.runs_g)

    def matrix(self, M: np.ndarray, n_rows: int, name: str, scale: float,
               labels_right: bool = False) -> VGroup:
        """Rows of keys (or values) of the shown head: first ``entries`` numbers, a row per
        position, labelled with its token (on the left, or the right)."""
        e = self.entries
        m = WeightMatrix(M[:n_rows, :e], (n_rows, M.shape[1]), font_size=20, scale=scale,
                         digits=2, v_buff=0.13, h_buff=0.3)
        toks = self.trace2.tokens[:n_rows]
        labs = VGroup()
        for r, tok in enumerate(toks):
            lab = num_text(token_label(tok), 20, THEME.dim)
            if labels_right:
                lab.next_to(m.brackets[1], RIGHT, buff=0.15)
            else:
                lab.next_to(m.brackets[0], LEFT, buff=0.15)
            labs.add(lab.set_y(m.row(r).get_y()))
        title = self.text(name, size=24).next_to(m.brackets, UP, buff=0.15)
        g = VGroup(m, labs, title)
        g.m, g.labs, g.title = m, labs, title
        return g

    # ------------------------------------------------------------------ beats
    def beat_runs(self) -> None:
        self.build_runs_g()
        g = self.runs_g
        self.remove(self.title, g)
        self.play(FadeIn(self.title), run_time=0.4)
        self.show_caption(self.caption_text("runs", model=self.info["name"],
                                            tok=token_label(self.next_str)))
        self.play(FadeIn(g[0]), FadeIn(g.r1), run_time=0.5)
        self.play(FadeIn(g[2]), ReplacementTransform(g.r1.boxes.copy(), VGroup(*g.r2.boxes[:self.n])),
                  run_time=0.6)
        self.play(FadeIn(g.r2.boxes[self.n], shift=0.2 * LEFT), FadeIn(g.why), run_time=0.5)
        self.remove(*g.r2.boxes)
        self.add(g.r2)
        self.wait_read()

    def kv_pair(self, which: str) -> VGroup:
        t1, t2 = self.trace, self.trace2
        A, B = getattr(t1, which)[self.L, self.H], getattr(t2, which)[self.L, self.H]
        scale = float(np.abs(B[:, :self.entries]).max())
        sym = "K" if which == "k" else "V"
        left = self.matrix(A, self.n, f"{sym}, run 1", scale)
        right = self.matrix(B, self.n + 1, f"{sym}, run 2", scale, labels_right=True)
        left.align_to([0, 1.35, 0], UP).align_to([-6.0, 0, 0], LEFT)
        right.align_to([0, 1.35, 0], UP).align_to([6.0, 0, 0], RIGHT)
        mid = (left.m.brackets.get_right()[0] + right.m.brackets.get_left()[0]) / 2
        eqs = VGroup(*[num_text("=", 24, THEME.accent).move_to([mid, left.m.row(r).get_y(), 0])
                       for r in range(self.n)])
        new = SurroundingRectangle(VGroup(right.m.row(self.n), right.labs[self.n]),
                                   color=THEME.accent, buff=0.06)
        diff = self.dk if which == "k" else self.dv
        what = "keys" if which == "k" else "values"
        note = self.text(f"largest |run 1 − run 2| over the {what} of all {self.info['n_layer']} "
                         f"layers, heads and earlier positions: {sci(diff)}", size=22,
                         color=THEME.accent)
        note.move_to([0, -2.35, 0])
        g = VGroup(left, right, eqs, new, note)
        g.left, g.right, g.eqs, g.new, g.note, g.diff = left, right, eqs, new, note, diff
        return g

    @beat(needs=("runs_g",))
    def beat_same(self) -> None:
        ks = self.kv_pair("k")
        self.show_caption(self.caption_text("keys", layer=self.L, head=self.H))
        self.play(FadeIn(ks.left), FadeIn(ks.right), run_time=0.7)
        self.wait_read(0.5)
        self.show_caption(self.caption_text("same"))
        self.play(FadeIn(ks.eqs), FadeIn(ks.new), run_time=0.5)
        self.play(FadeIn(ks.note, shift=0.1 * UP), run_time=0.5)
        self.wait_read(1.2)
        vs = self.kv_pair("v")
        self.show_caption(self.caption_text("values"))
        swap = [ks.left.m, ks.right.m, ks.left.title, ks.right.title, ks.note]
        into = [vs.left.m, vs.right.m, vs.left.title, vs.right.title, vs.note]
        # the keys leave before the values arrive in their place (no numbers cross-fading)
        self.play(*[FadeOut(a) for a in swap], run_time=0.4)
        self.play(*[FadeIn(b) for b in into], run_time=0.5)
        self.wait_read(1.2)
        self.kv_shown = {"k": ks, "v": vs}
        # what is on screen now: the values, with the labels and marks of the keys' frame
        left, right = VGroup(vs.left.m, ks.left.labs, vs.left.title), \
            VGroup(vs.right.m, ks.right.labs, vs.right.title)
        right.m, right.labs, right.title = vs.right.m, ks.right.labs, vs.right.title
        same = VGroup(left, right, ks.eqs, ks.new, vs.note)
        same.left, same.right, same.eqs, same.new, same.note = left, right, ks.eqs, ks.new, vs.note
        settle(self, same)
        self.same_g = same

    @beat(needs=("runs_g",))
    def beat_step(self) -> None:
        t2 = self.trace2
        L, H, n = self.L, self.H, self.n
        if hasattr(self, "same_g"):
            self.play(FadeOut(self.same_g.left), FadeOut(self.same_g.eqs),
                      FadeOut(self.same_g.note), run_time=0.5)
        tok = token_label(self.next_str)
        K = t2.k[L, H]
        kg = self.matrix(K, n + 1, "K, run 2", float(np.abs(K[:, :self.entries]).max()))
        kg.align_to([0, 1.35, 0], UP).align_to([-6.0, 0, 0], LEFT)
        cached = SurroundingRectangle(VGroup(*[kg.m.row(r) for r in range(n)]), color=THEME.dim,
                                      buff=0.06)
        cached_lab = self.text("cached", size=20, color=THEME.dim)
        cached_lab.next_to(kg.m.brackets, RIGHT, buff=0.15).set_y(cached.get_y())
        new = SurroundingRectangle(VGroup(kg.m.row(n), kg.labs[n]), color=THEME.accent, buff=0.06)
        new_lab = self.text("new", size=20, color=THEME.accent)
        new_lab.next_to(kg.m.brackets, RIGHT, buff=0.15).set_y(new.get_y())
        self.show_caption(self.caption_text("step", tok=tok))
        anims = [FadeIn(kg.labs), FadeIn(kg.title)]
        if hasattr(self, "same_g"):
            anims.append(FadeTransform(self.same_g.right.m, kg.m))
            anims += [FadeOut(self.same_g.right.labs), FadeOut(self.same_g.right.title),
                      FadeOut(self.same_g.new)]
        else:
            anims.append(FadeIn(kg.m))
        self.play(*anims, run_time=0.8)
        if hasattr(self, "same_g"):      # consumed: its right matrix became this one
            self.remove(*[m for m in self.same_g.get_family() if m not in kg.get_family()])
            del self.same_g
        self.play(FadeIn(cached), FadeIn(cached_lab), FadeIn(new), FadeIn(new_lab), run_time=0.5)
        self.wait_read()
        # the new query against every key: q·k, × scale, softmax (= run 2's pattern row)
        q = t2.q[L, H, n].astype(np.float64)
        scale = float(self.info["layers"][L]["attn_scale"])
        raw = q @ K.T.astype(np.float64)
        scores = t2.scores[L, H, n]
        pattern = t2.pattern[L, H, n]
        self.equation("matmul", "q · k_j", shown=raw, x=t2.q[L, H, n], W=K.T)
        e_sc = self.equation("scale", scale_str(scale, self.info["d_head"]), shown=scores, a=raw,
                             s=scale)
        e_sm = self.equation("softmax", "softmax", shown=pattern, z=scores)
        x0, y0 = 1.15, -0.1
        pitch = min(0.95, (6.85 - x0 - 0.45) / (n + 1))
        e = self.entries
        # q as a row (the vector), Kᵀ as the matrix: its column j is the key of position j,
        # drawn where K's row j already is on screen
        qlab = self.text(f"q of “{tok}” (new)", size=20, color=THEME.query)
        qlab.move_to([x0, 1.35, 0], aligned_edge=LEFT)
        qg = WeightMatrix(q[None, :e], (1, q.shape[0]), font_size=20, digits=2,
                          truncated_cols=True, show_shape=False)
        qg.next_to(qlab, DOWN, buff=0.15).align_to(qlab, LEFT)
        kt = WeightMatrix(K.T[:e, :n + 1].astype(np.float64), (K.shape[1], n + 1), font_size=20,
                          digits=2, show_shape=False)
        for i in range(e):
            for j in range(n + 1):
                kt.entry(i, j).move_to(kg.m.entry(j, i))
        probe = WeightMatrix(raw[None], (1, n + 1), font_size=20, show_shape=False)
        cw = max(m.width for m in probe.entries)
        out = WeightMatrix(raw[None], (1, n + 1), font_size=20, show_shape=False,
                           h_buff=max(0.08, pitch - cw))
        out.move_to([x0 + 0.45 - out.entry(0, 0).get_x() + out.get_x(), y0, 0])
        cols_x = [float(m.get_x()) for m in out.entries]
        labels = ["q · k_j  (j = 0 … %d)" % n, scale_str(scale, self.info["d_head"]),
                  "softmax: the attention weights"]
        rows = VGroup()
        for i, (eq, color) in enumerate(((None, THEME.key), (e_sc, THEME.key),
                                         (e_sm, THEME.highlight))):
            cells = (out.entries if eq is None else VGroup(*[
                said_cell(eq, j, 20, color).move_to([cx, y0 - 0.88 * i, 0])
                for j, cx in enumerate(cols_x)]))
            name = self.text(labels[i], size=20, color=THEME.dim)
            name.move_to([x0, y0 - 0.88 * i + 0.4, 0], aligned_edge=LEFT)
            rows.add(VGroup(cells, name))
        self.show_caption(self.caption_text("scores", n=n + 1, tok=tok,
                                            scale=scale_str(scale, self.info["d_head"])))
        self.play(FadeIn(qlab), FadeIn(qg), FadeIn(rows[0][1]), FadeIn(out.brackets), run_time=0.6)
        # q·k_0 counted term by term (the product piece), the other keys swept in
        p = MatrixProduct(qg, kt, out, x=q, W=K.T.astype(np.float64), result=raw[None],
                          names=("q", "Kᵀ", ""))
        self.zoom_to(qg, kg.m, out.entry(0, 0), margin=0.4, min_width=8.0)   # follow q·k_0
        note = p.work(self, 0, [0], step=0.4)
        self.pull_back(run_time=0.7)
        p.sweep(self, run_time=1.2, remove=[note, *note.submobjects])
        # × scale: each score from its dot product
        self.play(FadeIn(rows[1][1]), LaggedStart(*[ReplacementTransform(c.copy(), d) for c, d in
                                                    zip(rows[0][0], rows[1][0])], lag_ratio=0.12),
                  run_time=0.9)
        # softmax: each weight from its score; their running sum counted to 1
        run = np.cumsum(pattern.astype(np.float64))
        total = self.text("sum: ", size=20, color=THEME.dim)
        total.move_to([x0, y0 - 2.2, 0], aligned_edge=LEFT)
        sums = []
        for j in range(n + 1):      # each running sum drawn from its ledger entry
            e_run = self.equation("sum", f"sum of the first {j + 1} weights", shown=float(run[j]),
                                  terms=pattern[:j + 1])
            sums.append(e_run.bind(num_text(e_run.say("{shown:.4f}"), 20, THEME.text)
                                   .next_to(total, RIGHT, buff=0.1)))
        self.play(FadeIn(rows[2][1]), FadeIn(total), run_time=0.3)
        for j in range(n + 1):
            anims = [ReplacementTransform(rows[1][0][j].copy(), rows[2][0][j])]
            anims.append(FadeIn(sums[0]) if j == 0 else ReplacementTransform(sums[j - 1], sums[j]))
            self.play(*anims, run_time=0.35 if j else 0.5)
        sums = VGroup(total, sums[-1])
        self.step_g = VGroup(kg, cached, cached_lab, new, new_lab, qlab, qg, out, rows[0][1], rows[1],
                             rows[2], sums)
        settle(self, self.step_g)
        self.step_rows = {"raw": raw, "scores": scores, "pattern": pattern}
        self.wait_read(1.5)

    def _cost_table(self) -> VGroup:
        c, info = self.cost, self.info
        lens = (self.n + 1, self.long)
        x_lab, x_wo, x_wi, x_ratio = -6.6, 0.6, 3.9, 6.9
        y = 1.2
        head = VGroup(self.text("one step, reading", size=20, color=THEME.dim),
                      self.text("without the cache", size=20, color=THEME.dim),
                      self.text("with the cache", size=20, color=THEME.dim))
        for m, xx, edge in zip(head, (x_lab, x_wo, x_wi), (UL, UR, UR)):
            m.move_to([xx, y, 0], aligned_edge=edge)
        rows = VGroup(head)
        self.costs = {}
        for n in lens:
            y -= 0.6
            wo, wi = c.without_cache(n), c.with_cache(n)
            e_wo = self.equation("total", f"without the cache, n = {n}", shown=wo,
                                 parts=c.without_cache_parts(n))
            e_wi = self.equation("total", f"with the cache, n = {n}", shown=wi,
                                 parts=c.with_cache_parts(n))
            self.costs[n] = (wo, wi)
            e_r = self.equation("scale", "× fewer", shown=wo / wi, a=wo, s=1.0 / wi)
            what = "tokens (run 2)" if n == self.n + 1 else "tokens"
            # the counts and the ratio drawn from their ledger entries
            cells = [self.text(f"{n:,} {what}", size=22),
                     e_wo.bind(num_text(e_wo.say("{shown:,}"), 22)),
                     e_wi.bind(num_text(e_wi.say("{shown:,}"), 22, THEME.accent)),
                     e_r.bind(self.text(e_r.say("{shown:,.1f}× fewer"), size=22, color=THEME.accent))]
            for m, xx, edge in zip(cells, (x_lab, x_wo, x_wi, x_ratio), (UL, UR, UR, UR)):
                m.move_to([xx, y, 0], aligned_edge=edge)
            rows.add(VGroup(*cells))
        # the counting rule, with the model's numbers
        names = [m for m in PROJECTIONS if m in self.trace.weights.names]
        self.equation("total", "per token and block: " + " + ".join(names), shown=self.proj,
                      parts=self.proj_sizes)
        lines = [f"counted: one multiply-add per weight of a block's matrices ({', '.join(names)})",
                 f"= {self.proj:,} per token and block; attention over j keys: 2 × "
                 f"{info['n_head']} heads × {info['d_head']} × j;",
                 f"the last position's logits: {info['d_model']:,} × {info['vocab_size']:,}. "
                 f"Norms and activations are left out."]
        rules = VGroup(*[self.text(s, size=20, color=THEME.dim) for s in lines])
        rules.arrange(DOWN, aligned_edge=LEFT, buff=0.12)
        rules.move_to([x_lab, y - 0.6, 0], aligned_edge=UL)
        per_tok = cache_numbers(info["n_layer"], info["n_kv_head"], info["d_head"])
        e_tok = self.equation("product", "2 × layers × kv heads × d_head", shown=per_tok,
                              factors=[2, info["n_layer"], info["n_kv_head"], info["d_head"]])
        e_long = self.equation("product", "per token × long context", shown=per_tok * self.long,
                               factors=[per_tok, self.long])
        # one line, two entries: the factors and per-token count from the first, the long
        # context's count from the second (both said, the line bound to the joined text)
        said = (e_tok.say("cache: {factors[0]} × {factors[1]} layers × {factors[2]} kv heads × "
                          "{factors[3]} = {shown:,} numbers per token, ")
                + e_long.say("{shown:,} at {factors[1]:,}"))
        mem = self.text(said, size=22, color=THEME.highlight)
        e_tok.bind(mem, said)
        e_long.bind(mem, said)
        mem.move_to([x_lab, rules.get_bottom()[1] - 0.35, 0], aligned_edge=UL)
        g = VGroup(rows, rules, mem)
        g.rows, g.rules, g.mem = rows, rules, mem
        return g

    @beat(needs=("runs_g",))
    def beat_cost(self) -> None:
        gone = [m for m in (getattr(self, "step_g", None), getattr(self, "same_g", None))
                if m is not None]
        for m in gone:
            settle(self, m)
        table = self._cost_table()
        self.cost_g = table
        self.show_caption(self.caption_text("cost", model=self.info["name"]))
        self.play(*[FadeOut(m) for m in gone], FadeIn(table.rows[0]), run_time=0.6)
        for row in table.rows[1:]:
            self.play(FadeIn(row, shift=0.1 * DOWN), run_time=0.6)
            self.wait_read(0.5)
        self.play(FadeIn(table.rules), run_time=0.5)
        self.wait_read()
        self.show_caption(self.caption_text("cache"))
        self.play(FadeIn(table.mem, shift=0.1 * UP), run_time=0.5)
        self.wait_read(1.5)
