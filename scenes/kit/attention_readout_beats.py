"""The read-out beats of :class:`scenes.attention.AttentionScene` (7–9): values and the
write to the residual stream, every head of the layer, arcs.

A mixin: it relies on the scene's state made by ``prepare`` (``trace``, ``L``, ``H``, ``Q``,
``n``, ``cols`` …) and its helpers (``_note``, ``_rows``, ``_tok``, ``_pause``).
"""
from __future__ import annotations

import math

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UL, UP, Create, FadeIn, FadeOut, Group, LaggedStart,
                   ReplacementTransform, SurroundingRectangle, UpdateFromAlphaFunc,
                   VGroup, config)
from manim.utils.rate_functions import linear

from .analysis.attention import arc_window
from .course.knobs import beat
from .pieces import AttentionArcs, AttentionGrid, TokenBoxes, WeightMatrix
from .pieces.matrix import MAT_SIZE
from .pieces.product import MatrixProduct, fly_into
from .text import num_text, token_label
from .theme import MIN_SIZE, THEME, digits_for, pct
from .transitions import glide, in_flight

__all__ = ["AttentionReadoutBeats"]


class AttentionReadoutBeats:
    """Beats 7–9 of the attention scene: what the attending token reads, and from which heads."""

    # ------------------------------------------------------------------ 7. values and the write
    def _swap_stage(self, *new, run_time: float = 0.7, keep: tuple = (), extra=()) -> None:
        """Everything on stage (but the tag, the caption and ``keep``) fades out while ``new``
        fades in, in ONE animation: the stage is never blank between two steps, and the two
        layouts are on screen together only briefly (no double exposure)."""
        chrome = {id(m) for m in (getattr(self, "tag", None), getattr(self, "_caption", None), *keep)
                  if m is not None}
        old = [m for m in self.mobjects if id(m) not in chrome]
        # linear: the old layout is quickly going from the first frame (an eased start would
        # leave its numbers half-faded, hard to read, for the first quarter second)
        self.cross_fade(old, [m for m in new if m is not None], run_time=run_time, extra=extra,
                        overlap=0.25, rate_func=linear)
        self.chrome_front()

    @beat(needs=("tag",))
    def beat_values(self) -> None:
        """7. Values v = x̂·W_V (the product piece), the weighted sum growing term by term
        into z, z·W_O = this head's contribution (the product piece), and the residual
        vector's entries changing as every head's contribution is added."""
        t, L, H, Q = self.trace, self.L, self.H, self.Q
        keys = [p for p in self.cols if p <= Q]
        w = np.asarray(t.pattern[L][H][Q], np.float64)
        V = np.asarray(t.v[L][H], np.float64)
        hidden = [p for p in range(Q + 1) if p not in keys]
        c = min(self.qk_cols, self.d_head)
        xh = self._xhat_matrix()
        vm = self._rows(V, c, (self.n, self.d_head), "v", THEME.value, positions=keys, labels=False)
        WV = self._w_block(self.W_Vf, "W_V", THEME.value)
        vm.next_to(WV, RIGHT, buff=0.3)
        vm.shift((xh.entry(self.cols.index(keys[0]), 0).get_y() - vm.entry(0, 0).get_y()) * UP)
        pv = MatrixProduct(xh, WV, vm, x=self.xhat[keys], W=self.W_Vf,
                           b=self.b_V if self.has_bias["b_V"] else None, result=V[keys, :c],
                           vec_rows=[self.cols.index(p) for p in keys], names=("x̂", "W_V", "b_V"))
        # the attending row's weights travel out of the pattern grid (when it is on screen)
        wts = VGroup()
        for i, p in enumerate(keys):
            tx = num_text(f"× {w[p]:.3f}", MIN_SIZE, THEME.highlight)
            tx.value = float(w[p])
            tx.next_to(vm.brackets, RIGHT, buff=0.2).set_y(vm.row(i).get_y())
            wts.add(tx)
        wl = self._note("weight", color=THEME.highlight).next_to(wts, UP, buff=0.15)
        g, carry = getattr(self, "grid", None), None
        if g is not None and self.is_shown(g) and g.mode == "pattern" and g.show_numbers:
            carry = in_flight(VGroup(*[g.numbers[Q * g.n_k + p].copy() for p in keys]))
            self.add(carry)
        self.grid = None
        self.show_caption(self.caption_text("values", tok=self._tok(Q), q=Q, nk=Q + 1,
                                            d_head=self.d_head, d_model=self.d_model,
                                            bv=" + b_V" if self.has_bias["b_V"] else ""))
        self._swap_stage(xh, WV, pv.frame, wl, *([] if carry is not None else [wts]),
                         keep=(carry,) if carry is not None else (),
                         extra=[ReplacementTransform(carry, wts)] if carry is not None else [])
        r = keys.index(Q) if Q in keys else len(keys) - 1
        note = pv.work(self, r, [0], step=0.3, note_at=WV, note_dir=DOWN)
        pv.sweep(self, run_time=1.2, remove=[note])
        self.shown["v_product"] = pv
        omit = f"{len(keys)} of {Q + 1} keys shown; the sum is over all {Q + 1}" if hidden else ""
        on = self._note(omit) if omit else VGroup()
        self.shown["omission"] = omit
        # X̂ and W_V are done: v and the weights move left, z grows on the right
        grp = VGroup(vm, wts, wl)
        # (they leave first: v never slides across them)
        self.play(FadeOut(xh), FadeOut(WV), run_time=0.35)
        self.play(glide(grp, grp.get_center() + (-config.frame_width / 2 + 0.6 - grp.get_left()[0]) * RIGHT),
                  run_time=0.5)
        if omit:
            on.next_to(vm, DOWN, buff=0.2).align_to(vm, LEFT)
            self.play(FadeIn(on), run_time=0.3)
        zcol = self._weighted_sum(vm, wts, on, keys, hidden, w, V, c)
        z = np.asarray(t.z[L][H][Q], np.float64)
        self.equation("weighted_sum", "z = Σ weight × v (all keys)", shown=z, w=w, v=V)
        self.shown.update(v=vm, weights=wts, z=zcol[1])
        self._pause(0.6)
        # z·W_O: this head's contribution (the product piece)
        WO = t.block("W_O", L, H)
        ho = np.asarray(t.head_out[L][H][Q], np.float64)
        zrow = zcol[1]
        WOm = WeightMatrix(WO[:c, :3], (self.d_head, self.d_model), label="W_O", font_size=MAT_SIZE)
        contrib = WeightMatrix(ho[None, :3], (1, self.d_model), font_size=MAT_SIZE, show_shape=False,
                               truncated_cols=True, label=f"head {H}'s contribution")
        contrib.label.set_fill(THEME.highlight)
        po = MatrixProduct(zrow, WOm, contrib, x=z, W=WO, names=("z", "W_O", ""))
        self.show_caption(self.caption_text("write", d_head=self.d_head, head=H, d_model=self.d_model))
        ghost = zcol.copy()
        VGroup(WOm, contrib).arrange(RIGHT, buff=0.35).next_to(ghost[1], RIGHT, buff=0.35)
        VGroup(WOm, contrib).shift((ghost[1].brackets.get_top()[1] - WOm.brackets.get_top()[1]) * UP)
        VGroup(ghost, WOm, contrib).move_to([0, 0.8, 0])
        # v and the weights give way while W_O comes in: one step, never an empty stage
        self.play(FadeOut(VGroup(vm, wts, wl, on)), glide(zcol, ghost),
                  FadeIn(VGroup(WOm, po.frame)), run_time=0.8)
        note = po.work(self, 0, [0], step=0.3, note_at=WOm, note_dir=DOWN)
        po.sweep(self, run_time=0.8, remove=[note])
        self.shown.update(head_out=contrib, o_product=po)
        self._pause(0.6)
        self._residual_update(contrib, zcol, WOm)

    def _weighted_sum(self, vm, wts, on, keys, hidden, w, V, c) -> VGroup:
        """Σ weight × v growing term by term (the keys not shown first, as one term)."""
        t, L, H, Q = self.trace, self.L, self.H, self.Q
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
                # a copy of the row (or note) flies into the running sum as it appears
                fly_into(self, [grp], [[src]], run_time=rt, each=1.0)
            else:
                hl = in_flight(wts[keys.index(ps[0])].copy())
                # the running sum changes in place while its weight flies in
                self.cross_fade([zcol], [grp], run_time=rt, extra=[glide(hl, col, fade=True)])
                self.remove(hl)
            zcol = grp
        return zcol

    def _residual_update(self, contrib: WeightMatrix, zcol: VGroup, WOm: WeightMatrix) -> None:
        """x + Δx: the residual vector's entries change as each head's contribution (and b_O)
        is added, ending on the layer's real update (the Trace's resid_mid)."""
        t, L, H, Q = self.trace, self.L, self.H, self.Q
        info = t.info
        nh = info["n_head"]
        x = np.asarray(self.x[Q], np.float64)
        heads = np.asarray(t.head_out[L][:, Q], np.float64)            # [head, d_model]
        bO = t.block("b_O", L).astype(np.float64)
        new = np.asarray(t.resid_mid[L, Q], np.float64)
        ne = 3
        terms = [(f"head {h}", heads[h]) for h in range(nh)]
        if self.has_bias["b_O"]:
            terms.append(("b_O", bO))
        dg = digits_for(float(np.abs(heads[:, :ne]).max()))
        rows = VGroup()
        for name, vec in terms:
            m = WeightMatrix(vec[None, :ne], (1, self.d_model), font_size=MAT_SIZE, show_shape=False,
                             truncated_cols=True, digits=dg)
            lab = self._note(name, color=THEME.highlight if name == f"head {H}" else THEME.text)
            rows.add(VGroup(lab, m).arrange(RIGHT, buff=0.2))
        # one column of names (right-aligned), the vectors' brackets on one line
        rows.arrange(DOWN, aligned_edge=LEFT, buff=0.1)
        left, lw = rows.get_left()[0], max(r[0].width for r in rows)
        for lab, m in rows:
            lab.set_x(left + lw - lab.width / 2)
            m.align_to([left + lw + 0.2, 0, 0], LEFT)
        if rows.height > 5.0:
            rows.scale_to_fit_height(5.0)
        rows.to_edge(LEFT, buff=0.5).set_y(0.35)
        xd = digits_for(float(max(np.abs(x[:ne]).max(), np.abs(new[:ne]).max())))

        def resid(v: np.ndarray, label: str) -> VGroup:
            m = WeightMatrix(v[None, :ne], (1, self.d_model), font_size=26, show_shape=False,
                             truncated_cols=True, digits=xd)
            return VGroup(self._note(label, color=THEME.text), m).arrange(DOWN, aligned_edge=LEFT, buff=0.15)

        res = resid(x, f"x at position {Q} ({self._tok(Q)}), entering layer {L}")
        res.move_to([3.2, 0.6, 0])
        self.show_caption(self.caption_text("update", n_head=nh, layer=L,
                                            bo=" + b_O" if self.has_bias["b_O"] else
                                            " (this model has no b_O)"))
        hrow = rows[H][1]
        lab = contrib.label                     # the label leaves with the old stage; the
        contrib.remove(lab)                     # numbers themselves become head H's row
        self.add(lab)
        self._swap_stage(*[r for i, r in enumerate(rows) if i != H], rows[H][0], res,
                         keep=(contrib,), extra=[ReplacementTransform(contrib, hrow)])
        self.remove(contrib)
        self.add(rows)
        run = x.copy()
        for i, (name, vec) in enumerate(terms):
            run = run + vec
            if i + 1 == len(terms):
                run = new                           # the model's own result, as the Trace has it
            nxt = resid(run, f"x + {i + 1} of {len(terms)} terms ({name})" if i + 1 < len(terms)
                        else "new x = x + all heads" + (" + b_O" if self.has_bias["b_O"] else ""))
            nxt.move_to(res, aligned_edge=UL)
            fly = in_flight(rows[i][1].copy())
            box = SurroundingRectangle(rows[i], color=THEME.highlight, buff=0.04)
            self.add(box)

            def swap(m, a: float, nxt=nxt) -> None:
                if a >= 0.75:                   # the next value in place (its own parts:
                    m.submobjects = list(nxt.submobjects)   # no point-matching morph)

            self.play(glide(fly, res[1], fade=True), UpdateFromAlphaFunc(res, swap),
                      run_time=0.55 if i == 0 else 0.35)
            self.remove(fly, box)
            self.equation("sum", f"x + {i + 1} terms", shown=run,
                          terms=np.vstack([x[None], np.stack([v for _, v in terms[:i + 1]])]))
        self.remove(res)
        self.add(nxt)
        self.equation("sum", "x + Σ heads + b_O = new x (all heads)", shown=new,
                      terms=np.vstack([x[None], heads, bO[None]]))
        self.shown.update(x_q=x[:ne], new_x=nxt[1], heads_rows=rows)
        self._pause(1.8)

    # ------------------------------------------------------------------ 8. every head
    @beat(needs=("tag",))
    def beat_multihead(self) -> None:
        """8. Multi-head: every head of the layer as a small real pattern."""
        t, L = self.trace, self.L
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
        self._swap_stage(allg, run_time=0.6)
        self.play(Create(box), run_time=0.3)
        self.show_caption(self.caption_text("multi", n_head=nh, layer=L))
        self.shown["multi"] = allg
        self._pause(2.0)

    # ------------------------------------------------------------------ 9. arcs
    @beat(needs=("tag",))
    def beat_arcs(self) -> None:
        """9. Arcs from the attended tokens to the attending one, width by the real weight."""
        t, L, H, Q = self.trace, self.L, self.H, self.Q
        n = self.n
        # as many tokens as fit in one row at full size, ending at the attending one
        # (then after it, if room): every arc reads left to right, nothing shrinks
        # (only tokens within max_arc_tokens of it can be shown: only those are measured)
        near = range(max(0, Q - self.max_arc_tokens), min(n, Q + self.max_arc_tokens + 1))
        row = TokenBoxes([t.tokens[p] for p in near], font_size=32, max_width=None)
        widths = [row.boxes[p - near.start].width + 0.08 if p in near else float("inf")
                  for p in range(n)]
        pos = arc_window(widths, Q, config.frame_width - 0.8, self.max_arc_tokens)
        start = pos[0]
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
        self._swap_stage(tb, *notes, run_time=0.6)
        # the caption first: the arcs it describes are drawn under it, not under the last one
        self.show_caption(self.caption_text("arcs", head=H, layer=L, tok=self._tok(Q), q=Q))
        drawn = [a for a in arcs.arcs if a is not None]
        order = sorted(drawn, key=lambda a: -a.value)      # the heaviest arc first
        if order:
            self.play(LaggedStart(*[Create(a) for a in order], lag_ratio=0.15), run_time=1.2)
        self.play(FadeIn(arcs.percent_labels), run_time=0.3)
        self.shown["arcs"] = arcs
        self.shown["arc_positions"] = pos
        self._pause(2.0)
