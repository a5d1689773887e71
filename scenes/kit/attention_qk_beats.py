"""Beat 3 of :class:`scenes.attention.AttentionScene`: q = x̂·W_Q and k = x̂·W_K computed in
front of the viewer (:class:`scenes.kit.pieces.product.MatrixProduct`), then RoPE drawn: one
pair of the attending token's q entries as a 2-D arrow turning by its real angle.

A mixin: it relies on the scene's state made by ``prepare`` (``trace``, ``L``, ``H``, ``Q``,
``cols``, ``xhat``, ``W_Qf`` …) and its helpers (``_note``, ``_rows``, ``_pause``).
"""
from __future__ import annotations

import math

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UP, Arc, Arrow, Circle, Create, DashedLine, FadeIn,
                   FadeOut, Line, UpdateFromAlphaFunc, VGroup, config)

from .course.knobs import beat
from .pieces import WeightMatrix
from .pieces.matrix import MAT_SIZE
from .pieces.product import MatrixProduct
from .theme import THEME, digits_for
from .transitions import glide

__all__ = ["AttentionQKBeats", "rope_pair"]


def rope_pair(pos: int, theta: float, dims: int, max_angle: float = 1.5 * math.pi) -> tuple[int, float]:
    """The RoPE pair to draw for position ``pos``: (i, angle) with i the first pair (entries
    i and i + dims/2, the rotate-half convention) whose angle pos·θ^(−2i/dims) is at most
    ``max_angle`` (under one turn, so the turn is seen), and that angle in radians.

    >>> rope_pair(9, 100000.0, 64)[0], round(rope_pair(9, 100000.0, 64)[1], 3)
    (2, 4.383)
    >>> rope_pair(0, 10000.0, 64)
    (0, 0.0)
    """
    for i in range(dims // 2):
        a = pos * float(theta) ** (-2.0 * i / dims)
        if a <= max_angle:
            return i, a
    return dims // 2 - 1, pos * float(theta) ** (-2.0 * (dims // 2 - 1) / dims)


class AttentionQKBeats:
    """Beat 3: queries and keys, each entry a real product; RoPE as a turning arrow."""

    #: columns of W_Q / W_K and of q, k shown
    qk_cols = 2

    def _qk_mats(self, rotated: bool) -> tuple[WeightMatrix, WeightMatrix]:
        """Q (at the right edge) and K (in the slot right of W), rows aligned with X̂."""
        t, L, H = self.trace, self.L, self.H
        c = min(self.qk_cols, self.d_head)
        qv = np.asarray(t.q[L][H]) if rotated else self.q_lin
        kv = np.asarray(t.k[L][H]) if rotated else self.k_lin
        dq = digits_for(float(max(np.abs(qv[self.cols, :c]).max(), np.abs(self.q_lin[self.cols, :c]).max())))
        dk = digits_for(float(max(np.abs(kv[self.cols, :c]).max(), np.abs(self.k_lin[self.cols, :c]).max())))
        qm = self._rows(qv, c, (self.n, self.d_head), "q", THEME.query, labels=False, digits=dq)
        km = self._rows(kv, c, (self.n, self.d_head), "k", THEME.key, labels=False, digits=dk)
        xh = self._xhat_layout()
        qm.to_edge(RIGHT, buff=0.35)
        km.next_to(self._w_block(self.W_Kf, "W_K", THEME.key), RIGHT, buff=0.3)
        for m in (qm, km):
            m.shift((xh.brackets.get_top()[1] - m.brackets.get_top()[1]) * UP)
        return qm, km

    def _qk_right(self, qm: WeightMatrix, km: WeightMatrix, animate: bool = False) -> list:
        """Q and K side by side at the right edge (where beat 3 leaves them for the grid)."""
        # K's right edge 0.35 from the frame's; Q 0.5 left of it, tops aligned
        dk = np.array([config.frame_width / 2 - 0.35 - km.get_right()[0], 0, 0])
        k_left, k_top = km.get_left()[0] + dk[0], km.get_top()[1]
        dq = np.array([k_left - 0.5 - qm.get_right()[0], k_top - qm.get_top()[1], 0])
        if animate:
            return [glide(km, km.get_center() + dk), glide(qm, qm.get_center() + dq)]
        km.shift(dk)
        qm.shift(dq)
        return []

    def _w_block(self, W: np.ndarray, name: str, color) -> WeightMatrix:
        """W's first ``entries`` rows × ``qk_cols`` columns, its real shape under it, right of
        X̂ (built once per weight; a copy each time)."""
        cache = self.__dict__.setdefault("_w_blocks", {})
        if name not in cache:
            cache[name] = self._w_block_build(W, name, color)
        return cache[name].copy()

    def _w_block_build(self, W: np.ndarray, name: str, color) -> WeightMatrix:
        c = min(self.qk_cols, self.d_head)
        m = WeightMatrix(W[:self.entries, :c], (self.d_model, self.d_head), label=name,
                         font_size=MAT_SIZE)
        m.label.set_fill(color)
        xh = self._xhat_layout()
        m.next_to(xh, RIGHT, buff=0.3)
        return m.shift((xh.brackets.get_top()[1] - m.brackets.get_top()[1]) * UP)

    def _product(self, W_block: WeightMatrix, out: WeightMatrix, W: np.ndarray, b: np.ndarray,
                 bias: str, lin: np.ndarray, names: tuple[str, str, str]) -> MatrixProduct:
        c = out.values.shape[1]
        return MatrixProduct(self.xhat_mat, W_block, out, x=self.xhat[self.cols], W=W,
                             b=b if self.has_bias[bias] else None,
                             result=lin[self.cols, :c], names=names)

    @beat(needs=("tag", "xhat_mat"))
    def beat_qk(self) -> None:
        """3. W_Q and W_K turn each normalised row into a query and a key, every entry a real
        product; then RoPE turns them by their positions."""
        t, L, H = self.trace, self.L, self.H
        info = t.info
        xh = self.xhat_mat
        r = self.cols.index(self.Q) if self.Q in self.cols else len(self.cols) - 1
        qm, km = self._qk_mats(rotated=False)
        WQ = self._w_block(self.W_Qf, "W_Q", THEME.query)
        qm_final = qm.get_center()
        qm.move_to(km)                                   # Q is made in the slot, then moves right
        bq = " + b_Q" if self.has_bias["b_Q"] else ""
        bk = " + b_K" if self.has_bias["b_K"] else ""
        self.show_caption(self.caption_text("qk", head=H, layer=L, d_head=self.d_head, bq=bq,
                                            bk=bk, rope="; then RoPE" if self.rope else ""))
        pq = self._product(WQ, qm, self.W_Qf, self.b_Q, "b_Q", self.q_lin, ("x̂", "W_Q", "b_Q"))
        self.play(FadeIn(VGroup(WQ, pq.frame)), run_time=0.5)
        # one entry worked: q[p, 0] = Σ_i x̂[p, i] W_Q[i, 0] (+ b_Q[0]), partial sums counting up
        note = pq.work(self, r, [0], note_at=WQ, note_dir=DOWN)
        pq.sweep(self, run_time=1.6, remove=[note])
        self.add(qm)
        WK = self._w_block(self.W_Kf, "W_K", THEME.key)
        self.play(FadeOut(WQ), FadeIn(WK), glide(qm, qm_final), run_time=0.6)
        pk = self._product(WK, km, self.W_Kf, self.b_K, "b_K", self.k_lin, ("x̂", "W_K", "b_K"))
        self.play(FadeIn(pk.frame), run_time=0.3)
        note = pk.work(self, r, [0], step=0.3, note_at=WK, note_dir=DOWN)
        pk.sweep(self, run_time=1.3, remove=[note])
        notes = VGroup()
        if info["n_kv_head"] < info["n_head"]:
            g = info["n_head"] // info["n_kv_head"]
            kv = t.kv_head_of(H)
            notes.add(self._note(f"heads {kv * g}–{kv * g + g - 1} share this W_K (grouped-query attention)"))
        if notes:
            notes.arrange(DOWN, aligned_edge=LEFT).next_to(xh, DOWN, buff=0.3).align_to(xh, LEFT)
            self.play(FadeIn(notes), run_time=0.3)
        self.shown.update(W_Q=WQ, W_K=WK, q_product=pq, k_product=pk)
        self._pause(1.0)
        # X̂ and the weights have done their work: q and k go right, RoPE gets the left (the
        # RoPE plane appears as they go: the left half is never waiting for a caption)
        clear = [FadeOut(WK), FadeOut(notes), FadeOut(xh), *self._qk_right(qm, km, animate=True)]
        self.xhat_mat = None
        if self.rope:
            qm, km = self._rope(qm, km, r, clear)
        else:
            self.play(*clear, run_time=0.7)
        self.qmat, self.kmat = qm, km
        self.shown.update(q=qm, k=km)

    # ------------------------------------------------------------------ RoPE, drawn
    def _rope(self, qm: WeightMatrix, km: WeightMatrix, r: int,
              clear: list = ()) -> tuple[WeightMatrix, WeightMatrix]:
        """One pair (a, b) of the attending token's q as an arrow in its plane, turning by
        the real angle for its position; then every q and k entry changes in place.
        ``clear``: the animations that clear the stage for it (they play as it appears)."""
        t, L, H, p = self.trace, self.L, self.H, self.cols[r]
        rp = t.info["rope"]
        dims, theta, sc = int(rp["dims"]), float(rp["theta"]), float(rp["attention_scaling"])
        i, ang = rope_pair(p, theta, dims)
        j = i + dims // 2
        before = self.q_lin[p, [i, j]].astype(np.float64)
        after = np.asarray(t.q[L][H][p, [i, j]], np.float64)
        self.show_caption(self.caption_text("rope"))
        # the plane of entries (i, j) of q at position p
        R = 1.2
        o = np.array([-5.0, 0.75, 0])
        s = R / max(np.linalg.norm(before), np.linalg.norm(after), 1e-9)
        axes = VGroup(Line(o + (R + 0.25) * LEFT, o + (R + 0.25) * RIGHT, stroke_width=1.5, color=THEME.dim),
                      Line(o + (R + 0.25) * DOWN, o + (R + 0.25) * UP, stroke_width=1.5, color=THEME.dim),
                      Circle(R, color=THEME.dim, stroke_width=1).move_to(o).set_stroke(opacity=0.5))
        ax_l = VGroup(self._note(f"q[{i}]").next_to(o + (R + 0.25) * RIGHT, DOWN, buff=0.08),
                      self._note(f"q[{j}]").next_to(o + (R + 0.25) * UP, RIGHT, buff=0.08))
        ghost = DashedLine(o, o + s * np.array([*before, 0]), color=THEME.query, stroke_width=2)
        ghost.set_stroke(opacity=0.5)

        def arrow_at(v: np.ndarray) -> Arrow:
            return Arrow(o, o + s * np.array([*v, 0]), buff=0, color=THEME.query, stroke_width=5,
                         max_tip_length_to_length_ratio=0.15)

        arrow = arrow_at(before)
        pair = WeightMatrix(before[:, None], (self.d_head, 1), row_labels=[str(i), str(j)],
                            font_size=MAT_SIZE, show_shape=False, truncated_rows=False,
                            digits=digits_for(float(np.abs(np.r_[before, after]).max())))
        title = self._note(f"q of position {p} ({self._tok(p)}): entries {i} and {j}", color=THEME.text)
        inv = theta ** (-2.0 * i / dims)
        how = VGroup(self._note(f"angle = position × θ^(−2·{i}/{dims})   (θ = {theta:g})", color=THEME.text),
                     self._note(f"= {p} × {inv:.4f} = {ang:.3f} rad ({math.degrees(ang):.0f}°)",
                                color=THEME.highlight)).arrange(DOWN, aligned_edge=LEFT, buff=0.08)
        if abs(sc - 1.0) > 1e-9:
            how.add(self._note(f"then × {sc:g} (the model's RoPE scaling)", color=THEME.text)
                    ).arrange(DOWN, aligned_edge=LEFT, buff=0.08)
        title.next_to(o + (R + 0.3) * UP, UP, buff=0.25).align_to(o + (R + 0.3) * LEFT, LEFT)
        how.next_to(o + (R + 0.3) * DOWN, DOWN, buff=0.25).align_to(title, LEFT)
        pair.next_to(o + (R + 0.5) * RIGHT, RIGHT, buff=0.35).set_y(o[1] - 0.5)
        self.play(Create(axes), FadeIn(ax_l), FadeIn(title), FadeIn(pair), FadeIn(arrow),
                  *clear, run_time=0.8)
        row_box = qm.highlight_row(r)                   # where q now is
        self.play(Create(row_box), run_time=0.3)
        self.add(ghost)
        a0 = math.atan2(before[1], before[0])
        arc = VGroup()

        def turn(m, alpha: float) -> None:
            v = before * (1 + (sc - 1) * alpha)
            c, sn = math.cos(ang * alpha), math.sin(ang * alpha)
            m.become(arrow_at(np.array([v[0] * c - v[1] * sn, v[0] * sn + v[1] * c])))
            if alpha > 1e-3:
                arc.become(Arc(radius=0.45, start_angle=a0, angle=ang * alpha, arc_center=o,
                               color=THEME.highlight, stroke_width=3))

        self.add(arc)
        self.play(FadeIn(how), UpdateFromAlphaFunc(arrow, turn), run_time=max(1.2, min(2.5, ang / 2)))
        # the numbers change in place: the pair, then every q and k entry
        pair2 = WeightMatrix(after[:, None], (self.d_head, 1), row_labels=[str(i), str(j)],
                             font_size=MAT_SIZE, show_shape=False, truncated_rows=False,
                             digits=digits_for(float(np.abs(np.r_[before, after]).max())))
        pair2.move_to(pair)
        self.cross_fade([pair.entries], [pair2.entries], run_time=0.6)
        self.settle(pair, pair2)                        # the turned pair alone, once
        rot = np.array([[math.cos(ang), math.sin(ang)], [-math.sin(ang), math.cos(ang)]]) * sc
        self.equation("matmul", f"q[{p}] entries {i}, {j} turned by {ang:.3f} rad (RoPE)",
                      shown=after, x=before, W=rot)
        qr, kr = self._qk_mats(rotated=True)
        qr.move_to(qm)
        kr.move_to(km)
        self.cross_fade([qm.entries, km.entries], [qr.entries, kr.entries], run_time=0.9)
        self.settle(qm, qr)
        self.settle(km, kr)
        for name, lin, rt in (("q", self.q_lin, t.q[L][H]), ("k", self.k_lin, t.k[L][H])):
            self.equation("rope", f"{name} rotated by position (RoPE)",
                          shown=np.asarray(rt)[self.cols], x=lin[self.cols], pos=self.cols,
                          theta=rp["theta"], dims=rp["dims"], scaling=rp["attention_scaling"])
        self.shown.update(rope_pair=(p, i, j, ang), rope_before=pair, rope_after=pair2)
        self._pause(1.0)
        self.play(FadeOut(VGroup(axes, ax_l, title, how, pair2, ghost, arc, arrow, row_box)),
                  run_time=0.4)
        return qr, kr
