"""The MLP block and what one layer's MLP does to the answer, from real activations and a
real intervention (an ablation shows what removing that block does to this prediction —
not where a fact is stored: several layers' MLPs each matter when knocked out).

``manim render scenes/mlp.py`` renders :class:`MLPScene` (section ``[mlp]`` of a course):

1. ``beat_block`` — the block's place: residual stream → norm → up (and gate) →
   nonlinearity → down → added back, with the real shapes and parameter counts (and the
   MLPs' share of all parameters) read from the model; one vector makes the trip (x, x̂,
   gate/up, act, Δx) and each matrix's real shape appears as it enters it.
2. ``beat_vector`` (:mod:`scenes.kit.mlp_neuron_beats`) — the last position's real vector
   through it: x, normed to x̂ (row vectors); W_gate and W_in drawn as matrix blocks with
   their real shapes, a few real neurons' values x̂·W computed by the product piece (the
   first counted term by term); the nonlinearity applied by moving a point along the
   model's own curve (SiLU, GELU …) to each real value; gate ⊙ up built from its factors.
3. ``beat_rows`` — each neuron adds its activation times its row of W_out: the real top
   neurons' rows scaled and summed with Δx's entries counting up (the product piece), each
   row's direct push on the answer's logit, then E + ΔE: the stream's x becomes x + Δx.
4. ``beat_layers`` — which layers push the answer directly: the direct contribution of every layer's
   attention and MLP output to the answer's logit, with the final norm's divisor frozen at
   its real value (see :mod:`scenes.kit.analysis.mlp`); the terms sum to the real logit.
5. ``beat_ablate`` — the intervention: the same prompt run again with the top neurons (or
   the whole MLP) of the layer knocked out; the real probabilities before and after.

Every number comes from the Trace (or the changed run's Trace); every equation shown is
recorded in the ledger.
"""
from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Sequence

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UL, UP, Arrow, Circle, Create, FadeIn, FadeOut, GrowFromPoint,
                   LaggedStart, Line, ReplacementTransform, SurroundingRectangle, Transform, VGroup,
                   VMobject, Write, config)

from scenes.kit.course.spec import Range
from scenes.kit.scene import GPTScene, beat
from scenes.kit.camera import FrameZoom
from scenes.kit.mlp_neuron_beats import MLPNeuronBeats
from scenes.kit.pieces import Bars, TokenBoxes, WeightMatrix
from scenes.kit.pieces.product import MatrixProduct, fly_into, frame_parts
from scenes.kit.pieces.mlp import chart_value, clear_of_bars, layer_chart, markup_box
from scenes.kit.analysis.mlp import (ACT_TEX, ACTIVATIONS, attribute, check_count,
                                     mlp_param_parts, neuron_contributions, problem_of, resolve_answer,
                                     resolve_layer, top_neurons)
from scenes.kit.text import markup, num_text, token_label, wrapped_text
from scenes.kit.theme import THEME, fmt, pct
from scenes.kit.transitions import in_flight
from tensors import Ablation, UserError, trace

__all__ = ["MLPScene"]

NUM = 22      # numbers in vectors/tables (digits ≈ 28 px at 1080p)
LABEL = 25    # labels and notes (x-height ≈ 20 px at 1080p)


