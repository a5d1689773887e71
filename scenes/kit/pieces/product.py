"""A product computed in front of the viewer: a row vector times a matrix (``x·W``), or a
dot product, with the result entry counting up through the REAL partial sums.

The one way a scene shows ``out = x·W (+ b)`` being computed (row-vector convention, as in
:mod:`tensors.weights`: the vector is a row, column ``j`` of W gives output ``j``):

1. :meth:`MatrixProduct.work` — highlight boxes step along the vector's shown entries and
   down the matrix column; at each step copies of the two factors fly into the result
   entry, which shows the partial sum over the terms so far (computed in float64 from the
   shown operands' ``.value``; each one goes into the equation ledger). A note says how
   many of the d terms that is; at the end "+ N more terms (+ b)" and the entry becomes the
   model's value. With several columns at once every result entry of the row counts up
   together (a matrix's rows scaled by the vector's entries and summed).
2. :meth:`MatrixProduct.sweep` — the other shown result entries fill in, lagged, each born
   from copies of its vector row and matrix column; the whole shown block goes into the
   ledger as one ``matmul``.

It is built on the one grid, :class:`scenes.kit.pieces.matrix.WeightMatrix` (vector,
matrix and result are grids; a dot product is a 1×d row times a d×1 column) and the one
number formatter, :func:`scenes.kit.text.number_str` with
:func:`scenes.kit.theme.digits_for` decimals.

Example (a scene with a ledger — any :class:`scenes.kit.scene.GPTScene` — records every
partial sum; a plain ``Scene`` just animates)::

    import numpy as np
    from manim import LEFT, RIGHT, FadeIn, Scene
    from scenes.kit.pieces import VectorColumn, WeightMatrix
    from scenes.kit.pieces.product import MatrixProduct

    class Demo(Scene):
        def construct(self):
            x = np.array([0.5, -1.0, 2.0, 0.25, 1.5])          # a real row (d = 5)
            W = np.arange(15.0).reshape(5, 3) / 10             # [d, 3]
            xv = WeightMatrix(x[None, :3], (1, 5), label="x")  # 3 of 5 entries shown
            Wm = WeightMatrix(W[:3], (5, 3), label="W")
            out = WeightMatrix((x @ W)[None], (1, 3), label="x·W")
            p = MatrixProduct(xv, Wm, out, x=x, W=W).arrange_in_row()
            self.play(FadeIn(p))                  # operands and the empty result frame
            p.work(self, 0, [0])                  # entry 0 counts up: 3 shown terms + 2 more
            p.sweep(self)                         # entries 1 and 2 fill in

>>> import numpy as np
>>> x = np.array([0.5, -1.0, 2.0, 0.25]); W = np.arange(8.0).reshape(4, 2)
>>> p = MatrixProduct(WeightMatrix(x[None, :3], (1, 4)), WeightMatrix(W[:3], (4, 2)),
...                   WeightMatrix((x @ W)[None], (1, 2)), x=x, W=W)
>>> p.k, p.d, p.partial_sums(0, [1])[:, 0].tolist()      # 0.5·1, −1·3, 2·5 summed up
(3, 4, [0.5, -2.5, 7.5])
>>> float(p.result[0, 1]) == float(x @ W[:, 1])
True
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UP, Create, FadeIn, FadeOut,
                   SurroundingRectangle, UpdateFromAlphaFunc, VGroup, VMobject)

from manim.utils.rate_functions import smooth

from ..text import flat_text, markup, num_text, number_str
from ..transitions import become, drawn_parts, glide, in_flight, set_alpha
from ..theme import MIN_SIZE, THEME, digits_for
from .matrix import WeightMatrix, scale_of

__all__ = ["MatrixProduct", "fly_into", "frame_parts", "shown_digits"]


def fly_into(scene: Any, landings: Sequence[VMobject], sources: Sequence[Sequence[VMobject]], *,
             run_time: float = 2.0, each: float = 0.3, extra: Sequence = (), shrink: float = 0.3) -> None:
    """Lagged: for each landing, copies of its sources fly into it (shrinking, fading) and
    it fades in. ONE animation drives every copy (cheap for hundreds of cells): only the
    copies in flight are drawn. ``each``: the share of ``run_time`` one landing takes;
    ``extra`` animations run alongside. The landings are on stage afterwards.

    >>> from manim import Dot, Scene, tempconfig
    >>> with tempconfig({"dry_run": True}):
    ...     s = Scene(skip_animations=True)
    ...     a, b = Dot(), Dot().shift(RIGHT)
    ...     fly_into(s, [b], [[a]], run_time=0.5)
    >>> b in s.mobjects and a not in s.mobjects
    True
    """
    n = len(landings)
    live = VGroup()
    flights = []            # (landing, parts, [(copy, family points, start, end)])
    for m, srcs in zip(landings, sources):
        cps = []
        for src in srcs:
            c = in_flight(src.copy())
            c0 = c.get_center()
            fam = [(f, f.points.copy()) for f in c.family_members_with_points()]
            # the digits of a row or column copy fade as it leaves (dozens of shrinking
            # numbers in flight cannot be read and garble each other); its cells fly on.
            # A single number flying keeps its digits.
            digits = VGroup(*[f for f in c.get_family() if isinstance(getattr(f, "text", None), str)])
            if len(digits) < 2:
                digits = VGroup()
            cps.append((c, fam, c0, m.get_center(), digits))
        flights.append((m, drawn_parts([m]), cps))
    for m, parts, _ in flights:
        set_alpha(parts[0], 0.0)

    def step(_: VMobject, alpha: float) -> None:
        shown = []
        for i, (m, parts, cps) in enumerate(flights):
            start = (1 - each) * i / max(n - 1, 1)
            u = min(1.0, max(0.0, (alpha - start) / each))
            if u <= 0:
                continue
            v = smooth(u)
            set_alpha(parts[0], min(1.0, 1.6 * v))
            shown.append(m)
            if u >= 1:
                continue
            for c, fam, c0, c1, digits in cps:
                pos = c0 + (c1 - c0) * v
                sc = 1 + (shrink - 1) * v
                for f, pts in fam:
                    f.points = (pts - c0) * sc + pos
                if v > 0.6:
                    c.set_opacity(1 - v)
                if len(digits):
                    digits.set_opacity(max(0.0, 1 - 3 * v))
                shown.append(c)
        live.submobjects = shown

    scene.add(live)
    scene.play(UpdateFromAlphaFunc(live, step), *extra, run_time=run_time)
    scene.remove(live)
    for m, parts, _ in flights:
        set_alpha(parts[0], 1.0)
    scene.add(*landings)


def frame_parts(m: WeightMatrix) -> VGroup:
    """Everything of a grid but its entries: brackets, ellipses, labels, braces, notes."""
    return VGroup(*[s for s in m.submobjects if s is not m.body],
                  *([m.ellipses] if len(m.ellipses) else []))


def _shape(m: WeightMatrix) -> tuple[int, int]:
    """(rows, columns) of a grid's shown block (a VectorColumn is n × 1)."""
    return len(m.rows), len(m.rows[0]) if len(m.rows) else 0


