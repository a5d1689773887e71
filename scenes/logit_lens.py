"""The logit lens: the prediction, layer by layer.

``manim render scenes/logit_lens.py`` renders :class:`LogitLensScene`:

1. ``beat_idea`` — the residual stream after any block, read with the model's own final
   norm and unembedding (``Trace.lens_logits``): what would the model predict if it
   stopped there? One cell worked through with its real numbers: x normed in place to x̂,
   the logit x̂·W_U of the lens's top token counted term by term (the product piece), its
   probability after the softmax over every logit.
2. ``beat_grid`` — a grid of layers × positions: in each cell the lens's top next token
   and its probability. The worked cell lands in its place; row 0 grows from the tokens;
   each later row is computed by a sweep of the lens across it, a cell born at each
   position it passes. When the model has more layers than ``max_rows``, evenly spaced
   layers are shown and the screen says which.
3. ``beat_curve`` — at the last position, the answer's probability and rank after every
   layer (all of them), as curves beside the grid's last column.

Knobs: ``prompt``, ``model``, ``max_rows``, ``max_positions``, ``answer``, ``pause``.
Section ``[logit_lens]``.
"""
from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UL, UP, Create, Dot, FadeIn, FadeOut, FadeTransform,
                   LaggedStart, Line, ReplacementTransform, RoundedRectangle, Transform,
                   VGroup, VMobject)

from scenes.kit.analysis.lens import (AtPositions, first_layer_on_top, lens_all, layer_list, ranks,
                                      shown_layers, softmax_rows, top_ids)
from scenes.kit.analysis.mlp import problem_of, resolve_answer
from scenes.kit.course.spec import Range
from scenes.kit.camera import FrameZoom
from scenes.kit.scene import GPTScene, beat
from scenes.kit.pieces import TokenBoxes, WeightMatrix
from scenes.kit.pieces.product import MatrixProduct
from scenes.kit.text import num_text, token_label
from scenes.kit.theme import THEME, mass_text, shade_color


#: Width of the last column beside the curves (frame units): a grid of 1 to 3 columns has
#: wider cells, rebuilt this wide in ``beat_curve`` so that the curves keep their room.
_CURVE_CELL_W = 2.9


def said_pct(eq: Any, j: int, i: int, prefix: str = "") -> str:
    """``prefix`` + the probability ``eq.shown[j][i]`` as :func:`mass_text` prints it, made
    from the ledger entry ``eq`` by :meth:`Equation.say` (so the test reads it back); the
    ends mass_text words (">99.99%", "<0.01%") are not a format of the number: not said.

    >>> import numpy as np
    >>> from scenes.kit.ledger import Equation
    >>> e = Equation("softmax", "softmax", np.array([[0.773, 0.0012]]), {"z": np.zeros((1, 2))})
    >>> said_pct(e, 0, 0, "→ “ Paris” "), said_pct(e, 0, 1), e.said
    ('→ “ Paris” 77.3%', '0.12%', ['→ “ Paris” 77.3%', '0.12%'])
    """
    prob = float(np.asarray(eq.shown)[j, i])
    spec = ".1%" if 0.1 <= prob < 0.99995 else ".2%" if 1e-4 <= prob < 0.1 else None
    if spec is None:
        return prefix + mass_text(prob)
    said = eq.say(prefix.replace("{", "{{").replace("}", "}}") + f"{{shown[{j}][{i}]:{spec}}}")
    return said if said == prefix + mass_text(prob) else prefix + mass_text(prob)


def _short(label: str, max_chars: int) -> str:
    """A token label cut to ``max_chars`` with an ellipsis (said on screen by the '…')."""
    return label if len(label) <= max_chars else label[:max_chars - 1] + "…"


