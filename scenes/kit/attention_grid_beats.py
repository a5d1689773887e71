"""The score-grid beats of :class:`scenes.attention.AttentionScene` (4–6): q·k, scale, mask, softmax.

A mixin: it relies on the scene's state made by ``prepare`` (``trace``, ``L``, ``H``, ``Q``,
``n``, ``scale`` …) and its helpers (``_note``, ``_para``, ``_tok``, ``_pause``). The grid
is built once (:meth:`AttentionGridBeats._grid`) and every later step changes the same cells
in place (:meth:`AttentionGridBeats._grid_to`), so a viewer sees 16.3 become 2.04.
"""
from __future__ import annotations

import math

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UP, Create, Dot, FadeIn, FadeOut,
                   ManimColor, Rectangle, SurroundingRectangle, TransformFromCopy, UpdateFromAlphaFunc,
                   VGroup, VMobject, config)

from manim.utils.rate_functions import linear

from .analysis.attention import grid_labels
from .course.knobs import beat
from .pieces import AttentionGrid, VectorColumn, WeightMatrix
from .pieces.matrix import MAT_SIZE
from .pieces.product import MatrixProduct, fly_into
from .text import num_text, number_str
from .ledger import sum_digits
from .theme import MIN_SIZE, THEME, pct
from .transitions import drawn_parts, in_flight, set_alpha

__all__ = ["AttentionGridBeats"]