def shown_digits(m: WeightMatrix) -> int:
    """The decimals a grid's entries are printed with (read from an entry's text)."""
    for e in m.entries:
        s = getattr(e, "text", "")
        if "e" not in s and "∞" not in s:
            return len(s.split(".")[1]) if "." in s else 0
    return digits_for(scale_of(m.values))


class MatrixProduct(VGroup):
    """``out = x·W (+ b)`` computed on screen. ``vec``: a grid whose rows are the vectors
    (its first ``k`` entries shown), ``mat``: a grid of W's first rows and some columns,
    ``out``: the grid of the result (its values are the model's). ``x`` [n_out_rows, d] (or
    [d]) and ``W`` [d, m] are the FULL operands; ``b`` [m] an optional bias; ``result`` the
    model's values for out's shown block (default: ``x @ W + b`` in float64).
    ``vec_rows[r]`` is the row of ``vec`` that out's row r is computed from (default r);
    ``cols[j]`` the column of W that out's column j shows (default j).

    The group holds the operands and the result's frame (brackets, labels: no entries),
    so ``FadeIn`` / ``Create`` of it show what is about to be multiplied; the result entries
    appear only as they are computed. Names for the notes: ``names=(vec, mat, bias)``.
    """

    def __init__(self, vec: WeightMatrix, mat: WeightMatrix, out: WeightMatrix, *,
                 x: np.ndarray, W: np.ndarray, b: np.ndarray | None = None,
                 result: np.ndarray | None = None, vec_rows: Sequence[int] | None = None,
                 cols: Sequence[int] | None = None, names: tuple[str, str, str] = ("x", "W", "b"),
                 digits: int | None = None, note_size: float | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.vec, self.mat, self.out = vec, mat, out
        nr, nc = _shape(out)
        self.x = np.atleast_2d(np.asarray(x, np.float64))            # [nr, d]
        self.W = np.asarray(W, np.float64)                           # [d, m]
        self.d = self.W.shape[0]
        self.cols = list(range(nc) if cols is None else cols)
        self.b = None if b is None else np.asarray(b, np.float64)
        self.vec_rows = list(range(nr) if vec_rows is None else vec_rows)
        if self.x.shape != (nr, self.d) or len(self.vec_rows) != nr or len(self.cols) != nc:
            raise ValueError(f"x must be [{nr}, {self.d}] (one full row per result row), "
                             f"got {self.x.shape}; vec_rows {len(self.vec_rows)}, cols {len(self.cols)}")
        full = self.x @ self.W[:, self.cols] + (0.0 if self.b is None else self.b[self.cols])
        self.result = full if result is None else np.asarray(result, np.float64).reshape(nr, nc)
        # the shown terms: the vector's shown entries against the matrix's shown rows
        self.k = min(_shape(vec)[1], _shape(mat)[0])
        self.mat_cols = _shape(mat)[1]
        for r, vr in enumerate(self.vec_rows):
            if not np.allclose([vec.entry(vr, i).value for i in range(self.k)], self.x[r, :self.k]):
                raise ValueError(f"row {vr} of the vector grid is not x[{r}]")
        for j, c in enumerate(self.cols[:self.mat_cols]):
            if not np.allclose([mat.entry(i, j).value for i in range(self.k)], self.W[:self.k, c]):
                raise ValueError(f"column {j} of the matrix grid is not W[:, {c}]")
        drawn = np.array([[out.entry(r, j).value for j in range(nc)] for r in range(nr)], np.float64)
        if not np.allclose(drawn, self.result, rtol=1e-4, atol=1e-6):
            raise ValueError("the result grid's entries are not the product's values (result=)")
        self.names = names
        self.digits = shown_digits(out) if digits is None else digits
        self.note_size = max(MIN_SIZE, note_size or out.font_size * 0.9)
        self.frame = frame_parts(out)
        self.done: set[tuple[int, int]] = set()
        #: every number the counting entries showed: (row, column, text, value)
        self.history: list[tuple[int, int, str, float]] = []
        self.add(vec, mat, self.frame)

    # ------------------------------------------------------------------ numbers
    def partial_sums(self, r: int, js: Sequence[int]) -> np.ndarray:
        """[k, len(js)]: the cumulative sums Σ_{i≤t} x[r, i]·W[i, col_j] over the shown
        terms, in float64, from the values the shown entries carry."""
        xv = np.array([self.vec.entry(self.vec_rows[r], i).value for i in range(self.k)], np.float64)
        Wv = np.array([[self.mat.entry(i, j).value for j in js] for i in range(self.k)], np.float64)
        return np.cumsum(xv[:, None] * Wv, axis=0)

    def arrange_in_row(self, buff: float = 0.35) -> "MatrixProduct":
        """vec · mat = out side by side, the result's frame moved with the result."""
        VGroup(self.vec, self.mat, self.out).arrange(RIGHT, buff=buff)
        return self

    def _record(self, scene: Any, kind: str, text: str, shown: Any, **ops: Any) -> Any:
        """The scene's ledger entry for what is shown (None outside a ledger scene)."""
        if hasattr(scene, "equation"):
            return scene.equation(kind, text, shown=shown, **ops)
        return None

    def _counter(self, r: int, j: int, v: float, color=None, digits: int | None = None,
                 eq: Any = None, n: int = 0) -> VMobject:
        """The counting entry at out[r, j] showing ``v``; with a ledger entry ``eq``, its text
        is made from the entry's ``shown[n]`` and bound to it (what is drawn is checked)."""
        d = self.digits if digits is None else digits
        e = self.out.entry(r, j)
        # room from the left bracket to the entry's right edge: a partial sum printed with
        # more decimals than the entries drops decimals rather than cross the bracket
        brackets = getattr(self.out, "brackets", None)
        room = (e.get_right()[0] - brackets[0].get_right()[0] - 0.06) if brackets is not None \
            and len(brackets) else float("inf")
        while True:
            s = eq.say(f"{{shown[{n}]:num.{d}}}") if eq is not None else number_str(float(v), d)
            t = num_text(s, self.out.font_size, color or THEME.highlight)
            if t.width <= room or d <= self.digits:
                break
            d -= 1
        t.value, t.text = float(v), s
        if eq is not None:
            eq.bind(t)
        return t.move_to(e.get_center()).align_to(e, RIGHT)

    def _line(self, s: str, color=None, eq: Any = None) -> VMobject:
        """A line of a note; ``W_Q`` gets a real subscript. With a ledger entry ``eq``, ``s``
        is a template of it (:meth:`scenes.kit.ledger.Equation.say`) and the line is bound."""
        if eq is not None:
            s = eq.say(s)
        t = flat_text(markup(s), self.note_size, color or THEME.text, markup=True)
        t.text = s
        if eq is not None:
            eq.bind(t)
        return t

    def _place(self, note: VGroup, where: VMobject | None, direction) -> VGroup:
        anchor = where if where is not None else self.out
        note.arrange(DOWN, aligned_edge=LEFT, buff=0.1)
        note.next_to(anchor, direction, buff=0.2)
        return note.align_to(anchor, LEFT if abs(direction[0]) < 0.5 else UP)

    # ------------------------------------------------------------------ 1. the worked entry
    def work(self, scene: Any, r: int, js: Sequence[int] = (0,), *, step: float = 0.45,
             note_at: VMobject | None = None, note_dir=DOWN, finish: bool = True) -> VGroup:
        """Animate out[r, js] = x[r]·W[:, js] (+ b): a step per shown term, then the rest.
        Returns the note (still on screen; :meth:`sweep` or the caller removes it)."""
        js = list(js)
        vn, wn, bn = self.names
        vr = self.vec_rows[r]
        ps = self.partial_sums(r, js)
        # partial sums of a few terms are small: printed with the decimals they need
        pd = max(self.digits, digits_for(scale_of(ps)))
        pen = THEME.highlight
        row_box = SurroundingRectangle(self.vec.row(vr), color=pen, buff=0.05, stroke_width=2)
        col_box = VGroup(*[SurroundingRectangle(self.mat.col(j), color=pen, buff=0.05, stroke_width=2)
                           for j in js if j < self.mat_cols])
        bx = SurroundingRectangle(self.vec.entry(vr, 0), color=pen, buff=0.04, stroke_width=4)
        bw = VGroup(*[SurroundingRectangle(self.mat.entry(0, j), color=pen, buff=0.04, stroke_width=4)
                      for j in js if j < self.mat_cols])
        counters = VGroup(*[self._counter(r, j, 0.0) for j in js])
        col_txt = (f"[:, {self.cols[js[0]]}]" if len(js) == 1 and self.W.shape[1] > 1 else "")
        note = self._place(VGroup(self._line(f"{vn}·{wn}{col_txt}"),
                                  self._line(f"0 of {self.d:,} terms", THEME.dim)), note_at, note_dir)
        for c in counters:
            c.set_opacity(0)
        scene.play(Create(row_box), Create(col_box), Create(bx), Create(bw), FadeIn(note),
                   run_time=0.4)
        scene.add(counters)
        for i in range(self.k):
            eq = self._record(scene, "matmul", f"{vn}·{wn}: sum of the first {i + 1} terms",
                              ps[i], x=self.x[r, :i + 1], W=self.W[:i + 1, [self.cols[j] for j in js]])
            new = VGroup(*[self._counter(r, j, ps[i, n], digits=pd, eq=eq, n=n)
                           for n, j in enumerate(js)])
            new_note = self._line(f"{i + 1} of {self.d:,} terms so far", THEME.dim)
            new_note.move_to(note[1], aligned_edge=LEFT)
            flying = in_flight(VGroup(self.vec.entry(vr, i).copy(),
                                      *[self.mat.entry(i, j).copy() for j in js if j < self.mat_cols]))
            moves = [glide(bx, self.vec.entry(vr, i))] + [
                glide(b, self.mat.entry(i, j)) for b, j in zip(bw, js)]
            targets = [counters[0]] + [counters[n] for n, j in enumerate(js) if j < self.mat_cols]
            scene.add(flying)

            def fly(m: VGroup, a: float, start=[f.get_center() for f in flying],
                    ends=[t.get_center() for t in targets]) -> None:
                u = min(1.0, max(0.0, (a - 0.25) / 0.75))
                for f, s, e in zip(m, start, ends):
                    f.move_to(s + (e - s) * u)
                    f.set_opacity(1.0 - u)

            def swap(_: VMobject, a: float, new=new, new_note=new_note) -> None:
                if a >= 0.8:
                    for c, nc in zip(counters, new):
                        become(c, nc)
                    become(note[1], new_note)

            scene.play(*moves, UpdateFromAlphaFunc(flying, fly), UpdateFromAlphaFunc(counters, swap),
                       run_time=step if i else step * 1.2)
            scene.remove(flying)
            for n, j in enumerate(js):
                counters[n].value, counters[n].text = float(ps[i, n]), new[n].text
                self.history.append((r, j, counters[n].text, float(ps[i, n])))
        if finish:
            self.finish(scene, r, js, counters, note, extra=[FadeOut(bx), FadeOut(bw),
                                                            FadeOut(row_box), FadeOut(col_box)])
        else:
            scene.play(FadeOut(bx), FadeOut(bw), FadeOut(row_box), FadeOut(col_box), run_time=0.3)
        return note

    def finish(self, scene: Any, r: int, js: Sequence[int], counters: VGroup, note: VMobject,
               extra: Sequence = ()) -> None:
        """"+ N more terms (+ b)": the counters become the model's values (the real entries)."""
        vn, wn, bn = self.names
        rest = self.d - self.k
        cs = [self.cols[j] for j in js]
        eq = self._record(scene, "matmul", f"{vn}·{wn}[:, {', '.join(map(str, cs))}]"
                          + (f" + {bn}" if self.b is not None else ""),
                          np.array([self.result[r, j] for j in js]), x=self.x[r], W=self.W[:, cs],
                          **({"b": self.b[cs]} if self.b is not None else {}))
        tail = f" + {bn}" if self.b is not None else ""
        more = f"+ {{rest:,}} more terms{tail}" if rest else (tail.strip() or "all terms")
        vals = "  ".join(f"{{shown[{n}]:num.{self.digits}}}" for n in range(len(js)))
        if eq is None:                 # outside a ledger scene: the same text, unbound
            more = more.format(rest=rest)
            vals = "  ".join(number_str(float(self.result[r, j]), self.digits) for j in js)
            done = VGroup(self._line(more, THEME.highlight), self._line(f"= {vals}", THEME.highlight))
        else:
            done = VGroup(self._line(more.replace("{rest:,}", f"{rest:,}"), THEME.highlight, eq=eq),
                          self._line(f"= {vals}", THEME.highlight, eq=eq))
        done.arrange(DOWN, aligned_edge=LEFT, buff=0.1).next_to(note, DOWN, buff=0.1)
        done.align_to(note, LEFT)
        ents = [self.out.entry(r, j) for j in js]
        scene.play(FadeIn(done), *extra, run_time=0.5)
        scene.play(*[FadeOut(c) for c in counters], *[FadeIn(e) for e in ents], run_time=0.5)
        scene.remove(counters, done)
        note.add(done)
        self.done.update((r, j) for j in js)

    # ------------------------------------------------------------------ 2. the sweep
    def sweep(self, scene: Any, cells: Sequence[tuple[int, int]] | None = None, *,
              run_time: float = 1.4, each: float = 0.35, fly: bool = True,
              remove: Sequence[VMobject] = ()) -> None:
        """The other shown result entries fill in, lagged: each from copies of its vector
        row and matrix column flying into it (``fly=False``: they fade in). Records the
        whole shown block as one ``matmul``; afterwards ``out`` is on stage, whole."""
        nr, nc = _shape(self.out)
        todo = [c for c in (cells if cells is not None else
                            [(r, j) for r in range(nr) for j in range(nc)]) if c not in self.done]
        lands = [self.out.entry(r, j) for r, j in todo]
        srcs = [([self.vec.row(self.vec_rows[r])] + ([self.mat.col(j)] if j < self.mat_cols else []))
                if fly else [] for r, j in todo]
        self.done.update(todo)
        if lands:
            fly_into(scene, lands, srcs, run_time=run_time, each=each,
                     extra=[FadeOut(m) for m in remove])
        elif remove:
            scene.play(*[FadeOut(m) for m in remove], run_time=0.3)
        scene.add(*lands)
        # one piece on stage: the copies gone, the result whole
        fam = set(self.out.get_family())
        scene.remove(self.frame, *[m for m in scene.mobjects if m in fam])
        scene.add(self.out)
        keep = [self.cols[j] for j in range(nc)]
        ops = {"b": self.b[keep]} if self.b is not None else {}
        eq = self._record(scene, "matmul", f"{self.names[0]}·{self.names[1]} (every shown entry)",
                          self.result, x=self.x, W=self.W[:, keep], **ops)
        if eq is not None:            # the drawn entries are these values at their precision
            eq.bind_cells([], [self.out.entry(r, j) for r in range(nr) for j in range(nc)])