class LogitLensScene(FrameZoom, GPTScene):
    _subscripts = True
    config_section = "logit_lens"
    beats = ("beat_idea", "beat_grid", "beat_curve")

    #: Rows of the grid (layers shown, evenly spaced, always the first and the last; 3 to 12).
    max_rows: ClassVar[Annotated[int, Range(3, 12)]] = 11
    #: Columns of the grid: the last positions of the prompt (1 to 6).
    max_positions: ClassVar[Annotated[int, Range(1, 6)]] = 6
    #: The token whose probability and rank are followed (one token of the vocabulary,
    #: e.g. " Paris"); None = the model's own top next token after the prompt.
    answer: ClassVar[str | None] = None
    #: Seconds of reading pause after each step.
    pause: ClassVar[Annotated[float, Range(0, 60)]] = 1.6

    captions: ClassVar[dict[str, str]] = {
        "idea": "The logit lens: read the residual stream after any block with the model's own "
                "final norm and unembedding.",
        "idea2": "What would {model} predict if it stopped after that block? One cell, worked "
                 "through:",
        "self": "Row 0 reads the embedding itself: with W_U = W_Eᵀ (tied), {k} of {n} tokens "
                "predict themselves.",
        "grid": "Each column: the text up to that token. Each cell: the lens's top guess for "
                "the next token, and its probability.",
        "rows_some": "{n_rows} of {n_all} rows shown: the embedding, then after blocks {blocks}.",
        "last": "After the last block the lens is the model's own prediction: the final norm "
                "and unembedding are exactly what it applies.",
        "curve": "At the last position, “{ans}” after the embedding and every one of the {n_layer} "
                 "blocks: its "
                 "probability, and its rank among {vocab:,} tokens.",
        "settles": "“{ans}” is the top guess from {where} on.",
        "only_last": "“{ans}” is the top guess after the last block, and not after the one before.",
        "not_top": "“{ans}” is not the lens's top guess at the end.",
    }

    # ------------------------------------------------------------------ data
    @classmethod
    def model_problem(cls, t: Any, get: Any) -> tuple[str, str] | None:
        """(``"answer"``, what is allowed) when the answer is not one token of the model's
        vocabulary (the rule of :func:`resolve_answer`), or None."""
        what = problem_of(lambda: resolve_answer(t, get("answer") or "auto"), "answer", get("answer"))
        return ("answer", what) if what else None

    def prepare(self) -> None:
        t = self.trace
        info = self.info = t.info
        N = info["n_layer"]
        self.n_all = N + 1
        n = t.n_pos
        self.cols = list(range(max(0, n - self.max_positions), n))
        # the lens at the shown positions only (indexed by position): a long prompt costs
        # what is shown, not [layer+1, pos, vocab] over every position
        lens = lens_all(t, self.cols)                                  # [layer+1, col, vocab]
        top = top_ids(lens)                                            # [layer+1, col]
        p_top = np.take_along_axis(softmax_rows(lens), top[..., None], -1)[..., 0]
        self.lens, self.top, self.p_top = (AtPositions(a, self.cols, n) for a in (lens, top, p_top))
        self.answer_id = resolve_answer(t, self.answer or "auto")      # "auto": the top next token
        self.answer_str = t.token_strs([self.answer_id])[0]
        last = self.lens[:, -1]                                        # [layer+1, vocab]
        self.p_answer = softmax_rows(last)[:, self.answer_id]
        self.rank_answer = ranks(last, self.answer_id)
        self.layers = shown_layers(N, self.max_rows)
        self.tag = self.model_tag()

    def row_name(self, L: int) -> str:
        return "embedding" if L == 0 else f"after block {L - 1}"

    # ------------------------------------------------------------------ the ledger
    def record_lens(self, L: int, pos: list[int]) -> Any:
        """x̂ = final norm of x_L, ℓ = x̂ · W_U, p = softmax(ℓ): the three steps the lens
        shows, for layer L at positions ``pos``, with the numbers behind the screen. Returns
        the softmax entry (its ``shown`` [len(pos), vocab]: what the cells' percentages say)."""
        t = self.trace
        x = t.resid[L, pos]
        xn = t.apply_norm(x)
        facts = self.info["final_norm"]
        g = t.weights.get("ln_f.w")
        if facts["type"] == "LayerNorm":
            b = t.weights.get("ln_f.b") if facts["bias"] else np.zeros_like(g)
            self.equation("layernorm", "x̂ = final LayerNorm of x", shown=xn, x=x, g=g, b=b, eps=facts["eps"])
        else:
            self.equation("rmsnorm", "x̂ = final RMSNorm of x", shown=xn, x=x, g=g, eps=facts["eps"])
        z = self.lens[L, pos]
        self.equation("matmul", "ℓ = x̂ · W_U", shown=z, x=xn, W=t.weights.W_U.T)
        return self.equation("softmax", "softmax", shown=softmax_rows(z).astype(np.float32), z=z)

    # ------------------------------------------------------------------ layout
    def build_header(self) -> None:
        """Title, formula and the header of input tokens (no animation)."""
        t = self.trace
        self.title = self.text("The logit lens", size=34)
        self.title.to_corner(UL, buff=0.35)
        self.formula = self.text("p = softmax(x̂·W_U),  x̂ = x_L after the final norm", size=26,
                                 color=THEME.highlight)
        self.formula.next_to(self.title, DOWN, buff=0.2).align_to(self.title, LEFT)
        k = len(self.cols)
        self.x_left, self.x_right = -4.55, 6.95
        self.cell_w = (self.x_right - self.x_left) / k
        xs = [self.x_left + self.cell_w * (i + 0.5) for i in range(k)]
        self.col_x = xs
        head = TokenBoxes([t.tokens[p] for p in self.cols], font_size=22, max_width=None)
        for b, x in zip(head.boxes, xs):
            if b.width > self.cell_w - 0.1:
                b.scale_to_fit_width(self.cell_w - 0.1)
            b.move_to([x, 1.95, 0])
        self.header = head
        note = f"positions {self.cols[0]}–{self.cols[-1]}\nof 0–{t.n_pos - 1}" if self.cols[0] \
            else "the text read"
        self.header_note = self.text(note, size=20, color=THEME.dim)   # left of the first box
        self.header_note.move_to([0, 1.95, 0]).align_to([-6.95, 0, 0], LEFT)
        self.add(self.tag, self.title, self.formula, self.header, self.header_note)

    def make_rows(self) -> None:
        """The grid's rows, not yet on screen: ``self.rows[i]`` for ``self.layers[i]``."""
        top, bottom = 1.45, -2.55
        n = len(self.layers)
        self.pitch = min(0.62, (top - bottom) / n)
        self.row_y = [top - self.pitch * (i + 0.5) for i in range(n)]
        self.lens_eq = {L: self.record_lens(L, self.cols) for L in self.layers}
        self.rows = [self.make_row(L, y) for L, y in zip(self.layers, self.row_y)]

    def build_rows(self) -> None:
        """The grid on screen without animation (for a beat that needs it)."""
        self.make_rows()
        self.add(*self.rows)

    def make_row(self, L: int, y: float) -> VGroup:
        t = self.trace
        ids = [int(self.top[L, p]) for p in self.cols]
        strs = t.token_strs(ids)
        cells = VGroup(*[self.make_cell(L, p, i, tok, self.col_x[j], y, self.cell_w)
                         for j, (p, i, tok) in enumerate(zip(self.cols, ids, strs))])
        name = self.text(self.row_name(L), size=20, color=THEME.dim)
        name.move_to([self.x_left - 0.15, y, 0], aligned_edge=RIGHT)
        row = VGroup(name, cells)
        row.layer, row.name, row.cells = L, name, cells
        return row

    def make_cell(self, L: int, p: int, tok_id: int, tok: str, x: float, y: float,
                  width: float) -> VGroup:
        """The cell of layer ``L`` at position ``p``: the lens's top token ``tok`` and its
        probability, in a box ``width`` wide centred at (x, y)."""
        prob = float(self.p_top[L, p])
        h = min(self.pitch * 0.86, 0.46)
        rect = RoundedRectangle(width=width - 0.08, height=h, corner_radius=0.06,
                                stroke_width=1, stroke_color=THEME.dim,
                                fill_color=shade_color(prob, 1.0), fill_opacity=1.0)
        # the probability as a shade behind the text, never so strong that the text drops
        # under 4.5:1 (theme.shade_color)
        rect.move_to([x, y, 0])
        eq = getattr(self, "lens_eq", {}).get(L)
        pc = num_text(said_pct(eq, self.cols.index(p), tok_id) if eq else mass_text(prob), 18,
                      THEME.text)
        if eq and pc.text in eq.said[-1:]:
            eq.bind(pc)
        body, n = token_label(tok), 12
        while True:   # quoted, so that “.” and “␣” are visible; cut with … if too wide
            lab = num_text(f"“{_short(body, n)}”", 20, THEME.text)
            txt = VGroup(lab, pc).arrange(RIGHT, buff=0.12)
            if txt.width <= width - 0.16 or n <= 3:
                break
            n -= 1
        txt.move_to(rect)
        cell = VGroup(rect, txt)
        cell.token_id, cell.prob, cell.label, cell.pct = tok_id, prob, lab, pc
        if p == self.trace.n_pos - 1 and tok_id == self.answer_id:
            rect.set_stroke(THEME.highlight, width=2.5)
        return cell

    # ------------------------------------------------------------------ beats
    def beat_idea(self) -> None:
        self.build_header()
        self.remove(self.title, self.formula, self.header, self.header_note)
        self.play(FadeIn(self.title), run_time=0.4)
        self.show_caption(self.caption_text("idea"))
        self.play(FadeIn(self.formula, shift=0.1 * DOWN), run_time=0.6)
        self.wait_read()
        self.show_caption(self.caption_text("idea2", model=self.info["name"]))
        self.play(FadeIn(self.header, shift=0.1 * DOWN), FadeIn(self.header_note), run_time=0.5)
        pipe = self.pipeline()
        self.pipe = pipe
        self.play(FadeIn(pipe.xlab), FadeIn(pipe.xg), run_time=0.6)
        # the final norm, in place: x's entries become x̂'s
        self.play(*[Transform(a, b) for a, b in zip(pipe.xg.entries, pipe.xng.entries)],
                  FadeTransform(pipe.xlab, pipe.xnlab), run_time=0.9)
        self.remove(pipe.xg)
        self.add(pipe.xng)
        # one logit: x̂ · the answer's column of W_U, counted term by term (the product piece)
        self.play(FadeIn(pipe.col), FadeIn(pipe.outlab), FadeIn(pipe.prod.frame), run_time=0.6)
        reach = pipe.out.copy().shift(4.0 * RIGHT)   # room for the count's note right of it
        self.zoom_to(pipe.xng, pipe.col, pipe.out, reach, margin=0.5, min_width=8.0)   # follow the logit
        note = pipe.prod.work(self, 0, [0], step=0.4, note_at=pipe.out)
        self.pull_back(run_time=0.7)
        pipe.prod.sweep(self, remove=[note, *note.submobjects])
        self.play(FadeIn(pipe.prob, shift=0.1 * RIGHT), run_time=0.6)
        self.wait_read(1.5)

    def pipeline(self) -> VGroup:
        """One cell of the lens worked through with its real numbers (a middle row of the
        grid, the last position): x, normed in place to x̂, x̂·W_U for the lens's top token
        (one logit, counted by the product piece), and its probability after the softmax
        over every logit."""
        t = self.trace
        L = self.layers[len(self.layers) // 2]
        p = t.n_pos - 1
        sm = self.record_lens(L, [p])
        k = 4
        x = np.asarray(t.resid[L, p], np.float64)
        xn = np.asarray(t.apply_norm(t.resid[L, p]), np.float64)
        z = self.lens[L, p]
        top = int(self.top[L, p])
        tok = token_label(t.token_strs([top])[0])
        d, V = x.shape[0], self.info["vocab_size"]
        kw = dict(font_size=22, truncated_cols=True, show_shape=False)
        xg = WeightMatrix(x[None, :k], (1, d), **kw)
        xng = WeightMatrix(xn[None, :k], (1, d), **kw)
        xlab = self.text(f"x {self.row_name(L)}, at “{token_label(t.tokens[p])}”", size=22)
        xnlab = self.text(f"x̂ = final {self.info['final_norm']['type']}(x)", size=22)
        xlab.move_to([-6.8, 1.15, 0], aligned_edge=LEFT)
        xnlab.move_to(xlab, aligned_edge=LEFT)
        for g in (xg, xng):
            g.move_to([0, 0.55, 0]).align_to(xlab, LEFT)
        WU = np.asarray(t.weights.W_U, np.float64)           # [vocab, d]: x̂·W_U is x̂ @ WU.T
        col = WeightMatrix(WU[top, :k][:, None], (d, 1), font_size=22, truncated_rows=True,
                           truncated_cols=False, show_shape=False)
        col.move_to([-1.2, 0.0, 0])
        dx = max(0.0, xng.get_right()[0] + 0.35 - col.get_left()[0])   # clear of x̂'s ⋯
        col.shift(dx * RIGHT)
        col.add(self.text(f"W_U[:, “{tok}”]", size=22).next_to(col.brackets, UP, buff=0.15))
        out = WeightMatrix(np.array([[float(z[top])]]), (1, 1), font_size=24, show_shape=False)
        out.move_to([0.9 + dx, col.entry(1).get_y(), 0])
        outlab = self.text(f"logit of “{tok}”", size=20, color=THEME.dim).next_to(out, UP, buff=0.15)
        prod = MatrixProduct(xng, col, out, x=xn, W=WU.T, cols=[top], result=np.array([[z[top]]]),
                             names=("x̂", "W_U", ""))
        said = said_pct(sm, 0, top, f"softmax over all {V:,} logits → “{tok}” ")
        prob = self.text(said, size=22, color=THEME.highlight)
        if said in sm.said[-1:]:
            sm.bind(prob)
        prob.next_to(out, DOWN, buff=0.3).align_to(out, LEFT)   # where the count's note was
        if prob.get_right()[0] > 6.95:
            prob.shift((6.95 - prob.get_right()[0]) * RIGHT)
        g = VGroup(xnlab, xng, col, outlab, out, prob)
        g.xg, g.xng, g.xlab, g.xnlab, g.col, g.out, g.outlab, g.prob = xg, xng, xlab, xnlab, col, out, outlab, prob
        g.prod, g.layer, g.pos = prod, L, p
        return g

    @beat(needs=("header",))
    def beat_grid(self) -> None:
        self.make_rows()
        self.show_caption(self.caption_text("grid"))
        first = self.rows[0]
        pipe = getattr(self, "pipe", None)
        worked = None
        anims = []
        if pipe is not None and pipe.xng in self.mobjects:
            # the worked cell lands in its place in the grid; the rest of its working leaves
            r = self.layers.index(pipe.layer)
            worked = self.rows[r].cells[self.cols.index(pipe.pos)]
            anims = [ReplacementTransform(VGroup(pipe.out.entries, pipe.prob), worked),
                     FadeOut(VGroup(pipe.xnlab, pipe.xng, pipe.col, pipe.outlab, pipe.prod.frame))]
        self.play(*[FadeTransform(b.copy(), c) for b, c in zip(self.header.boxes, first.cells)],
                  FadeIn(first.name), *anims, run_time=0.9)
        t = self.trace
        if t.weights.tied:
            k = sum(int(self.top[0, p]) == int(t.token_ids[p]) for p in self.cols)
            self.show_caption(self.caption_text("self", k=k, n=len(self.cols)))
        self.wait_read(0.5)
        if len(self.layers) < self.n_all:
            self.show_caption(self.caption_text("rows_some", n_rows=len(self.layers),
                                                n_all=self.n_all,
                                                blocks=layer_list([L - 1 for L in self.layers if L])))
        for row in self.rows[1:]:
            self.lens_row(row, worked)
        self.wait_read(0.5)
        self.show_caption(self.caption_text("last"))
        self.wait_read(1.5)

    def lens_row(self, row: VGroup, done: Any = None, run_time: float = 0.6) -> None:
        """Row ``row`` computed: the lens (final norm, W_U, softmax) sweeps across it from its
        name, and each position's cell is born as it passes (``done`` is already there)."""
        h = row.cells[0][0].height
        bar = RoundedRectangle(width=0.14, height=h + 0.08, corner_radius=0.05, stroke_width=0,
                               fill_color=THEME.highlight, fill_opacity=0.75)
        bar.move_to([self.x_left, row.cells.get_y(), 0])
        cells = [c for c in row.cells if c is not done]
        self.play(FadeIn(row.name), FadeIn(bar), run_time=0.15)
        born = [LaggedStart(*[FadeIn(c, scale=0.6) for c in cells], lag_ratio=1.0)] if cells else []
        self.play(bar.animate.move_to([self.x_right, row.cells.get_y(), 0]), *born,
                  run_time=run_time, rate_func=lambda a: a)
        self.remove(bar)

    def _panel(self, x0: float, x1: float, title: str, ticks: list[tuple[float, str]],
               color) -> VGroup:
        y0, y1 = self.row_y[0], self.row_y[-1]
        g = VGroup()
        for x, s in ticks:
            # the grid line stops just under the last row's dot: the end value is written
            # below that dot, on the line's x (rank 1, 0 %), and must not be crossed
            g.add(Line([x, y0 + 0.2, 0], [x, y1 - 0.06, 0], stroke_width=1, color=THEME.neutral))
            g.add(num_text(s, 18, THEME.dim).move_to([x, y0 + 0.4, 0]))
        g.add(self.text(title, size=20, color=color).move_to([(x0 + x1) / 2, 2.0, 0]))
        return g

    def _narrow_column(self, j: int, w: float) -> list[VGroup]:
        """Column ``j``'s cells (then its header box) rebuilt ``w`` wide next to the row
        names, for a grid of a few wide columns whose last one would crowd the curves."""
        t, p, x = self.trace, self.cols[j], self.x_left + w / 2
        ids = [int(self.top[L, p]) for L in self.layers]
        out = [self.make_cell(L, p, i, tok, x, y, w)
               for L, i, tok, y in zip(self.layers, ids, t.token_strs(ids), self.row_y)]
        head = self.header.boxes[j].copy()
        if head.width > w - 0.1:
            head.scale_to_fit_width(w - 0.1)
        return out + [head.move_to([x, head.get_y(), 0])]

    @beat(needs=("header", "rows"))
    def beat_curve(self) -> None:
        t = self.trace
        for L in range(self.n_all):
            self.record_lens(L, [t.n_pos - 1])
        ans = token_label(self.answer_str)
        # keep the last column: it slides next to the row names; the rest of the grid goes
        j = len(self.cols) - 1
        others = [c for r in self.rows for i, c in enumerate(r.cells) if i != j]
        others += [b for i, b in enumerate(self.header.boxes) if i != j]
        w = min(self.cell_w, _CURVE_CELL_W)      # a few columns' wide cells narrow
        keep = VGroup(*[r.cells[j] for r in self.rows], self.header.boxes[j])
        self.show_caption(self.caption_text("curve", ans=ans, n_layer=self.n_all - 1,
                                            vocab=self.info["vocab_size"]))
        if w < self.cell_w:
            move = [ReplacementTransform(a, b) for a, b in zip(keep, self._narrow_column(j, w))]
        else:
            move = [keep.animate.shift((self.x_left + w / 2 - self.col_x[j]) * RIGHT)]
        self.play(*[FadeOut(m) for m in others], FadeOut(self.header_note), *move, run_time=0.8)
        # two panels, layers down the page as in the grid
        xa0 = self.x_left + w + 0.5
        pa = (xa0, xa0 + 3.4)
        pr = (pa[1] + 1.1, 6.7)
        vocab = self.info["vocab_size"]
        top = math.log10(vocab)
        rx = lambda r: pr[1] - (pr[1] - pr[0]) * math.log10(r) / top      # rank 1 at the right
        px = lambda p: pa[0] + (pa[1] - pa[0]) * p
        ly = lambda L: float(np.interp(L, self.layers, self.row_y))
        prob_panel = self._panel(*pa, f"probability of “{ans}”",
                                 [(px(v), f"{int(v * 100)}%") for v in (0, 0.5, 1)], THEME.positive)
        rank_panel = self._panel(*pr, f"rank of “{ans}”",
                                 [(rx(10 ** e), f"{10 ** e:,}") for e in range(0, int(top) + 1, 2)],
                                 THEME.dim)
        self.play(FadeIn(prob_panel), FadeIn(rank_panel), run_time=0.5)
        pts_p = [[px(float(p)), ly(L), 0] for L, p in enumerate(self.p_answer)]
        pts_r = [[rx(float(r)), ly(L), 0] for L, r in enumerate(self.rank_answer)]
        curve_p = VMobject(stroke_color=THEME.positive, stroke_width=3).set_points_as_corners(pts_p)
        curve_r = VMobject(stroke_color=THEME.dim, stroke_width=3).set_points_as_corners(pts_r)
        dots = VGroup(*[Dot(p, radius=0.04, color=THEME.positive) for p in pts_p],
                      *[Dot(p, radius=0.04, color=THEME.dim) for p in pts_r])
        self.play(Create(curve_p), Create(curve_r), LaggedStart(
            *[FadeIn(d) for d in dots], lag_ratio=0.02), run_time=2.4)
        end_p = num_text(mass_text(float(self.p_answer[-1])), 20, THEME.positive)
        end_p.next_to(pts_p[-1], DOWN, buff=0.12)
        end_r = num_text(f"rank {int(self.rank_answer[-1]):,}", 20, THEME.dim)
        end_r.next_to(pts_r[-1], DOWN, buff=0.12)
        if end_r.get_right()[0] > 6.95:
            end_r.shift((6.95 - end_r.get_right()[0]) * RIGHT)
        if end_p.get_right()[0] > pa[1] + 0.5:
            end_p.shift((pa[1] + 0.5 - end_p.get_right()[0]) * RIGHT)
        self.curve = VGroup(prob_panel, rank_panel, curve_p, curve_r, dots, end_p, end_r)
        self.curve.p_values, self.curve.ranks = self.p_answer.copy(), self.rank_answer.copy()
        self.play(FadeIn(end_p), FadeIn(end_r), run_time=0.4)
        on = first_layer_on_top(self.top[:, -1], self.answer_id)
        if on is None:
            self.show_caption(self.caption_text("not_top", ans=ans))
        elif on == self.n_all - 1:
            self.show_caption(self.caption_text("only_last", ans=ans))
        else:
            self.show_caption(self.caption_text("settles", ans=ans, where=self.row_name(on)))
            mark = Line([pa[0] - 0.1, ly(on), 0], [pr[1] + 0.1, ly(on), 0], stroke_width=2,
                        color=THEME.highlight).set_opacity(0.8)
            self.play(Create(mark), run_time=0.5)
            self.curve.add(mark)
        self.wait_read(2.0)
