"""The read-out beats of :class:`scenes.attention.AttentionScene` (7–9): values and the
write to the residual stream, every head of the layer, arcs.

A mixin: it relies on the scene's state made by ``prepare`` (``trace``, ``L``, ``H``, ``Q``,
``n``, ``cols`` …) and its helpers (``_note``, ``_rows``, ``_tok``, ``_pause``).
"""
from __future__ import annotations

import math

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UL, UP, Create, FadeIn, FadeOut, FadeTransform, Group, LaggedStart,
                   ReplacementTransform, TransformFromCopy, VGroup, config)

from .analysis.attention import arc_window
from .course.knobs import beat
from .pieces import AttentionArcs, AttentionGrid, TokenBoxes, WeightMatrix
from .pieces.matrix import MAT_SIZE
from .text import num_text, shape_str, token_label
from .theme import MIN_SIZE, THEME, digits_for, pct

__all__ = ["AttentionReadoutBeats"]


class AttentionReadoutBeats:
    """Beats 7–9 of the attention scene: what the attending token reads, and from which heads."""

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
        # (only tokens within max_arc_tokens of it can be shown: only those are measured)
        near = range(max(0, Q - self.max_arc_tokens), min(n, Q + self.max_arc_tokens + 1))
        widths = [TokenBoxes([t.tokens[p]], font_size=32).width + 0.08 if p in near
                  else float("inf") for p in range(n)]
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
