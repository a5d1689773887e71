"""Beat 2 of :class:`scenes.mlp.MLPScene`: the real vector through the MLP's first half
(and :meth:`MLPNeuronBeats.flow`, beat 1's trip of one vector through the block diagram).

A mixin: it relies on the scene's state made by ``prepare`` (``trace``, ``L``, ``pos``,
``top``, ``act_name``, ``gated`` …) and its helpers (``cap``, ``stage``, ``text``). On screen,
in order: x and its norm x̂ (the norm applied in place: x's entries become x̂'s); W_gate (then
W_in) drawn as a matrix block with its real shape, the block's columns the shown neurons;
each neuron's value x̂·W computed under its column; the matrix leaves and its results form a
table (neurons as columns); each gate value flies to the activation's plot, a point moves
along the model's own curve (SiLU, GELU …, plotted from that function) from 0 to the real
value, and the value it reaches drops into the table; gate ⊙ up gives each neuron's
activation. Every number is the Trace's; every equation is recorded in the ledger.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from manim import (DOWN, DR, LEFT, RIGHT, UP, Arrow, Axes, Create, Dot, FadeIn, FadeOut,
                   FadeTransform, LaggedStart, Line, MoveAlongPath, Rectangle, ReplacementTransform,
                   Transform, VGroup, VMobject, config)

from .analysis.mlp import ACT_TEX, activation
from .course.knobs import beat
from .pieces import WeightMatrix
from .pieces.product import MatrixProduct
from .text import num_text, token_label
from .theme import THEME, digits_for, fmt
from .transitions import in_flight

__all__ = ["MLPNeuronBeats", "PRODUCT_ROWS"]

NUM, LABEL = 22, 25
#: Gap under the name of beat 1's travelling dot: the name's bottom clears the top of a
#: 0.7-high diagram box whose edge the dot stops at (0.35 − the dot's 0.09 radius + 0.04).
CHIP_BUFF = 0.3
#: Entries of x̂ (rows of W_in / W_gate) drawn in the products: room for the result rows.
PRODUCT_ROWS = 4



def said_entry(eq: Any, c: int, v: float, size: float, color: Any) -> Any:
    """Value ``v`` as a table entry (:func:`fmt`); with a ledger entry ``eq`` whose result's
    entry ``c`` it is, made by :meth:`Equation.say` and bound to it (unbound where fmt
    prints what a format spec does not: scientific notation)."""
    want = fmt(v)
    m = num_text(want, size, color)
    if eq is not None and eq.say(f"{{shown[{c}]:+.{THEME.digits}f}}") == want:
        eq.bind(m)
    return m

class MLPNeuronBeats:
    """``beat_vector`` of the MLP scene (see the module doc)."""

    def flow(self, g: VGroup) -> None:
        """One vector's trip through the diagram: x leaves the stream, is normed (x̂), goes
        through W_in (and W_gate) — their real shapes appear as it enters them —, the
        nonlinearity, W_out, and comes back as Δx, added to the stream."""
        shapes = g[6]
        y_s, x_in = g.stream.get_y(), g[2][0].get_x()
        plus = g[3]

        def chip(at: Any, s: str) -> VGroup:
            """A dot with its name above it, high enough to clear the 0.7-high boxes whose
            edges it stops at, on an opaque backing: where it crosses an arrow or the
            stream, the name is read, not the line under it. [dot, backing, name]"""
            dot = Dot(at, radius=0.09, color=THEME.highlight)
            lab = self.text(s, size=LABEL, color=THEME.highlight)
            back = Rectangle(width=1, height=1, stroke_width=0, fill_color=THEME.background,
                             fill_opacity=1.0)

            def place(m: Any, d: Dot = dot) -> None:
                m.next_to(d, UP, buff=CHIP_BUFF)

            def fit(b: Any, m: Any = lab) -> None:
                place(m)
                b.stretch_to_fit_width(m.width + 0.12).stretch_to_fit_height(m.height + 0.1)
                b.move_to(m)

            lab.add_updater(place)
            back.add_updater(fit)
            place(lab)
            fit(back)
            return VGroup(dot, back, lab)

        def path(*pts: Any) -> VMobject:
            return VMobject().set_points_as_corners([np.array(p_, dtype=float) for p_ in pts])

        def go(chips: list, paths: list, *extra: Any, run_time: float = 1.0) -> None:
            self.play(*[MoveAlongPath(c[0], pa) for c, pa in zip(chips, paths)], *extra,
                      run_time=run_time)

        def relabel(c: VGroup, s: str, at: Any) -> Any:
            """The chip's name becomes ``s`` on its way to ``at``."""
            new = self.text(s, size=LABEL, color=THEME.highlight).next_to(
                Dot(at, radius=0.09), UP, buff=CHIP_BUFF)
            c[2].text = s          # what the name says once the play ends
            return Transform(c[2], new)

        def lit(box_: VGroup) -> Any:
            return box_[0].animate.set_fill(opacity=0.35)

        def through(cs: list, boxes: list, names: list, *extra: Any) -> None:
            """The chips cross their boxes (left edge to right edge), relabelled."""
            self.play(*[c[0].animate.move_to(b_.get_right()) for c, b_ in zip(cs, boxes)],
                      *[relabel(c, nm, b_.get_right()) for c, nm, b_ in zip(cs, names, boxes)],
                      *[lit(b_) for b_ in set(boxes)], *extra, run_time=0.5)

        x = chip([-6.9, y_s, 0], "x")
        self.play(FadeIn(x), run_time=0.3)
        go([x], [path([-6.9, y_s, 0], [x_in, y_s, 0], [x_in, g.norm.get_y(), 0], g.norm.get_left())],
           run_time=1.1)
        through([x], [g.norm], ["x̂"])
        names = ["up", "gate"] if self.gated else ["pre"]
        proj_shapes = [shapes[0]] + ([shapes[2]] if self.gated else [])
        parts = [x] + [chip(g.norm.get_right(), "x̂") for _ in names[1:]]
        self.add(*parts[1:])
        go(parts, [path(g.norm.get_right(), p.get_left()) for p in g.projs],
           *[FadeIn(s_, shift=0.1 * UP) for s_ in proj_shapes], run_time=0.8)
        through(parts, list(g.projs), names)
        go(parts, [path(p.get_right(), g.act.get_left()) for p in g.projs],
           FadeIn(shapes[-1], shift=0.1 * UP), run_time=0.7)
        self.remove(*parts[1:])
        d = g.down
        through([x], [g.act], ["act"])
        go([x], [path(g.act.get_right(), d.get_left())], FadeIn(shapes[1], shift=0.1 * UP), run_time=0.6)
        through([x], [d], ["Δx"])
        x_out = plus.get_x()
        # its name leaves as it goes down into the ⊕ (it would sit on the arrow and the ⊕)
        go([x], [path(d.get_right(), [x_out, d.get_y(), 0], plus.get_center())],
           FadeOut(x[1:]), run_time=0.8)
        self.play(x[0].animate.scale(1.6).set_opacity(0),
                  plus[0].animate.set_stroke(THEME.highlight, width=5), run_time=0.5)
        self.play(plus[0].animate.set_stroke(THEME.text, width=3), run_time=0.3)
        x[1].clear_updaters()
        x[2].clear_updaters()
        self.remove(x)

    def row_under(self, M: WeightMatrix, vals: np.ndarray, full: int, top: float) -> WeightMatrix:
        """A 1 × len(vals) grid whose columns stand under ``M``'s (the same pitch), its top at
        ``top``: the result row of a product with ``M``."""
        kw = dict(font_size=NUM, truncated_cols=True, truncated_rows=False, show_shape=False)
        probe = WeightMatrix(vals[None], (1, full), **kw)
        step = (M.entry(0, 1).get_right()[0] - M.entry(0, 0).get_right()[0]) if len(vals) > 1 else 1.0
        out = WeightMatrix(vals[None], (1, full), h_buff=step - max(e.width for e in probe.entries), **kw)
        out.shift([M.entry(0, 0).get_right()[0] - out.entry(0, 0).get_right()[0],
                   top - out.get_top()[1], 0])
        return out

    def make_vector(self) -> VGroup:
        """Everything beat_vector draws, at its place (the parts know their stages)."""
        t, L, p = self.trace, self.L, self.pos
        n = min(self.entries, PRODUCT_ROWS)
        x = np.asarray(t.resid_mid[L, p], np.float64)
        xh = np.asarray(t.mlp_in[L, p], np.float64)
        w = t.weights
        g2, b2 = np.asarray(t.block("ln2.w", L), np.float64), np.asarray(t.block("ln2.b", L), np.float64)
        if self.norm2["type"] == "RMSNorm":
            self.equation("rmsnorm", "x̂ = RMSNorm(x)", shown=xh, x=x, g=g2, eps=self.norm2["eps"])
        else:
            self.equation("layernorm", "x̂ = LayerNorm(x)", shown=xh, x=x, g=g2, b=b2,
                          eps=self.norm2["eps"])
        idx = self.top
        pre = np.asarray(t.mlp_pre[L, p, idx], np.float64)
        actv = np.asarray(t.mlp_act[L, p, idx], np.float64)
        fx = ACT_TEX[self.act_name]
        # the matrices: W_gate then W_in (or W_in alone), full, and their shown blocks
        mats = [("W_in", np.asarray(t.W_in(L), np.float64), pre, "up" if self.gated else "pre",
                 np.asarray(w.get("b_in", L), np.float64) if w.is_real("b_in") else None, "b_in")]
        if self.gated:
            gate = np.asarray(t.mlp_gate[L, p, idx], np.float64)
            mats.insert(0, ("W_gate", np.asarray(t.W_gate(L), np.float64), gate, "gate",
                            np.asarray(w.get("b_gate", L), np.float64) if w.is_real("b_gate") else None,
                            "b_gate"))
            f_gate = activation(gate, self.act_name)
            acts = [self.equation("activation", f"{fx}(gate)", shown=f_gate, x=gate, name=self.act_name),
                    self.equation("activation", f"{fx}(gate) ⊙ up", shown=actv, x=gate,
                                  name=self.act_name, up=pre)]
        else:
            gate, f_gate = pre, actv
            acts = [self.equation("activation", f"{fx}(pre)", shown=actv, x=pre, name=self.act_name)]
        # the widest of the x and x̂ rows (x's entries are often wider): the matrix starts right of it
        x_w = max(WeightMatrix(v[None, :n], (1, self.d_model), font_size=NUM, truncated_cols=True,
                               show_shape=False, label=lab, label_dir=LEFT).width
                  for v, lab in ((x, "x"), (xh, "x̂")))
        digits = digits_for(max(float(np.abs(W[:n][:, idx]).max()) for _, W, *_ in mats))
        blocks = []
        for name, W, vals, row_name, b, bname in mats:
            M = WeightMatrix(W[:n][:, idx], (self.d_model, self.d_mlp), font_size=NUM, digits=digits,
                             truncated_rows=True, truncated_cols=True, show_shape=False)
            left = max(-1.75, -config.frame_width / 2 + 0.3 + x_w + 0.4)   # right of the x̂ row
            M.shift([left - M.brackets.get_left()[0], self.content_top - 1.0 - M.brackets.get_top()[1], 0])
            M.name, M.full, M.vals, M.row_name, M.b, M.bname = name, W, vals, row_name, b, bname
            blocks.append(M)
        M0 = blocks[0]
        ids = VGroup(*[num_text(f"#{i}", NUM, THEME.text).move_to(
            [M0.entry(0, c).get_x(), M0.brackets.get_top()[1] + 0.28, 0]) for c, i in enumerate(idx)])
        for M in blocks:
            M.label = self.text(f"{M.name}  ({self.d_model:,} × {self.d_mlp:,}): a column per neuron",
                                size=LABEL).next_to(ids, UP, buff=0.15).align_to(M.brackets, LEFT)
            k = blocks.index(M)
            M.out = self.row_under(M, M.vals, self.d_mlp, M0.brackets.get_bottom()[1] - 0.12 - 0.55 * k)
            M.out_lab = self.text(f"{M.row_name} =", size=LABEL, color=THEME.dim)
            M.out_lab.next_to(M.out.brackets, LEFT, buff=0.15)
        # x and x̂ as rows (row vectors), left of the matrix; x̂ = norm(x) below x
        xr = WeightMatrix(x[None, :n], (1, self.d_model), font_size=NUM, truncated_cols=True,
                          show_shape=False, label="x", label_dir=LEFT)
        xhr = WeightMatrix(xh[None, :n], (1, self.d_model), font_size=NUM, truncated_cols=True,
                           show_shape=False, label="x̂", label_dir=LEFT)
        xr.move_to([0, M0.entry(0, 0).get_y() + 0.1, 0]).to_edge(LEFT, buff=0.3)
        xhr.move_to([0, xr.get_y() - 1.25, 0]).align_to(xr, RIGHT)
        arr = Arrow(xr.brackets.get_bottom(), xhr.brackets.get_top(), buff=0.1, color=THEME.dim,
                    stroke_width=3, max_tip_length_to_length_ratio=0.3)
        nlab = self.text(self.norm2["type"], size=LABEL, color=THEME.dim).next_to(arr, RIGHT, buff=0.15)
        note_at = VMobject().set_points_as_corners([[xr.get_left()[0], xhr.get_bottom()[1] - 0.1, 0],
                                                    [xr.get_left()[0] + 0.01, xhr.get_bottom()[1] - 0.1, 0]])
        # the table (after the matrix leaves): neurons as columns, one row per step
        names = [M.row_name for M in blocks] + ([f"{fx}(gate)", "⊙ up"] if self.gated else [f"{fx}(pre)"])
        vals = [M.vals for M in blocks] + ([f_gate, actv] if self.gated else [actv])
        eqs = [None] * len(blocks) + acts          # the activation rows: drawn from their entries
        widest = max(self.text(nm, size=LABEL).width for nm in names)
        shift = -config.frame_width / 2 + 0.3 + widest + 0.3 - (M0.entry(0, 0).get_left()[0])
        col_x = [float(M0.entry(0, c).get_x()) + shift for c in range(len(idx))]
        y_t0 = ids.get_y() - 0.6
        rows = VGroup()
        for r, (nm, vv, eq) in enumerate(zip(names, vals, eqs)):
            last = r == len(names) - 1
            cells = VGroup(*[said_entry(eq, c, float(v), NUM, THEME.highlight if last else THEME.text)
                             .move_to([cx, y_t0 - 0.55 * r, 0]) for c, (cx, v) in enumerate(zip(col_x, vv))])
            for c, v in zip(cells, vv):
                c.value = float(v)
            lab = self.text(nm, size=LABEL, color=THEME.highlight if last else THEME.dim)
            lab.move_to([cells.get_left()[0] - 0.3, cells.get_y(), 0], aligned_edge=RIGHT)
            rows.add(VGroup(lab, cells))
        ids_t = ids.copy().shift(shift * RIGHT)
        # the activation, plotted from the model's own function
        lo = min(-3.0, float(gate.min()) - 0.5)
        hi = max(3.0, float(gate.max()) + 0.5)
        f = lambda z: float(activation(np.array(z), self.act_name))
        ylo, yhi = min(-1.0, f(lo), f(hi)) - 0.2, max(f(lo), f(hi), 1.0) + 0.2
        ax = Axes(x_range=[lo, hi, max(1, round((hi - lo) / 6))],
                  y_range=[ylo, yhi, max(1, round((yhi - ylo) / 4))],
                  x_length=3.4, y_length=3.0, tips=False,
                  axis_config={"color": THEME.dim, "stroke_width": 2, "include_ticks": False})
        ax.move_to([5.1, self.content_top - 2.4, 0])
        curve = ax.plot(f, x_range=[lo, hi, (hi - lo) / 200], color=THEME.highlight, stroke_width=3)
        fname = self.text(f"{fx}(z)", size=LABEL, color=THEME.highlight).next_to(ax, UP, buff=0.1)
        zl = VGroup(self.text("gate" if self.gated else "pre", size=LABEL, color=THEME.dim))
        zl.next_to(ax.x_axis, UP, buff=0.1).align_to(ax, RIGHT)
        xt, yt = int(np.floor(hi)), int(np.floor(max(f(lo), f(hi))))
        # "0" below-right of the origin (left of it the curve dips under the axis: GELU, SiLU);
        # the numbers under the axis clear the neurons' ticks (0.09 below it)
        zl.add(num_text("0", NUM, THEME.dim).next_to(ax.c2p(0, 0), DR, buff=0.12),
               num_text(str(xt), NUM, THEME.dim).next_to(ax.c2p(xt, 0), DOWN, buff=0.14),
               Line(ax.c2p(xt, 0) + 0.06 * DOWN, ax.c2p(xt, 0) + 0.06 * UP, color=THEME.dim),
               num_text(str(yt), NUM, THEME.dim).next_to(ax.c2p(0, yt), LEFT, buff=0.08),
               Line(ax.c2p(0, yt) + 0.06 * LEFT, ax.c2p(0, yt) + 0.06 * RIGHT, color=THEME.dim))
        # each neuron: a tick where its value lies on the axis, and a point that moves along
        # the curve from z = 0 to that value
        ticks = VGroup(*[Line(ax.c2p(float(z), 0) + 0.09 * DOWN, ax.c2p(float(z), 0) + 0.09 * UP,
                              color=THEME.text, stroke_width=3) for z in gate])
        paths = [VMobject().set_points_as_corners(
            [ax.c2p(float(s_), f(float(s_))) for s_ in np.linspace(0.0, float(z), 24)]) for z in gate]
        dots = VGroup(*[Dot(ax.c2p(float(z), f(float(z))), radius=0.06, color=THEME.text)
                        for z in gate])
        g = VGroup(xr, arr, nlab, xhr, ids_t, rows, ax, curve, fname, zl, dots)
        g.xr, g.xhr, g.arrow, g.note_at = xr, xhr, VGroup(arr, nlab), note_at
        g.blocks, g.ids, g.ids_t, g.rows, g.n_mats = blocks, ids, ids_t, rows, len(blocks)
        g.plot, g.ticks, g.paths, g.dots, g.axes = VGroup(ax, curve, fname, zl), ticks, paths, dots, ax
        g.xh_full = xh
        g.act_cells, g.id_cells = rows[-1][1], ids_t
        return g

    def build_neuron_table(self) -> None:
        v = self.neuron_table = self.make_vector()
        self.add(v.ids_t, v.rows, v.plot, v.dots)

    def product(self, v: VGroup, M: WeightMatrix, step: float = 0.45) -> Any:
        """x̂·W (+ b) with the product piece: neuron 0's value counted up term by term,
        the others swept in. The result row is on stage afterwards."""
        p = MatrixProduct(v.xhr, M, M.out, x=v.xh_full, W=M.full, b=M.b, cols=list(self.top),
                          result=M.vals[None], names=("x̂", M.name, M.bname))
        self.play(FadeIn(M.out_lab), FadeIn(p.frame), run_time=0.4)
        zoom = M is v.blocks[0]       # the camera follows the first neuron's dot product
        if zoom:
            self.zoom_to(v.xhr, M.col(0), M.out.entry(0, 0), v.note_at, margin=0.5, min_width=7.0)
        note = p.work(self, 0, [0], step=step, note_at=v.note_at)
        if zoom:
            self.pull_back(run_time=0.7)
        p.sweep(self, run_time=1.2, remove=[note, *note.submobjects])
        return p

    @beat(needs=("header", "diagram"))
    def beat_vector(self) -> None:
        d = self.diagram
        self.stage(d)
        v = self.make_vector()
        t = self.trace
        self.cap("vector", layer=self.L, pos=self.pos, tok=token_label(t.tokens[self.pos]),
                 n=self.k, d_mlp=self.d_mlp, ans=self.ans)
        # the diagram's parts become this step's: stream → x, norm → the arrow
        M = v.blocks[0]
        box_ = d.projs[1] if self.gated else d.projs[0]
        rest = [b for b in (*d.projs, d.act, d.down) if b is not box_]
        self.play(FadeOut(d.others), ReplacementTransform(d.stream, v.xr), *[FadeOut(b) for b in rest],
                  FadeTransform(d.norm, v.arrow), FadeTransform(box_, M.label), run_time=1.0)
        # the norm: x's entries become x̂'s
        self.play(ReplacementTransform(v.xr.entries.copy(), v.xhr.entries), FadeIn(v.xhr.brackets),
                  FadeIn(v.xhr.label), FadeIn(v.xhr.ellipses), run_time=0.9)
        W = "W_gate and W_in" if self.gated else "W_in"
        act = f"{ACT_TEX[self.act_name]}(gate) ⊙ up" if self.gated else ACT_TEX[self.act_name]
        bias = " + its bias" if t.weights.is_real("b_in") else ""
        self.cap("act", pre="gate and up" if self.gated else "pre", W=W, act=act, bias=bias)
        self.play(FadeOut(v.xr), FadeOut(v.arrow), FadeIn(M.brackets),
                  LaggedStart(*[FadeIn(M.col(c), shift=0.1 * DOWN) for c in range(len(v.ids))],
                              lag_ratio=0.15), FadeIn(M.ellipses), FadeIn(v.ids), run_time=1.2)
        self.product(v, M)
        for M2 in v.blocks[1:]:   # W_gate, then W_in in its place
            self.play(Transform(M.body, M2.body), Transform(M.brackets, M2.brackets),
                      FadeTransform(M.label, M2.label), run_time=0.8)
            self.remove(M.body, M.brackets, M.label)
            self.add(M2.body, M2.brackets, M2.label)
            self.product(v, M2, step=0.3)
        last = v.blocks[-1]
        # the matrix leaves; its result rows become the table's first rows
        moves = []
        for M_, row in zip(v.blocks, v.rows):
            moves += [ReplacementTransform(M_.out.entries, row[1]), ReplacementTransform(M_.out_lab, row[0]),
                      FadeOut(VGroup(M_.out.brackets, M_.out.ellipses))]
        self.play(FadeOut(VGroup(last.body, last.brackets, last.label)), FadeOut(v.xhr),
                  ReplacementTransform(v.ids, v.ids_t), *moves,
                  Create(v.plot[0]), Create(v.plot[1]), FadeIn(v.plot[2]), FadeIn(v.plot[3]),
                  run_time=1.2)
        # the nonlinearity: each value goes to the axis; a point moves along the curve to it
        gate_cells = v.rows[0][1]
        self.play(LaggedStart(*[ReplacementTransform(in_flight(c.copy()), tk) for c, tk in
                                zip(gate_cells, v.ticks)], lag_ratio=0.15), run_time=1.0)
        origin = v.axes.c2p(0, float(activation(np.array(0.0), self.act_name)))
        movers = VGroup(*[dot.copy().move_to(origin) for dot in v.dots])
        self.play(FadeIn(movers), run_time=0.3)
        self.play(*[MoveAlongPath(m, path) for m, path in zip(movers, v.paths)], run_time=1.6)
        self.remove(movers)
        self.add(v.dots)
        f_row = v.rows[v.n_mats]
        self.play(FadeIn(f_row[0]), FadeOut(v.ticks),
                  LaggedStart(*[ReplacementTransform(in_flight(dot.copy()), c)
                                for dot, c in zip(v.dots, f_row[1])], lag_ratio=0.2), run_time=1.2)
        if self.gated:   # gate ⊙ up: each activation from the two numbers above it
            up_row, a_row = v.rows[1], v.rows[-1]
            self.play(FadeIn(a_row[0]), LaggedStart(*[
                ReplacementTransform(in_flight(VGroup(f_row[1][c].copy(), up_row[1][c].copy())),
                                     a_row[1][c])
                for c in range(len(v.ids))], lag_ratio=0.2), run_time=1.2)
        self.neuron_table = v
        self.wait_read(1.5)