class MLPScene(MLPNeuronBeats, FrameZoom, GPTScene):
    """The MLP block of one layer and the answer's logit, layer by layer (see module doc)."""

    prompt: ClassVar[str] = "The Colosseum is in the city of"
    config_section: ClassVar[str] = "mlp"
    _subscripts = True
    #: The answer token (one token of the model's vocabulary, e.g. " Rome"), or "auto" for
    #: the model's most likely next token.
    answer: ClassVar[str] = "auto"
    #: The MLP's layer; None = the layer whose MLP adds the most to the answer's logit directly.
    layer: ClassVar[int | None] = None
    #: How many of that layer's neurons are shown and knocked out (1–6).
    n_neurons: ClassVar[Annotated[int, Range(1, 6)]] = 5
    #: What the intervention knocks out: the top neurons, or the layer's whole MLP.
    ablate: ClassVar[Literal["neurons", "mlp"]] = "neurons"
    #: "zero" sets it to 0; "mean" to its mean over this prompt's positions.
    ablation_kind: ClassVar[Literal["zero", "mean"]] = "zero"
    #: Leading entries shown of each d_model-long vector.
    entries: ClassVar[Annotated[int, Range(2, 8)]] = 6
    #: Seconds of reading pause after each step.
    pause: ClassVar[Annotated[float, Range(0, 60)]] = 2.0
    beats: ClassVar[Sequence[str]] = ("beat_block", "beat_vector", "beat_rows", "beat_layers",
                                      "beat_ablate")
    captions: ClassVar[dict[str, str]] = {
        "block": "After attention, every block has an MLP: it reads the stream through a norm, "
                 "widens it to {d_mlp:,} neurons, and adds its output back to the stream.",
        "vector": "Layer {layer}, position {pos} (“{tok}”): the real vector, normed, then "
                  "{n} of the {d_mlp:,} neurons: the {n} with the largest direct push on “{ans}”.",
        "act": "Each neuron: {pre} = x̂ · its column of {W}{bias} (one dot product), then {act}.",
        "rows": "Each neuron adds its activation × its row of W_out ({d_model} numbers). "
                "Summed over all {d_mlp:,} neurons{bias}: the MLP's output.",
        "stream": "E + ΔE: the MLP's output Δx is added to the stream; layer {layer}'s x becomes "
                  "x + Δx, what the next layer reads.",
        "push": "Through the final norm and W_U, each row pushes “{ans}”'s logit directly "
                "(the norm's divisor frozen at its real value for this position).",
        "layers": "Every layer's attention and MLP write into the stream. With the embedding's"
                  "{bias}, their direct pushes on “{ans}”'s logit add up to the real logit, {logit}.",
        "layers_note": "“Direct” leaves out what a write does through later layers, which read "
                       "it. Largest pushes: the MLP of layer {best}, attention of layer {best_attn}.",
        "ablate": "Now run the same prompt again with {what}, and compare the real "
                  "probabilities.",
        "after": "“{ans}”: {p0} → {p1}. Now most likely: “{top}” ({ptop}).",
        "after_same": "“{ans}”: {p0} → {p1}. Still the most likely token.",
    }

    # ------------------------------------------------------------------ data and knobs
    @classmethod
    def model_problem(cls, t: Any, get: Any) -> tuple[str, str] | None:
        """(knob, what is allowed) for a ``layer`` this model lacks or an ``answer`` that is
        not one of its tokens (the rules :func:`resolve_layer` / :func:`resolve_answer` apply
        in :meth:`prepare`), or None."""
        for knob, check in (("layer", lambda: get("layer") is not None and
                             resolve_layer(t, get("layer"), None)),
                            ("answer", lambda: resolve_answer(t, get("answer") or "auto"))):
            what = problem_of(check, knob, get(knob))
            if what:
                return knob, what
        return None

    def prepare(self) -> None:
        t = self.trace
        info = t.info
        self.pos = t.n_pos - 1
        self.d_model, self.d_mlp = info["d_model"], info["d_mlp"]
        self.answer_id = resolve_answer(t, self.answer, self.pos)
        self.ans = token_label(t.token_strs([self.answer_id])[0])
        self.attr = attribute(t, self.answer_id, self.pos)
        self.L = resolve_layer(t, self.layer, self.attr)
        self.k = check_count(self.n_neurons, self.d_mlp)
        lay = info["layers"][self.L]
        self.act_name, self.norm2 = lay["act"], lay["norm2"]
        if self.act_name not in ACTIVATIONS:
            raise UserError(f"layer {self.L}'s activation {self.act_name!r} is not drawn by this "
                            f"scene; known: {', '.join(sorted(ACTIVATIONS))}")
        self.gated = t.mlp_gate is not None
        self.contrib, self.b_contrib = neuron_contributions(t, self.attr, self.L)
        self.top = top_neurons(self.contrib, self.k)
        self.p0 = t.probs(self.pos)
        # decimals for logit pushes: two, more when even the largest is small (random models)
        big = max(float(np.abs(self.contrib[self.top]).max()), float(np.abs(self.attr.mlp).max()))
        self.dg = 2 + min(2, max(0, -int(np.floor(np.log10(max(big, 1e-9))))))

    def changed_trace(self) -> Any:
        """The Trace of the same prompt with the intervention applied (cached by tensors)."""
        kw = {"index": tuple(self.top)} if self.ablate == "neurons" else {}
        self.ablation = Ablation(self.ablate, layer=self.L, kind=self.ablation_kind, **kw)
        return trace(self.prompt, self.model, device=self.device, ablate=[self.ablation])

    # ------------------------------------------------------------------ small helpers
    def cap(self, key: str, **kw: Any) -> Any:
        return self.show_caption(self.caption_text(key, **kw))

    def stage_anims(self, *keep: Any) -> list[Any]:
        """FadeOuts of what is on screen and not in ``keep`` (nor the header or caption)."""
        keep_all = {id(f) for m in (*keep, self.header, getattr(self, "_caption", None)) if m
                    for f in m.get_family()}
        out: list[Any] = []

        def walk(m: Any) -> None:   # a group holding kept parts (an animation's) is opened
            if id(m) in keep_all:
                return
            if any(id(f) in keep_all for f in m.get_family()):
                for sub in m.submobjects:
                    walk(sub)
            else:
                out.append(FadeOut(m))

        for m in self.mobjects:
            walk(m)
        return out

    def stage(self, *keep: Any) -> None:
        """Fade out what this beat does not use (only needed when beats are reordered)."""
        gone = self.stage_anims(*keep)
        if gone:
            self.play(*gone, run_time=0.4)

    def said(self, e: Any, prefix: str, size: float, color: Any) -> Any:
        """``prefix`` + entry ``e``'s result as a push is printed (:func:`fmt` with
        ``self.dg`` decimals and a sign), made by :meth:`Equation.say` and bound to ``e``
        (a value fmt prints in scientific notation is drawn unbound)."""
        v = float(np.asarray(e.shown))
        want = prefix + fmt(v, self.dg)
        said = e.say(prefix.replace("{", "{{").replace("}", "}}") + f"{{shown:+.{self.dg}f}}")
        m = num_text(want, size, color) if not self._subscripts or "_" not in want else \
            self.text(want, size, color)
        return e.bind(m, said) if said == want else m

    # ------------------------------------------------------------------ header (every beat)
    def build_header(self) -> None:
        t = self.trace
        title = self.text("The MLP block", size=34).to_corner(UL, buff=0.35)
        tag = self.model_tag(f"layer {self.L}")
        ans = self.text(f"→  “{self.ans}”  {pct(self.p0[self.answer_id])}", size=LABEL,
                        color=THEME.highlight)
        room = config.frame_width - 0.9 - ans.width - 0.3
        # one row: a long prompt shows its last tokens after "N earlier" (the piece's rule)
        toks = TokenBoxes(t.tokens, font_size=LABEL, max_width=room, max_rows=1, keep="end")
        toks.next_to(title, DOWN, buff=0.25).to_edge(LEFT, buff=0.45)
        toks.highlight(len(toks.boxes) - 1)
        ans.next_to(toks, RIGHT, buff=0.3)
        self.header = VGroup(title, tag, toks, ans)
        self.content_top = toks.get_bottom()[1] - 0.3
        self.add(self.header)

    # ------------------------------------------------------------------ beat 1
    def make_diagram(self) -> VGroup:
        t, L, d, m = self.trace, self.L, self.d_model, self.d_mlp
        y_stream = -0.8
        y_mid = y_stream + (1.85 if self.gated else 1.3)
        stream = Arrow([-6.9, y_stream, 0], [6.9, y_stream, 0], buff=0, color=THEME.dim,
                       stroke_width=6, max_tip_length_to_length_ratio=0.02)
        s_lab = self.text(f"residual stream, layer {L} (attention already added)", size=LABEL,
                          color=THEME.dim).next_to(stream, DOWN, buff=0.12).to_edge(LEFT, buff=0.5)
        norm = markup_box(markup(self.norm2["type"]), 1.9, THEME.dim)
        act_txt = f"{ACT_TEX[self.act_name]}(gate) ⊙ up" if self.gated else ACT_TEX[self.act_name]
        act = markup_box(markup(act_txt), 2.9 if self.gated else 1.6, THEME.highlight)
        up = markup_box("W<sub>in</sub>  (up)", 2.2, THEME.mlp)
        down = markup_box("W<sub>out</sub>  (down)", 2.4, THEME.mlp)
        projs = VGroup(up)
        if self.gated:
            gate = markup_box("W<sub>gate</sub>  (gate)", 2.2, THEME.mlp)
            projs = VGroup(up, gate).arrange(DOWN, buff=0.75)
        row = VGroup(norm, projs, act, down).arrange(RIGHT, buff=0.75).move_to([0.25, y_mid, 0])
        shapes = VGroup()
        for b, shp in [(up, (d, m)), (down, (m, d))] + ([(projs[1], (d, m))] if self.gated else []):
            shapes.add(num_text(f"{shp[0]:,} × {shp[1]:,}", NUM, THEME.dim).next_to(b, DOWN, 0.1))
        shapes.add(num_text(f"{m:,} neurons", NUM, THEME.dim).next_to(act, DOWN, 0.1))
        arrows = VGroup(*[Arrow(a.get_right(), b.get_left(), buff=0.08, color=THEME.dim,
                                stroke_width=3, max_tip_length_to_length_ratio=0.25)
                          for a, b in [(norm, p) for p in projs] + [(p, act) for p in projs]
                          + [(act, down)]])
        x_in, x_out = norm.get_left()[0] - 0.45, down.get_right()[0] + 0.45
        plus = VGroup(Circle(0.2, color=THEME.text, stroke_width=3),
                      num_text("+", 30, THEME.text)).move_to([x_out, y_stream, 0])
        # the stream stops at the ⊕ and goes on after it (no line drawn through the "+")
        stream = VGroup(Line([-6.9, y_stream, 0], [x_out - 0.2, y_stream, 0], color=THEME.dim,
                             stroke_width=6),
                        Arrow([x_out + 0.2, y_stream, 0], [6.9, y_stream, 0], buff=0, color=THEME.dim,
                              stroke_width=6, max_tip_length_to_length_ratio=0.3))
        branch = VGroup(
            Line([x_in, y_stream, 0], [x_in, norm.get_y(), 0], color=THEME.dim, stroke_width=3),
            Arrow([x_in, norm.get_y(), 0], norm.get_left(), buff=0, color=THEME.dim,
                  stroke_width=3, max_tip_length_to_length_ratio=0.4),
            Line(down.get_right(), [x_out, down.get_y(), 0], color=THEME.dim, stroke_width=3),
            Arrow([x_out, down.get_y(), 0], plus.get_top(), buff=0, color=THEME.dim,
                  stroke_width=3, max_tip_length_to_length_ratio=0.15))
        parts = mlp_param_parts(t, L)
        total = t.param_counts(L)["mlp"]
        # the two fact lines, made from their ledger entries
        e1 = self.equation("total", "MLP parameters of the layer", shown=total, parts=list(parts.values()))
        l1 = e1.bind(num_text(e1.say(
            "MLP of layer {L}: " + " + ".join(f"{{parts[{i}]:,}}" for i in range(len(parts)))
            + " = {shown:,} parameters", L=L), LABEL, THEME.text))
        n_layer, pc = t.info["n_layer"], t.info["param_counts"]
        all_mlp, n_params = t.param_counts()["mlp"], t.info["n_params"]
        self.equation("total", "all MLPs", shown=all_mlp, parts=pc["mlp"])
        share = all_mlp / n_params
        e2 = self.equation("scale", "share of all parameters", shown=share, a=all_mlp, s=1.0 / n_params)
        l2 = e2.bind(num_text(e2.say("all {n} MLPs: {a:,} of the model's {N:,} parameters = "
                                     "{shown:.1%}", n=n_layer, N=int(n_params)), LABEL, THEME.text))
        facts = VGroup(l1, l2).arrange(DOWN, buff=0.18, aligned_edge=LEFT)
        facts.next_to(s_lab, DOWN, buff=0.3).to_edge(LEFT, buff=0.5)
        g = VGroup(stream, s_lab, branch, plus, row, arrows, shapes, facts)
        g.norm, g.projs, g.act, g.down, g.stream, g.facts = norm, projs, act, down, stream, facts
        g.others = VGroup(s_lab, branch, plus, arrows, shapes, facts)
        return g

    def build_diagram(self) -> None:
        self.diagram = self.make_diagram()
        self.add(self.diagram)

    @beat(needs=("header",))
    def beat_block(self) -> None:
        self.stage()
        g = self.make_diagram()
        self.cap("block", d_mlp=self.d_mlp)
        self.play(Create(g.stream), FadeIn(g[1]), run_time=0.7)
        self.play(LaggedStart(Create(g[2]), FadeIn(g.norm), FadeIn(g.projs), FadeIn(g.act),
                              FadeIn(g.down), FadeIn(g[3]), lag_ratio=0.3), FadeIn(g[5]),
                  run_time=2.0)
        self.flow(g)
        self.play(Write(g.facts), run_time=1.2)
        self.diagram = g
        self.wait_read(1.5)

    # ------------------------------------------------------------------ beat 3
    def make_rows(self, act_cells: VGroup) -> VGroup:
        t, L, p, idx = self.trace, self.L, self.pos, self.top
        n = min(self.entries, 4)  # columns of W_out shown (room for the pushes beside them)
        act_full = np.asarray(t.mlp_act[L, p], np.float64)
        W_full = t.W_out(L)
        b_out = np.asarray(t.weights.get("b_out", L), np.float64)
        out = np.asarray(t.mlp_out[L, p], np.float64)
        self.equation("matmul", "mlp_out = Σ act_n · W_out[n] + b_out", shown=out, x=act_full,
                      W=W_full, b=b_out)
        y0 = self.content_top - 0.2
        M = WeightMatrix(np.asarray(W_full[idx, :n], np.float64), (self.d_mlp, self.d_model),
                         font_size=NUM, truncated_rows=True, show_shape=False)
        M.shift([-3.7 - M.brackets.get_left()[0], y0 - 0.55 - M.get_top()[1], 0])
        M.label = self.text(f"rows of W_out  ({self.d_mlp:,} × {self.d_model:,})", LABEL)
        M.label.next_to(M.brackets, UP, buff=0.15)
        M.add(M.label)
        ys = [M.entry(r, 0).get_y() for r in range(len(idx))]
        # the activations as the product's row vector, each beside its row of W_out
        vec = WeightMatrix(act_full[idx][None], (1, self.d_mlp), font_size=NUM, truncated_cols=True,
                           show_shape=False)
        for e, y in zip(vec.entries, ys):
            e.move_to([-4.95, y, 0])
        vec.remove(vec.brackets)
        vec.body.remove(vec.ellipses)
        acts = vec.entries
        ids = VGroup(*[num_text(f"#{i}", NUM, THEME.text).move_to([-6.4, y, 0]) for i, y in zip(idx, ys)])
        times = VGroup(*[num_text("×", NUM, THEME.dim).next_to(M.brackets, LEFT, 0.15).set_y(y)
                         for y in ys])
        b_txt = " + b_out" if t.weights.is_real("b_out") else ""   # only a bias the model has
        out_g = self.row_under(M, out[:n], self.d_model, M.brackets.get_bottom()[1] - 0.15)
        out_lab = self.text("Δx =", size=LABEL).next_to(out_g.brackets, LEFT, buff=0.25)
        # act·W_out over the shown neurons first: the same sum, the shown terms leading. Its
        # entries are that sum in float64 of the model's own act and W_out (a sum of 1,536
        # terms of ±2 cancelling to ±0.4: the model's fp32 mlp_out differs from it by ~1e-6)
        shown = set(int(i) for i in idx)
        perm = np.array(list(idx) + [i for i in range(self.d_mlp) if i not in shown])
        prod = MatrixProduct(vec, M, out_g, x=act_full[perm], W=np.asarray(W_full, np.float64)[perm],
                             b=b_out if t.weights.is_real("b_out") else None,
                             names=("act", "W_out", "b_out"))
        # direct push of each row on the answer's logit (final norm's divisor frozen)
        a = self.attr
        writes = act_full[idx, None] * np.asarray(W_full[idx], np.float64)
        hx = 3.6
        head = self.text(f"→ “{self.ans}” logit", size=LABEL, color=THEME.dim)
        head.move_to([hx, M.label.get_y(), 0])
        pushes = VGroup()
        for r, i in enumerate(idx):
            c = float(self.contrib[i])
            wc = writes[r] - writes[r].mean() if a.centred else writes[r]
            e = self.equation("dot", f"push of neuron {i}", shown=c, a=wc, b=a.direction)
            pushes.add(self.said(e, "", NUM, THEME.positive if c >= 0 else THEME.negative)
                       .move_to([hx, ys[r], 0]))
        top_sum = float(self.contrib[idx].sum())
        e1 = self.equation("sum", "these neurons' pushes", shown=top_sum, terms=self.contrib[idx])
        e2 = self.equation("sum", "the layer's MLP push", shown=float(a.mlp[L]),
                           terms=np.concatenate([self.contrib, [self.b_contrib]]))
        s1 = self.said(e1, f"these {len(idx)}: ", LABEL, THEME.text)
        s2 = self.said(e2, f"all {self.d_mlp:,}{b_txt}: ", LABEL, THEME.highlight)
        sums = VGroup(s1, s2).arrange(DOWN, buff=0.15, aligned_edge=RIGHT)
        sums.next_to(pushes, DOWN, buff=0.35).to_edge(RIGHT, buff=0.4)
        g = VGroup(ids, acts, times, M, out_lab, out_g, head, pushes, sums)
        g.ids, g.acts, g.M, g.out = ids, acts, M, VGroup(out_lab, out_g.entries, frame_parts(out_g))
        g.prod = prod
        g.times, g.push, g.sums, g.layer_total = times, VGroup(head, pushes), s1, s2
        return g

    def build_layer_total(self) -> None:
        g = self.make_rows(VGroup())
        self.add(g)
        self.rows_view, self.layer_total = g, g.layer_total

    def make_stream_add(self, g: VGroup) -> VGroup:
        """E + ΔE written as a sum: the stream x (its shown entries), Δx (the MLP output) under
        it, and x + Δx under both. Returns x's row (``.xs``, its label, ``⋯``); the sum's
        row is ``.ys`` with ``.y_lab``, ``.dots2`` and ``.into``."""
        t, L, p = self.trace, self.L, self.pos
        x = np.asarray(t.resid_mid[L, p], np.float64)
        y = np.asarray(t.resid[L + 1, p], np.float64)
        self.equation("add", "x + Δx", shown=y, a=x, b=np.asarray(t.mlp_out[L, p], np.float64))
        cx = [c.get_x() for c in g.out[1]]
        top = self.content_top - 0.75

        def row(vals: np.ndarray, yy: float, color: Any) -> VGroup:
            cells = VGroup(*[num_text(fmt(float(v), sign=False), NUM, color).move_to([x_, yy, 0])
                             for x_, v in zip(cx, vals)])
            for c, v in zip(cells, vals):
                c.value = float(v)
            return cells

        dx_y = top - 0.6
        sum_y = dx_y - 0.65
        xs, ys = row(x, top, THEME.text), row(y, sum_y, THEME.highlight)
        lab = lambda s, yy, c=THEME.dim: self.text(s, size=LABEL, color=c).move_to(
            [cx[0] - 0.6, yy, 0], aligned_edge=RIGHT)
        x_lab = lab("x  (the stream)", top)
        y_lab = lab("x + Δx =", sum_y, THEME.highlight)
        dots = num_text("⋯", NUM, THEME.dim).next_to(xs, RIGHT, buff=0.3)
        dots2 = dots.copy().set_y(sum_y)
        into = self.text(f"→ into layer {L + 1}" if L + 1 < self.trace.info["n_layer"]
                         else "→ into the final norm", size=LABEL, color=THEME.dim)
        into.next_to(dots2, RIGHT, buff=0.3)
        out = VGroup(xs, x_lab, dots)
        out.into, out.dots2 = into, dots2
        out.xs, out.ys, out.x_lab, out.y_lab, out.dx_y = xs, ys, x_lab, y_lab, dx_y
        return out

    @beat(needs=("header", "neuron_table"))
    def beat_rows(self) -> None:
        v = self.neuron_table
        self.stage(v)
        g = self.make_rows(v.act_cells)
        self.cap("rows", d_model=self.d_model, d_mlp=self.d_mlp,
                 bias=" (+ its bias)" if self.trace.weights.is_real("b_out") else "")
        # the table leaves as the rows of W_out arrive: the activations and ids move beside them
        rest = [m for m in (*v.rows[:-1], v.rows[-1][0], v.plot, v.dots) if self.is_shown(m)]
        # (the table's activations morph into the row's cells: in flight until they land)
        self.play(*[FadeOut(m) for m in rest], ReplacementTransform(in_flight(v.act_cells), g.acts),
                  ReplacementTransform(v.id_cells, g.ids), FadeIn(g.M), FadeIn(g.times),
                  run_time=1.2)
        # the rows, scaled by the activations and summed: Δx's entries count up together
        self.play(FadeIn(g.out[0]), FadeIn(g.prod.frame), run_time=0.4)
        x_note = g.M.brackets.get_right()[0] + 0.35       # the count's note right of the rows
        at = VMobject().set_points_as_corners([[x_note, g.M.get_top()[1] - 0.3, 0],
                                               [x_note + 0.01, g.M.get_top()[1] - 0.3, 0]])
        note = g.prod.work(self, 0, list(range(len(g.out[1]))), step=0.45, note_at=at)
        g.prod.sweep(self, remove=[note, *note.submobjects])
        self.wait_read(0.7)
        self.cap("push", ans=self.ans)
        self.play(FadeIn(g.push[0]), LaggedStart(*[ReplacementTransform(in_flight(row.copy()), c)
                                                  for row, c in zip(g.M.rows, g.push[1])], lag_ratio=0.2),
                  run_time=1.3)
        self.play(FadeIn(g.sums), run_time=0.6)
        self.play(FadeIn(g.layer_total, shift=0.1 * DOWN), run_time=0.6)
        self.rows_view, self.layer_total = g, g.layer_total
        self.wait_read(1.2)
        # E + ΔE: the output joins the stream; x + Δx is written under x and Δx
        e = self.make_stream_add(g)
        self.cap("stream", layer=self.L)
        out_cells, out_lab = g.out[1], g.out[0]
        gone = [g.ids, g.acts, g.times, g.M, g.push, g.sums]
        # the rows leave (Δx moving up) before x arrives where they were: no double exposure
        self.play(*[FadeOut(m) for m in gone], out_cells.animate.set_y(e.dx_y),
                  out_lab.animate.move_to([e.x_lab.get_right()[0], e.dx_y, 0], aligned_edge=RIGHT),
                  g.out[2].animate.set_y(e.dx_y), run_time=0.6)
        self.play(FadeIn(e, shift=0.3 * RIGHT), run_time=0.4)
        # each entry of the sum is born from its two terms, x's and Δx's, flying into it
        # (x stays: x + Δx is written under x and Δx, never over them)
        fly_into(self, list(e.ys), [[a, c] for a, c in zip(e.xs, out_cells)], run_time=1.2,
                 each=0.6, extra=[FadeIn(e.y_lab), FadeIn(e.dots2), FadeIn(e.into, shift=0.2 * RIGHT)])
        self.stream_add = VGroup(e, e.ys, e.y_lab, e.dots2, e.into, out_cells, out_lab, g.out[2])
        self.wait_read(1.2)

    # ------------------------------------------------------------------ beat 4
    def make_chart(self, attr: Any, top: float, bottom: float = -2.15, x0: float = -6.0,
                   x1: float = 6.0, span: Sequence[Any] = ()) -> VGroup:
        return layer_chart(attr, top, bottom, x0, x1, span, NUM, LABEL)

    def chart_value(self, ch: VGroup, v: float, corner: bool = False) -> Any:
        val = chart_value(ch, self.L, fmt(v, self.dg), v >= 0, corner, NUM)
        return val if corner else clear_of_bars(val, ch)

    def build_layer_chart(self) -> None:
        ch = self.make_chart(self.attr, self.content_top - 1.05)
        self.layer_chart = VGroup(ch, self.chart_value(ch, float(self.attr.mlp[self.L])))
        self.layer_chart.ch = ch
        self.add(self.layer_chart)

    @beat(needs=("header", "layer_total"))
    def beat_layers(self) -> None:
        a = self.attr
        gone = self.stage_anims(self.layer_total)   # leaves as the chart arrives (no blank stage)
        ch = self.make_chart(a, self.content_top - 1.05)
        logit = float(a.logit)
        # the exact sum (embedding, each layer's attention and MLP, the final norm's bias)
        e = self.equation("sum", "Σ direct pushes = the answer's logit", shown=logit, terms=a.terms())
        norm = self.trace.info["final_norm"]
        n_terms = len(a.terms())
        bias = f" + the final norm's bias term ({{terms[{n_terms - 1}]:+.2f}})" if norm["bias"] else ""
        said = e.say("sum of all {n} bars" + bias + " = {shown:.2f} = “{ans}”'s logit",
                     n=n_terms - 1, ans=self.ans)
        want = (f"sum of all {n_terms - 1} bars" + (f" + the final norm's bias term ({fmt(a.bias)})"
                if norm["bias"] else "") + f" = {fmt(logit, sign=False)} = “{self.ans}”'s logit")
        eq = num_text(want, LABEL, THEME.text)
        if said == want:      # drawn from the entry (unless fmt went scientific)
            e.bind(eq)
        how = "centred, divisor" if a.centred else "divisor"
        note = wrapped_text(f"via the final {norm['type']} ({how} frozen at the real "
                             f"{fmt(1.0 / a.scale, sign=False)}) and W_U", LABEL,
                             config.frame_width - 0.6, THEME.dim)
        top = VGroup(eq, note).arrange(DOWN, buff=0.12).move_to([0, self.content_top - 0.35, 0])
        best = ch.mlp[self.L]
        mark = SurroundingRectangle(best, color=THEME.highlight, buff=0.05)
        val = self.chart_value(ch, float(a.mlp[self.L]))
        self.cap("layers", ans=self.ans, logit=fmt(logit, sign=False),
                 bias=" and the final norm's bias" if norm["bias"] else "")
        # the layer's total goes to its place by its bar first (where it stood, the bars grow)
        self.play(*gone, FadeIn(ch.axis), FadeIn(ch.ticks), FadeIn(ch.leg), FadeIn(note),
                  ReplacementTransform(in_flight(self.layer_total), val), run_time=0.7)
        self.play(LaggedStart(*[GrowFromPoint(b, [b.get_x(), ch.y0, 0]) for b in ch.bars
                                if b is not best], lag_ratio=0.03), run_time=2.2)
        self.play(GrowFromPoint(best, [best.get_x(), ch.y0, 0]), run_time=1.0)
        la = int(np.argmax(a.attn))   # the largest attention push, labelled too
        val_a = num_text(fmt(float(a.attn[la]), self.dg), NUM, THEME.attention)
        val_a.next_to(ch.attn[la], UP if a.attn[la] >= 0 else DOWN, 0.12)
        if val_a.get_right()[0] > val.get_left()[0] - 0.1 and abs(val_a.get_y() - val.get_y()) < 0.35:
            val_a.shift((val.get_left()[0] - 0.1 - val_a.get_right()[0]) * RIGHT)   # side by side
        clear_of_bars(val_a, ch)
        self.play(Create(mark), FadeIn(eq), FadeIn(val_a), run_time=0.7)
        self.wait_read(1.0)
        self.cap("layers_note", best=int(np.argmax(a.mlp)), best_attn=la)
        self.layer_chart = VGroup(ch, val, mark, top, val_a)
        self.layer_chart.ch = ch
        self.wait_read(1.2)

    # ------------------------------------------------------------------ beat 5
    @beat(needs=("header", "layer_chart"))
    def beat_ablate(self) -> None:
        t, t2 = self.trace, self.changed_trace()
        chart, ch = self.layer_chart, self.layer_chart.ch
        self.stage(chart)
        p1 = t2.probs(self.pos)
        self.equation("softmax", "p = softmax(logits), plain run", shown=self.p0, z=t.logits[self.pos])
        self.equation("softmax", "p = softmax(logits), changed run", shown=p1, z=t2.logits[self.pos])
        a2 = attribute(t2, self.answer_id, self.pos)
        self.equation("sum", "Σ direct pushes (changed run)", shown=float(a2.logit), terms=a2.terms())
        top0 = [int(i) for i in np.argsort(-self.p0, kind="stable")[:4]]
        top1 = [int(i) for i in np.argsort(-p1, kind="stable")[:3]]
        ids = list(dict.fromkeys([self.answer_id, top1[0]] + top0 + top1))[:5]
        labels = [token_label(s) for s in t.token_strs(ids)]
        self.cap("ablate", what=self.ablation_text())
        # the chart moves to the left half; the plain run's probabilities appear on the right
        top = self.content_top - 0.5
        half = self.make_chart(self.attr, top, -1.0, -6.4, -0.9, span=(a2,))
        val = self.chart_value(half, float(self.attr.mlp[self.L]), corner=True)
        self.play(Transform(ch, half), Transform(chart[1], val), FadeOut(chart[2:]), run_time=1.0)
        before = Bars(labels, [float(self.p0[i]) for i in ids], max_bar_width=2.6,
                      bar_height=0.3, row_buff=0.16, font_size=NUM, highlight=0)
        labs = VGroup(*[num_text(s, NUM, THEME.text) for s in labels])
        for lab, b in zip(labs, before.bars):
            lab.next_to(before.bars[0], LEFT, buff=0.3).match_y(b)
        probs = VGroup(labs, before)
        probs.shift([1.9 - labs.get_left()[0], top - 0.55 - before.get_top()[1], 0])
        head = self.text("plain run", size=LABEL, color=THEME.dim).next_to(probs, UP, 0.2)
        self.play(FadeIn(labs), FadeIn(before), FadeIn(head), run_time=0.8)
        self.wait_read(0.5)
        spec = wrapped_text(self.ablation_text(), LABEL, config.frame_width - 0.8, THEME.negative)
        spec.next_to([0, min(ch.get_bottom()[1], probs.get_bottom()[1]) - 0.25, 0], DOWN, 0)
        self.play(FadeIn(spec, shift=0.1 * DOWN), run_time=0.6)
        ghosts = VGroup(*[b.copy().set_fill(opacity=0).set_stroke(THEME.dim, 1.5) for b in before.bars])
        self.add(ghosts)
        self.bring_to_back(ghosts)   # under the new bars and their percentages
        changed = self.make_chart(a2, top, -1.0, -6.4, -0.9, span=(self.attr,))
        val2 = self.chart_value(changed, float(a2.mlp[self.L]), corner=True)
        anims, finish = before.retarget([float(p1[i]) for i in ids])
        head2 = self.text("changed run (outline: plain run)", size=LABEL, color=THEME.negative)
        self.play(*anims, Transform(head, head2.move_to(head)), Transform(chart[1], val2),
                  *[Transform(b, c) for b, c in zip(ch.bars, changed.bars)], run_time=1.4)
        finish(self)
        moves = [p.animate.next_to(g, RIGHT, buff=0.12) for p, g, b in
                 zip(before.pct_texts, ghosts, before.bars) if g.get_right()[0] > b.get_right()[0]]
        if moves:  # a percentage inside the plain run's outline moves out of it
            self.play(*moves, run_time=0.3)
        new_top = int(np.argmax(p1))
        same = new_top == self.answer_id == int(np.argmax(self.p0))
        self.cap("after_same" if same else "after", ans=self.ans, p0=pct(self.p0[self.answer_id]),
                 p1=pct(p1[self.answer_id]),
                 top=token_label(t2.token_strs([new_top])[0]), ptop=pct(p1[new_top]))
        lg = num_text(f"“{self.ans}” logit: {fmt(float(t.logits[self.pos, self.answer_id]), sign=False)}"
                      f" → {fmt(float(a2.logit), sign=False)}", LABEL, THEME.text)
        self.play(FadeIn(lg.next_to(spec, DOWN, buff=0.25)), run_time=0.6)
        self.changed, self.prob_bars = t2, (ids, before)   # what is on screen, for tests
        self.wait_read(2.0)

    def ablation_text(self) -> str:
        """What the changed run changed, in words (the Ablation the run was made with)."""
        a, n = self.ablation, self.trace.n_pos
        mean = f"mean over this prompt's {n} positions"
        if a.target == "neurons":
            many = len(a.index) > 1
            what = f"neuron{'s' if many else ''} " + ", ".join(f"#{i}" for i in self.top)
            how = "set to 0" if a.kind == "zero" else f"{'each ' if many else ''}set to its {mean}"
        else:
            what = "whole MLP output"
            how = "set to 0" if a.kind == "zero" else f"set to its {mean}"
        return f"layer {a.layer}'s {what} {how}, at every position"