class AttentionGridBeats:
    """Beats 4–6 of the attention scene: the queries × keys grid, changed in place."""

    #: x of the grid's centre (left of centre: q and k, then the worked numbers, on its right)
    grid_x = -1.9

    def build_grid(self) -> None:
        """The masked scores grid (what beat_mask ends with), silently."""
        self.clean_stage()
        self.grid = self._grid(self.trace.scores[self.L][self.H], "scores", digits=2)
        self.grid_notes = self._grid_notes(self.grid)
        self.add(self.grid, self.grid_notes)

    def _grid(self, M: np.ndarray, mode: str, digits: int | None = None,
              cs: float | None = None) -> AttentionGrid:
        """The grid of M in its place (cell size ``cs``: the largest that fits)."""
        n = self.n
        labels = grid_labels(list(self.trace.tokens))
        cs = cs or min(0.56, 4.9 / n)
        g = AttentionGrid(M, labels, labels, mode=mode, cell_size=cs,
                          show_numbers=n <= self.max_numbers, digits=digits,
                          font_size=MIN_SIZE, show_positions=True, label_size=MIN_SIZE)
        g.shift((self.grid_x - g.frame.get_center()[0]) * RIGHT)
        if g.frame.height >= 3.0:
            g.shift((-2.55 - g.frame.get_bottom()[1]) * UP)
        else:                                   # a small grid sits higher: room for notes
            g.shift((0.9 - g.frame.get_center()[1]) * UP)
        # tall key labels under the model tag: the grid moves left until they clear it
        tag = getattr(self, "tag", None)
        if tag is not None:
            under = [m for m in g.key_labels if m.get_top()[1] > tag.get_bottom()[1] - 0.05
                     and m.get_right()[0] > tag.get_left()[0] - 0.1]
            if under:                           # (room kept for the queries note on the left)
                dx = tag.get_left()[0] - 0.1 - max(m.get_right()[0] for m in under)
                g.shift(max(dx, -config.frame_width / 2 + 1.0 - g.get_left()[0]) * RIGHT)
            under = [m for m in under if m.get_right()[0] > tag.get_left()[0] - 0.1]
            if under:                           # still under it: smaller cells, same place
                over = max(m.get_top()[1] for m in under) - (tag.get_bottom()[1] - 0.05)
                smaller = cs - over / n - 0.002
                if smaller > 0.4 * min(0.56, 4.9 / n):
                    return self._grid(M, mode, digits, cs=smaller)
        # the queries note left of the row labels stays in the frame
        lack = -config.frame_width / 2 + 0.15 - self._queries_note(g).get_left()[0]
        if lack > 0:
            g.shift(lack * RIGHT)
        return g

    def _queries_note(self, g: AttentionGrid) -> VMobject:
        """The note naming the rows, left of the row labels (on its side when it fits)."""
        q = self._note("queries (rows): the position that looks", color=THEME.query)
        if g.frame.height >= q.width:
            q.rotate(math.pi / 2)
            q.next_to(VGroup(g.query_labels, g.query_positions), LEFT, buff=0.2).set_y(g.frame.get_center()[1])
        else:                                   # too short for the note on its side
            q = self._para("queries (rows): the position that looks", 16, THEME.query)
            q.next_to(VGroup(g.query_labels, g.query_positions), LEFT, buff=0.3).align_to(g.frame, UP)
        return q

    def _grid_notes(self, g: AttentionGrid) -> VGroup:
        out = VGroup(self._queries_note(g))
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
            self.cross_fade([*g.cells, *g.numbers], [*g2.cells, *g2.numbers], run_time=run_time)
        else:
            a = np.array([c.get_fill_rgbas()[0] for c in g.cells])
            b = np.array([c.get_fill_rgbas()[0] for c in g2.cells])

            def recolour(cells: VGroup, alpha: float) -> None:
                for c, rgba in zip(cells, a + (b - a) * alpha):
                    c.set_fill(ManimColor.from_rgb(rgba[:3]), opacity=float(rgba[3]))

            pairs = list(zip(g.numbers, g2.numbers)) if len(g.numbers) == len(g2.numbers) else []
            old = VGroup(*[x for x, y in pairs if x.text != y.text]) if pairs else g.numbers
            new = VGroup(*[y for x, y in pairs if x.text != y.text]) if pairs else g2.numbers
            self.cross_fade(list(old), list(new), run_time=run_time,
                       extra=[UpdateFromAlphaFunc(g.cells, recolour)])
        self.settle(g, g2)
        self.chrome_front()
        return g2

    @beat(needs=("tag", "qmat"))
    def beat_dot_products(self) -> None:
        """4. The grid of q·k dot products, each cell built from copies of its q row and k row
        flying in; one cell worked term by term; then scaled."""
        t, L, H, Q = self.trace, self.L, self.H, self.Q
        q = np.asarray(t.q[L][H], np.float64)
        k = np.asarray(t.k[L][H], np.float64)
        qk = q @ k.T
        g = self._grid(qk, "scores", digits=1)
        notes = self._grid_notes(g)
        qm, km = self.qmat, self.kmat
        # the grid's labels come in with the caption; then its frame and cells
        self.show_caption(self.caption_text("dots"), extra=[FadeIn(self._grid_labels(g))])
        self._build_grid(g, qm, km, framed=True)
        self.equation("matmul", "q_i · k_j (every cell)", shown=qk, x=q, W=k.T)
        self.shown["qk"] = g
        # one cell worked: the query's strongest key, q_Q · k_j term by term
        j = int(np.argmax(np.asarray(t.pattern[L][H][Q])))
        cell_rect = SurroundingRectangle(g.cell(Q, j) if not g.as_image else g.frame,
                                         color=THEME.highlight, buff=0.02)
        worked = self._dot_piece(q, k, Q, j, qk[Q, j])
        self.equation("dot", f"q_{Q} · k_{j}", shown=qk[Q, j], a=q[Q], b=k[j])
        rows = VGroup()
        if Q in self.cols:
            rows.add(qm.highlight_row(self.cols.index(Q)))
        if j in self.cols:
            rows.add(km.highlight_row(self.cols.index(j)))
        self.play(Create(cell_rect), Create(rows), run_time=0.4)
        # q_Q and k_j leave their matrices for the worked product; the matrices make room
        srcs = []
        if Q in self.cols:
            srcs.append(TransformFromCopy(VGroup(*qm.row(self.cols.index(Q))[:2]),
                                          VGroup(*worked.vec.entries[:2])))
        if j in self.cols:
            srcs.append(TransformFromCopy(VGroup(*km.row(self.cols.index(j))[:2]),
                                          VGroup(*worked.mat.entries[:2])))
        self.cross_fade([qm, km, rows], [worked], run_time=0.9, extra=srcs)
        self.remove(*[m for m in self.mobjects if m in qm.get_family() or m in km.get_family()])
        self.add(worked)
        room = Rectangle(width=worked.width, height=1.3).next_to(worked, DOWN, buff=0.2)
        self.zoom_to(worked, worked.out, room, margin=0.4)     # with room for the note below
        note = worked.work(self, 0, [0], step=0.4, note_at=worked)
        self.pull_back(run_time=0.7)
        landed = in_flight(worked.out.entry(0, 0).copy())
        self.play(landed.animate.move_to(g.cell_center(Q, j)).set_opacity(0), run_time=0.6)
        self.remove(landed)
        self.play(FadeOut(VGroup(worked, worked.out, note)), FadeIn(notes), run_time=0.5)
        self.qmat = self.kmat = None
        self.shown["worked_dot"] = worked
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
        self.play(FadeIn(formula, shift=0.2 * LEFT), FadeOut(cell_rect), run_time=0.4)
        self.show_caption(self.caption_text("scale", scale_text=cap, d_head=self.d_head, sqrt=inv))
        self.grid = self._grid_to(g, qk * self.scale, "scores", 2)
        self.equation("scale", st, shown=qk * self.scale, a=qk, s=self.scale)
        self.grid_notes, self.formula = notes, formula
        self.shown["scaled"] = self.grid
        self._pause(1.4)

    @staticmethod
    def _grid_labels(g: AttentionGrid) -> VGroup:
        """The grid's token labels and positions (rows: queries, columns: keys)."""
        return VGroup(g.query_labels, g.query_positions, g.key_labels, g.key_positions)

    def _build_grid(self, g: AttentionGrid, qm, km, run_time: float = 3.6,
                    framed: bool = False) -> None:
        """The grid appears cell by cell (lagged): copies of q row i and k row j fly into
        cell (i, j) and it lands with its number — never an empty grid. ``framed``: its
        labels are on stage already."""
        n = self.n
        qrow = {p: VGroup(*qm.row(i)) for i, p in enumerate(self.cols)}
        krow = {p: VGroup(*km.row(i)) for i, p in enumerate(self.cols)}
        base = [FadeIn(g.frame if framed else VGroup(self._grid_labels(g), g.frame))]
        if g.as_image:            # one image: it fades in while the shown rows fly to their cells
            cells = [(i, j) for i in range(n) for j in range(i + 1) if i in qrow and j in krow]
            lands = [Dot(g.cell_center(i, j), radius=0.001, fill_opacity=0) for i, j in cells]
            base.append(FadeIn(g.image))
        else:
            cells = [(i, j) for i in range(n) for j in range(n)]
            lands = [VGroup(g.cell(i, j), *([g.numbers[i * n + j]] if g.show_numbers else []))
                     for i, j in cells]
        srcs = [([qrow[i]] if i in qrow else []) + ([krow[j]] if j in krow else []) for i, j in cells]
        fly_into(self, lands, srcs, run_time=run_time, each=min(0.5, 12.0 / max(len(cells), 1) + 0.1),
                 extra=base, shrink=0.25)
        self.remove(*lands)
        self.add(g)
        self.chrome_front()

    def _dot_piece(self, q: np.ndarray, k: np.ndarray, i: int, j: int, value: float) -> MatrixProduct:
        """q_i (a row, first entries) times k_j (a column): the product piece for one cell."""
        e = self.entries
        vec = WeightMatrix(q[i, :e][None], (1, self.d_head), label=f"q_{i}", font_size=MAT_SIZE,
                           show_shape=False)
        vec.label.set_fill(THEME.query)
        mat = VectorColumn(k[j, :e], self.d_head, label=f"k_{j}", font_size=MAT_SIZE)
        mat.label.set_fill(THEME.key)
        out = WeightMatrix(np.array([[value]]), (1, 1), label="q·k", font_size=MAT_SIZE,
                           show_shape=False, digits=3)
        p = MatrixProduct(vec, mat, out, x=q[i], W=k[j][:, None], names=(f"q_{i}", f"k_{j}", ""))
        p.arrange_in_row(buff=0.3)
        right = config.frame_width / 2 - 0.3
        left = self.grid.frame.get_right()[0] + 0.6 if getattr(self, "grid", None) is not None else 1.0
        left = max(left, self.grid_x + 2.45 + 0.6)
        p.out.align_to(p.vec, UP)
        VGroup(p, p.out).move_to([(left + right) / 2, 0.9, 0])
        return p

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
        """6. Softmax in place: the attending token's row worked step by step (its scores,
        exp(s − max), their sum, each ÷ the sum) and written back into its cells; then the
        other rows in a sweep."""
        t, L, H, Q = self.trace, self.L, self.H, self.Q
        scores = np.asarray(t.scores[L][H], np.float64)
        pat = np.asarray(t.pattern[L][H])
        g = self.grid
        self.show_caption(self.caption_text("softmax", head=H))
        row = g.row_rect(Q, THEME.highlight)
        m = float(np.max(scores[Q, :Q + 1]))
        ex = np.exp(scores[Q, :Q + 1] - m)
        total = float(ex.sum())
        floor = -config.frame_height / 2 + 1.75
        for nk in range(min(8, Q + 1), 0, -1):           # as many keys as fit above the caption
            tab = self._softmax_table(scores[Q], ex, total, pat[Q], list(range(Q + 1))[-nk:])
            if g.frame.get_top()[1] - tab.height >= floor:
                break
        tab.next_to(g.frame, RIGHT, buff=0.35).align_to(g.frame, UP)
        side = list(self.grid_notes[1:])                  # keys note and rule yield their place
        self.play(Create(row), FadeIn(VGroup(tab.head, tab.hdr, tab.keys)),
                  *[FadeOut(x) for x in side], run_time=0.6)
        self.grid_notes = VGroup(self.grid_notes[0])
        # 1. the scores leave the row for the table
        src = [[g.numbers[Q * g.n_k + j]] if g.show_numbers else [] if g.as_image else [g.cell(Q, j)]
               for j in tab.key_list]
        fly_into(self, list(tab.s), src, run_time=0.9, each=0.5)
        self.add(tab.s)
        # 2. exp(s − max), 3. their sum, 4. each ÷ the sum (the camera on the table)
        self.zoom_to(tab, margin=0.35)
        fly_into(self, list(tab.e), [[x] for x in tab.s], run_time=0.9, each=0.5,
                 extra=[FadeIn(tab.max_line)])
        self.add(tab.e)
        fly_into(self, [tab.sum_line], [list(tab.e)], run_time=0.8, each=1.0)
        self.add(tab.sum_line)
        e_sum = self.equation("sum", f"row {Q}: Σ exp(s − max)", shown=total, terms=ex)
        # what is drawn: every listed exp and the sum; when every key is listed the column
        # adds up to the sum as shown (or the line says ≈)
        e_sum.bind_cells([[x] for x in tab.e], [tab.sum_line[-1]],
                         "=" if len(tab.key_list) == Q + 1 and self._sum_exact else "≈")
        fly_into(self, list(tab.w), [[x, tab.sum_line[-1]] for x in tab.e], run_time=0.9, each=0.5)
        self.add(tab.w)
        e_w = self.equation("scale", f"row {Q}: weight = exp(s − max) ÷ Σ", shown=pat[Q, :Q + 1],
                            a=ex, s=1.0 / total)
        e_w.bind_cells([], list(tab.w))
        self.equation("lookup", f"row {Q}: the listed scores", shown=scores[Q, tab.key_list],
                      W=scores[Q], rows=tab.key_list).bind_cells([], list(tab.s))
        self.equation("softmax", f"row {Q}", shown=pat[Q], z=scores[Q])
        self.equation("sum", f"row {Q} sums to 1", shown=float(pat[Q].sum()), terms=pat[Q])
        self.shown["softmax_table"] = tab
        self._pause(0.8)
        self.pull_back(run_time=0.7)
        # 5. the weights go back into the row; 6. every other row the same way, in a sweep
        g2 = self._grid(pat, "pattern", 2)
        back = [in_flight(tab.w[k].copy()) for k in range(len(tab.key_list))]
        self.add(*back)
        self._morph_rows(g, g2, [Q], run_time=0.8, extra=[
            b.animate.move_to(g.cell_center(Q, j)).set_opacity(0) for b, j in zip(back, tab.key_list)])
        self.remove(*back)
        others = [i for i in range(self.n) if i != Q]
        self._morph_rows(g, g2, others, run_time=1.6, each=0.3)
        self.settle(g, g2)
        self.chrome_front()
        self.grid = g2
        self.equation("softmax", "softmax along each row", shown=pat, z=scores)
        self.shown["pattern"] = g2
        self._pause(1.0)
        # the head-choice note (what was searched, what the course set)
        whyt = self._para(self._why_text().replace("\n", " "), 36)
        whyt.next_to(g2.frame, RIGHT, buff=0.35).align_to(g2.frame, UP)
        self.play(FadeOut(tab), FadeIn(whyt), run_time=0.5)
        self.query_rect, self.why = row, whyt
        self.shown["why"] = whyt
        self._pause(1.8)

    def _softmax_table(self, s: np.ndarray, ex: np.ndarray, total: float, w: np.ndarray,
                       keys: list[int]) -> VGroup:
        """The worked row as a table: key | score s | exp(s − max) | weight, its max and sum
        lines. Parts: head, hdr, keys, s, e, w (one text per key), max_line, sum_line."""
        Q = self.Q
        f = MIN_SIZE
        head = VGroup(self._note(f"row {Q} ({self._tok(Q)}):", color=THEME.text),
                      self._note("weight = exp(s − max) ÷ Σ exp(s − max)", color=THEME.text)
                      ).arrange(DOWN, aligned_edge=LEFT, buff=0.1)
        if len(keys) < Q + 1:
            head.add(self._note(f"keys {keys[0]}–{Q} of 0–{Q} listed; the sum is over all {Q + 1}"))
            head.arrange(DOWN, aligned_edge=LEFT, buff=0.1)
        hdr = VGroup(self._note("key"), self._note("s"), self._note("exp(s − max)"), self._note("weight"))
        right = [None, 1.0, 3.15, 4.35]
        cols = [VGroup(), VGroup(), VGroup(), VGroup()]
        # the exp column and its sum at the decimals where the listed terms add up to the
        # shown sum (all keys listed), else 4 decimals and "≈" is not needed: the sum line
        # says it runs over all keys, more than are listed
        de = 4
        if len(keys) == Q + 1:
            de = sum_digits(ex[keys][:, None], np.array([total]), start=4, most=6) or 4
        self._sum_exact = len(keys) == Q + 1 and sum_digits(
            ex[keys][:, None], np.array([total]), start=de, most=de) is not None
        for j in keys:
            for c, (txt, col) in enumerate(((f"{j}", THEME.dim), (number_str(s[j], 2), THEME.text),
                                            (f"{ex[j]:.{de}f}", THEME.text), (f"{w[j]:.3f}", THEME.highlight))):
                x = num_text(txt, f, col)
                x.value = float((j, s[j], ex[j], w[j])[c])
                cols[c].add(x)
        for i, r in enumerate([hdr, *zip(*cols)]):
            for c, x in enumerate(r):
                x.set_y(-i * 0.32)
                x.align_to([right[c], 0, 0], RIGHT) if c else x.align_to([0, 0, 0], LEFT)
        body = VGroup(hdr, *cols)
        max_line = self._note(f"max s = {number_str(float(np.max(s[:Q + 1])), 2)}", color=THEME.text)
        rel = "=" if len(keys) < Q + 1 or self._sum_exact else "≈"
        total_t = num_text(f"{total:.{de}f}", f, THEME.highlight)
        total_t.value = float(total)
        sum_line = VGroup(self._note(f"Σ exp(s − max) over all {Q + 1} keys {rel}", color=THEME.text),
                          total_t).arrange(RIGHT, buff=0.12)
        tab = VGroup(head, body, max_line, sum_line).arrange(DOWN, aligned_edge=LEFT, buff=0.18)
        tab.head, tab.hdr, tab.keys = head, hdr, cols[0]
        tab.s, tab.e, tab.w = cols[1], cols[2], cols[3]
        tab.max_line, tab.sum_line, tab.key_list = max_line, sum_line, list(keys)
        return tab

    def _morph_rows(self, g: AttentionGrid, g2: AttentionGrid, rows: list[int], run_time: float,
                    each: float = 1.0, extra: list | None = None) -> None:
        """Rows ``rows`` of grid g take g2's colours and numbers in place, lagged by row
        (one animation; g stays the piece on stage until :meth:`settle`)."""
        if g.as_image or g2.as_image or len(g.cells) != len(g2.cells) \
                or any(c.submobjects for c in (*g.cells, *g2.cells)):
            if rows and rows[0] == self.Q:            # an image or area cells: the whole grid at once
                self.play(FadeOut(g.image if g.as_image else g.cells),
                          FadeIn(g2.image if g2.as_image else g2.cells), *(extra or []), run_time=run_time)
            return
        nk = g.n_k
        idx = [[r * nk + k for k in range(nk)] for r in rows]
        a = {i: g.cells[i].get_fill_rgbas()[0].copy() for ii in idx for i in ii}
        b = {i: g2.cells[i].get_fill_rgbas()[0].copy() for ii in idx for i in ii}
        pairs = len(g.numbers) == len(g2.numbers)
        old = [drawn_parts([g.numbers[i] for i in ii]) if pairs else [] for ii in idx]
        new = [drawn_parts([g2.numbers[i] for i in ii]) if pairs else [] for ii in idx]
        for ii, nw in zip(idx, new):
            for p in nw:
                set_alpha(p, 0.0)
            if pairs:
                self.add(*[g2.numbers[i] for i in ii])

        def step(_, alpha: float) -> None:
            for n, ii in enumerate(idx):
                start = (1 - each) * n / max(len(idx) - 1, 1)
                u = min(1.0, max(0.0, (alpha - start) / each))
                for i in ii:
                    rgba = a[i] + (b[i] - a[i]) * u
                    g.cells[i].set_fill(ManimColor.from_rgb(rgba[:3]), opacity=float(rgba[3]))
                for p in old[n]:
                    set_alpha(p, 1.0 - u)
                for p in new[n]:
                    set_alpha(p, u)

        # linear: each row's numbers fade quickly from its first frame (an eased start
        # would leave the first row half-faded, hard to read, for a quarter second)
        self.play(UpdateFromAlphaFunc(VGroup(), step, rate_func=linear), *(extra or []),
                  run_time=run_time)
        for ii in idx:
            for i in ii:
                g.numbers[i].set_opacity(0) if pairs else None

    def _why_text(self) -> str:
        """Why this head: what was searched and what the course set."""
        L, H = self.L, self.H
        s = float(self.head_score_table[L, H])
        kind, count, where = self.choice
        if self.n < 4:
            return (f"The prompt has {self.n} token{'s' if self.n > 1 else ''}: too short for the "
                    f"head rule (no query has a key other than the first, itself and the previous "
                    f"one), so every score is 0 and head {H} of layer {L} is the first "
                    f"{'set' if kind != 'rule' else 'searched'}.")
        if kind == "rule":
            return (f"Why head {H} of layer {L}? {pct(s)} of its attention (queries 3–{self.n - 1})\n"
                    f"goes to earlier words other than the first, itself and the previous one:\n"
                    f"the most of the {count} heads searched (layers: {where}).")
        if kind == "layer":
            return (f"Layer {L} set by the course; head {H} has the highest score in it:\n"
                    f"{pct(s)} of its attention (queries 3–{self.n - 1}) goes to earlier words\n"
                    f"other than the first, itself and the previous one.")
        return (f"Layer {L} and head {H} set by the course. Score: {pct(s)} of its attention\n"
                f"(queries 3–{self.n - 1}) to earlier words other than the first, itself, the previous one.")
