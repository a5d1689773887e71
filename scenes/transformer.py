"""The whole model at once: the stack as it is, its parameters, the residual stream.

``manim render scenes/transformer.py`` renders :class:`TransformerScene`:

1. ``beat_stack`` — the model drawn as it is, read from the model: the embedding, its N
   blocks (norm, attention with its real head count, norm, MLP), the final norm and the
   unembedding; a tied W_E/W_U is drawn once, serving both ends.
2. ``beat_counts`` — real parameter counts per component (counted from the model's
   tensors; the matrices each is made of, from the stored shapes, written, then summed into
   the count), adding up on screen to the model's total, the tied matrix counted once.
3. ``beat_residual`` — the residual stream as the spine: at one position (the last by
   default) the vector travels down the stack; as it passes each block the size ‖·‖ of
   what its attention and MLP write grows as a bar and the vector's first entries and ‖x‖
   change to the real ones after each write (block 0 slowly, then the rest).
4. ``beat_scale`` — for scale, published shapes of larger models (GPT-2 small/XL, GPT-3
   175B), marked as published figures, next to this model's numbers from the run.

Knobs: ``prompt``, ``model``, ``position``, ``pause``. Section ``[transformer]``.
"""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UL, UP, UR, Dot, FadeIn, FadeOut, Line, LaggedStart,
                   FadeTransform, Rectangle, ReplacementTransform, RoundedRectangle,
                   SurroundingRectangle, UpdateFromAlphaFunc, VGroup, Write)

from scenes.kit.analysis.stack import (TOTAL_KEYS, Part, human, param_parts, sig3, total_of,
                                       write_norms)
from scenes.kit.course.spec import Range
from scenes.kit.published_shapes import PUBLISHED, PUBLISHED_SOURCES, compare_shapes
from scenes.kit.scene import GPTScene, beat
from scenes.kit.text import num_text, number_str, shape_str, token_label
from scenes.kit.theme import THEME, ink_color
from scenes.kit.transitions import in_flight
from tensors import UserError

#: Widths of a block row's segments (frame units), in order.
SEGMENTS = (("norm1", 0.25), ("attn", 2.05), ("norm2", 0.25), ("mlp", 1.75))


class TransformerScene(GPTScene):
    _subscripts = True
    config_section = "transformer"
    beats = ("beat_stack", "beat_counts", "beat_residual", "beat_scale")

    #: Position whose attention and MLP writes are measured (negative counts from the end).
    position: ClassVar[int] = -1
    #: Seconds of reading pause after each step.
    pause: ClassVar[Annotated[float, Range(0, 60)]] = 1.6

    captions: ClassVar[dict[str, str]] = {
        "stack": "{model}: an embedding, {n_layer} blocks (a norm, attention with {n_head} heads, "
                 "a norm, an MLP), a final norm, the unembedding.",
        "tied": "W_E is used twice: its rows embed the tokens, and the same matrix scores "
                "every token at the end (tied weights).",
        "untied": "W_E embeds the tokens; a separate matrix W_U scores every token at the end.",
        "counts": "Parameters, counted from the model's tensors; the shapes are those of its "
                  "matrices.",
        "blocks": "The {n_layer} blocks hold {share} of all parameters.",
        "total": "The total, with the tied matrix counted once, is the model's own count: "
                 "{total:,}.",
        "total_untied": "The total is the model's own count: {total:,}.",
        "residual": "The residual stream runs through every block; each block adds its "
                    "attention and MLP outputs to it.",
        "bars": "Bars: the size ‖·‖ of each write at “{tok}” (position {pos}), from this run.",
        "scale": "For scale: {compare}.",
    }

    # ------------------------------------------------------------------ data
    @classmethod
    def model_problem(cls, t: Any, get: Any) -> tuple[str, str] | None:
        """(``"position"``, what is allowed) when the prompt has no such position, or None."""
        p, n = get("position"), t.n_pos
        if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or not -n <= p < n:
            return "position", f"must be 0 to {n - 1} (or -1 for the last): the prompt has {n} tokens"
        return None

    def prepare(self) -> None:
        t = self.trace
        info = self.info = t.info
        problem = self.model_problem(t, lambda k: getattr(self, k))
        if problem:
            raise UserError(f"{problem[0]} = {getattr(self, problem[0])!r} — {problem[1]}")
        self.pos = int(self.position) % t.n_pos
        w = t.weights
        self.tied = bool(w.tied)
        if self.tied != bool(info["tied_embeddings"]):
            raise UserError("the weights cache disagrees with the model about tied embeddings; "
                            "delete the gpt-scenes weights cache and render again")
        shapes = {name: tuple(w.shape(name)) for name in w.names}
        real = {name for name in w.names if w.is_real(name)}
        self.parts: list[Part] = param_parts(info["param_counts"], shapes, real,
                                             info["n_layer"], self.tied)
        self.total = total_of(self.parts)
        self.writes = write_norms(t.attn_out, t.mlp_out, self.pos)      # [layer, 2]
        self.tag = self.model_tag()

    # ------------------------------------------------------------------ the stack drawing
    def build_stack_g(self) -> None:
        """The stack (no animation): ``self.stack_g`` with ``.rows`` [layer][segment]."""
        info = self.info
        L = info["n_layer"]
        x0 = -5.75
        x1 = x0 + sum(w for _, w in SEGMENTS) + 0.06 * (len(SEGMENTS) - 1)
        width = x1 - x0
        self.x1 = x1

        def stage(label: str, y: float, color=THEME.dim) -> VGroup:
            r = RoundedRectangle(width=width, height=0.42, corner_radius=0.08, stroke_width=2,
                                 stroke_color=color, fill_color=color, fill_opacity=0.12)
            t = self.text(label, size=20)
            if t.width > width - 0.2:
                raise UserError(f"label {label!r} does not fit the stack drawing")
            g = VGroup(r, t.move_to(r))
            g.move_to([(x0 + x1) / 2, y, 0])
            return g

        pos = " + W_pos" if info.get("positional") == "learned" else ""
        embed = stage(f"embedding: rows of W_E{pos}", 2.8)
        final = stage(f"final norm ({info['norm']})", -1.8)
        unemb = stage(f"unembedding → {info['vocab_size']:,} logits", -2.33)
        # legend over the block rows
        names = {"attn": f"attention · {info['n_head']} heads", "mlp": f"MLP · {info['mlp']}"}
        colors = {"norm1": THEME.dim, "attn": THEME.attention, "norm2": THEME.dim,
                  "mlp": THEME.mlp}
        xs, x = {}, x0
        for key, w in SEGMENTS:
            xs[key] = (x, x + w)
            x += w + 0.06
        legend = VGroup()
        for key in names:
            t = self.text(names[key], size=20, color=colors[key])
            t.move_to([(xs[key][0] + xs[key][1]) / 2, 2.33, 0])
            legend.add(t)

        top, bottom = 2.1, -1.45
        pitch = min(0.5, (top - bottom) / L)
        h = pitch * 0.74
        rows = VGroup()
        for i in range(L):
            y = top - pitch * (i + 0.5)
            row = VGroup()
            for key, _ in SEGMENTS:
                a, b = xs[key]
                row.add(Rectangle(width=b - a, height=h, stroke_width=0, fill_color=colors[key],
                                  fill_opacity=0.55 if key in ("attn", "mlp") else 0.35)
                        .move_to([(a + b) / 2, y, 0]))
            rows.add(row)
        # layer numbers: first and last (every one when the rows are tall enough)
        nums = VGroup()
        every = 1 if pitch >= 0.2 else (5 if pitch >= 0.1 and L > 10 else max(L - 1, 1))
        shown = sorted(set(range(0, L, every)) | {L - 1})
        if every > 1 and L - 1 - shown[-2] < every / 2 and len(shown) > 2:
            shown.pop(-2)       # keep the last label clear of its neighbour
        for i in shown:
            nums.add(num_text(f"{i}", 18, THEME.dim).next_to(rows[i], LEFT, buff=0.1))
        # the matrices: a tied W_E drawn once, reaching both ends
        d, V = info["d_model"], info["vocab_size"]
        mats = VGroup()
        xm = -6.65
        if self.tied:
            r = RoundedRectangle(width=0.62, height=embed.get_y() - unemb.get_y() + 0.42,
                                 corner_radius=0.1, stroke_width=2, stroke_color=THEME.highlight,
                                 fill_color=THEME.highlight, fill_opacity=0.1)
            r.move_to([xm, (embed.get_y() + unemb.get_y()) / 2, 0])
            lab = self.text(f"W_E = W_U (tied) · {shape_str(V, d)}", size=20).rotate(np.pi / 2)
            lab.move_to(r)
            links = VGroup(*[Line([xm + 0.31, s.get_y(), 0], [x0, s.get_y(), 0],
                                  stroke_width=2, color=THEME.highlight) for s in (embed, unemb)])
            mats.add(VGroup(r, lab, links))
        else:
            top, bot = embed.get_top()[1], unemb.get_bottom()[1]
            half = (top - bot) / 2 - 0.1
            for s, name in ((embed, "W_E"), (unemb, "W_U")):
                r = RoundedRectangle(width=0.62, height=half, corner_radius=0.1, stroke_width=2,
                                     stroke_color=THEME.highlight, fill_color=THEME.highlight,
                                     fill_opacity=0.1)
                r.move_to([xm, top - half / 2 if name == "W_E" else bot + half / 2, 0])
                lab = self.text(f"{name} · {shape_str(V, d)}", size=20).rotate(np.pi / 2).move_to(r)
                link = Line([xm + 0.31, s.get_y(), 0], [x0, s.get_y(), 0], stroke_width=2,
                            color=THEME.highlight)
                mats.add(VGroup(r, lab, link))
        spine = Line([x1 + 0.3, embed.get_bottom()[1], 0], [x1 + 0.3, final.get_top()[1], 0],
                     stroke_width=3, color=THEME.dim)
        g = VGroup(embed, legend, rows, nums, final, unemb, mats, spine)
        g.embed, g.legend, g.rows, g.nums, g.final, g.unemb, g.mats, g.spine = \
            embed, legend, rows, nums, final, unemb, mats, spine
        g.xs = xs
        self.stack_g = g
        self.add(self.tag, g)

    def column_rect(self, key: str) -> SurroundingRectangle:
        """One outline around a segment in every block row (the part in all blocks)."""
        rows = self.stack_g.rows
        idx = [k for k, _ in SEGMENTS].index(key)
        col = VGroup(*[r[idx] for r in rows])
        return SurroundingRectangle(col, color=THEME.highlight, buff=0.04, stroke_width=3)

    # ------------------------------------------------------------------ beats
    def beat_stack(self) -> None:
        info = self.info
        title = self.text("The whole stack, read from the model", size=34).to_corner(UL, buff=0.35)
        self.title = title
        self.build_stack_g()
        g = self.stack_g
        self.remove(g)
        self.add(self.tag)
        self.play(FadeIn(title), run_time=0.4)
        self.show_caption(self.caption_text("stack", model=info["name"], n_layer=info["n_layer"],
                                            n_head=info["n_head"]))
        self.play(FadeIn(g.embed, shift=0.1 * DOWN), FadeIn(g.legend), run_time=0.5)
        self.play(LaggedStart(*[FadeIn(r, shift=0.05 * DOWN) for r in g.rows],
                              lag_ratio=0.08), FadeIn(g.nums), run_time=1.4)
        self.play(FadeIn(g.final, shift=0.1 * DOWN), FadeIn(g.unemb, shift=0.1 * DOWN),
                  FadeIn(g.spine), run_time=0.5)
        self.facts = self._facts()
        self.play(LaggedStart(*[FadeIn(f, shift=0.1 * LEFT) for f in self.facts], lag_ratio=0.3),
                  run_time=1.2)
        self.remove(*self.facts)
        self.add(self.facts)
        self.wait_read(1.5)
        self.show_caption(self.caption_text("tied" if self.tied else "untied"))
        self.play(FadeIn(g.mats), run_time=0.6)
        self.wait_read()

    def _facts(self) -> VGroup:
        """The shapes of one block, read from the model (right of the drawing)."""
        info = self.info
        L0 = info["layers"][0]
        kv = (f", {info['n_kv_head']} key/value heads" if info["n_kv_head"] != info["n_head"]
              else "")
        pos = ("positions: RoPE, a rotation inside attention" if info.get("positional") == "rope"
               else "positions: a learned vector W_pos added" if info.get("positional") == "learned"
               else "positions: none")
        same = all(l == info["layers"][0] for l in info["layers"])
        lines = [f"a token: a vector of d_model = {info['d_model']:,} numbers",
                 (f"norms{'' if same else ' (block 0)'}: {L0['norm1']['type']} before attention "
                  f"and before the MLP" if L0['norm1']['type'] == L0['norm2']['type'] else
                  f"norms{'' if same else ' (block 0)'}: {L0['norm1']['type']}, then "
                  f"{L0['norm2']['type']}"),
                 f"attention: {info['n_head']} heads{kv}, d_head = {info['d_head']}",
                 f"MLP: {L0['mlp']}, {info['d_mlp']:,} neurons",
                 pos,
                 f"vocabulary: {info['vocab_size']:,} tokens"]
        g = VGroup(*[self.text(s, size=22) for s in lines])
        if g.width > 7.4:
            g = VGroup(*[self.text(s, size=20) for s in lines])
        g.arrange(DOWN, aligned_edge=LEFT, buff=0.32).move_to([-0.6, 2.3, 0], aligned_edge=UL)
        return g

    def _counts_table(self) -> VGroup:
        info = self.info
        labels = {
            "embed": "embedding W_E",
            "pos_embed": "positions W_pos",
            "attn": "attention, per block",
            "mlp": "MLP, per block",
            "norms": "2 norms, per block",
            "blocks": f"{info['n_layer']} blocks",
            "ln_final": "final norm",
            "unembed": "unembedding W_U",
            "other": "other",
        }
        x_lab, x_brk, x_cnt = -0.6, 2.15, 6.95
        self.breakdown_text: dict[str, str] = {}
        rows = VGroup()
        y = 2.33
        for p in self.parts:
            lab = self.text(labels[p.key], size=20).move_to([x_lab, y, 0], aligned_edge=LEFT)
            if p.key == "unembed" and self.tied:
                brk_s = "= W_E: counted once"
            elif p.key == "blocks" and p.terms:
                brk_s = f"{p.terms[0].factors[0]} × {p.terms[0].factors[1]:,}"
            else:
                brk_s = p.breakdown()
            brk = (self.text(brk_s, 18, THEME.dim) if "_" in brk_s else num_text(brk_s, 18, THEME.dim))
            brk.move_to([x_brk, y, 0], aligned_edge=LEFT)
            cnt_w = num_text(f"{p.count:,}", 20).width
            if brk.get_right()[0] > x_cnt - cnt_w - 0.25 and p.terms:   # too long: say less
                n_mat = sum(len(t.factors) > 1 for t in p.terms)
                brk = num_text(f"{n_mat} matrices + biases" if n_mat < len(p.terms)
                               else f"{n_mat} matrices", 18, THEME.dim)
                brk.move_to([x_brk, y, 0], aligned_edge=LEFT)
            e_cnt = self._record_part(p, brk.text)
            cnt = num_text(e_cnt.say("{shown:,}") if e_cnt else f"{p.count:,}", 20)
            if e_cnt:
                e_cnt.bind(cnt)
            cnt.move_to([x_cnt, y, 0], aligned_edge=RIGHT)
            if p.key in TOTAL_KEYS:
                cnt.set_color(THEME.text)
            else:
                VGroup(lab, cnt).set_opacity(0.75)
            row = VGroup(lab, brk, cnt)
            row.part, row.lab, row.brk, row.cnt = p, lab, brk, cnt
            self.breakdown_text[p.key] = brk.text
            rows.add(row)
            y -= 0.5 if p.key != "norms" else 0.62
        rule = Line([x_lab, y + 0.22, 0], [x_cnt, y + 0.22, 0], stroke_width=1.5, color=THEME.dim)
        tot_lab = self.text("total", size=22).move_to([x_lab, y - 0.1, 0], aligned_edge=LEFT)
        e_tot = self.equation("total", "total", shown=self.total,
                              parts=[p.count for p in self.parts if p.key in TOTAL_KEYS])
        tot = e_tot.bind(num_text(e_tot.say("{shown:,}"), 22, THEME.highlight))
        tot.move_to([x_cnt, y - 0.1, 0], aligned_edge=RIGHT)
        n_params = int(info["n_params"])
        mark = "=" if n_params == self.total else "≠"
        e_own = self.equation("total", "= the model's own count", shown=n_params, parts=[self.total])
        check = e_own.bind(self.text(e_own.say(mark + " the model's own count: {shown:,}"),
                                     size=20, color=THEME.accent if mark == "=" else THEME.negative))
        check.move_to([x_cnt, y - 0.62, 0], aligned_edge=RIGHT)
        table = VGroup(rows, rule, tot_lab, tot, check)
        table.rows, table.total, table.check = rows, tot, check
        table.tot_lab, table.rule = tot_lab, rule
        return table

    def _record_part(self, p: Any, breakdown: str) -> Any:
        """The ledger entries of one table row: each matrix size and the row's count as their
        sum (the blocks row: blocks × one block, one block = its parts). Returns the entry
        whose result is the count drawn in the row, or None (a count read, not computed)."""
        if p.key == "blocks" and p.terms:
            e = self.equation("product", f"{p.terms[0].factors[0]} × {p.terms[0].factors[1]:,}",
                              shown=p.count, factors=list(p.terms[0].factors))
            per = [q.count for q in self.parts if q.per_block]
            self.equation("total", "one block = attention + MLP + norms",
                          shown=p.terms[0].factors[1], parts=per)
            return e
        for term in p.terms:
            self.equation("product", term.shape_str(), shown=term.size, factors=list(term.factors))
        if not p.terms:
            return None
        return self.equation("total", breakdown, shown=p.count, parts=[term.size for term in p.terms])

    @beat(needs=("stack_g",))
    def beat_counts(self) -> None:
        info = self.info
        g = self.stack_g
        table = self._counts_table()
        self.table = table
        self.show_caption(self.caption_text("counts"))
        facts = getattr(self, "facts", None)
        if facts is not None and facts in self.mobjects:
            self.play(FadeOut(facts, shift=0.1 * RIGHT), run_time=0.4)
        targets = {"embed": g.embed, "pos_embed": g.embed, "ln_final": g.final,
                   "unembed": g.unemb, "other": None}
        seg = {"attn": "attn", "mlp": "mlp", "norms": None}
        for row in table.rows:
            k = row.part.key
            if k in seg:
                hl = self.column_rect(seg[k]) if seg[k] else VGroup(
                    self.column_rect("norm1"), self.column_rect("norm2"))
            elif k == "blocks":
                hl = SurroundingRectangle(g.rows, color=THEME.highlight, buff=0.06)
            elif targets.get(k) is not None:
                hl = SurroundingRectangle(targets[k], color=THEME.highlight, buff=0.05)
            else:
                hl = VGroup()
            if k == "embed" or (k == "unembed" and self.tied):
                hl = VGroup(hl, SurroundingRectangle(g.mats, color=THEME.highlight, buff=0.04))
            if k == "blocks":
                self.show_caption(self.caption_text(
                    "blocks", n_layer=info["n_layer"], share=f"{100 * row.part.count / self.total:.0f}%"))
                per = [r.cnt for r in table.rows if r.part.per_block]
                self.play(FadeIn(row.lab), FadeIn(hl),
                          *[FadeTransform(c.copy(), row.brk) for c in per], run_time=0.8)
                self.play(FadeIn(row.cnt), run_time=0.4)
            else:   # the part lights up, its matrices are written, its count is their sum
                self.play(FadeIn(hl), FadeIn(row.lab, shift=0.1 * LEFT), LaggedStart(
                    Write(row.brk), ReplacementTransform(in_flight(row.brk.copy()), row.cnt),
                    lag_ratio=0.6),                  # (the copy morphing into the count: in flight)
                    run_time=0.8)
            self.wait_read(0.5)
            self.play(FadeOut(hl), run_time=0.25)
        self.show_caption(self.caption_text("total" if self.tied else "total_untied",
                                            total=int(info["n_params"])))
        sums = [r.cnt for r in table.rows if r.part.key in TOTAL_KEYS]
        self.play(FadeIn(table.rule), FadeIn(table.tot_lab),
                  *[FadeTransform(c.copy(), table.total) for c in sums], run_time=0.9)
        self.play(FadeIn(table.check, shift=0.1 * UP), run_time=0.5)
        self.remove(*table.rows)
        self.add(table)
        self.wait_read(1.5)

    def _bars(self) -> VGroup:
        """Two columns of bars aligned with the block rows: ‖attention write‖, ‖MLP write‖."""
        g = self.stack_g
        W = self.writes
        scale = 2.7 / max(float(W.max()), 1e-9)
        x_cols = (-0.6, 3.3)
        colors = (THEME.attention, THEME.mlp)
        heads = VGroup(*[self.text(s, size=20, color=c).move_to([x + 1.35, 2.33, 0])
                         for s, x, c in zip(("‖attention write‖", "‖MLP write‖"), x_cols, colors)])
        cols = VGroup()
        labels = VGroup()
        for j in range(2):
            col = VGroup()
            for i, row in enumerate(g.rows):
                h = row[0].height
                w = max(float(W[i, j]) * scale, 0.005)
                b = Rectangle(width=w, height=h, stroke_width=0, fill_color=colors[j],
                              fill_opacity=0.85)
                b.move_to([x_cols[j], row.get_y(), 0], aligned_edge=LEFT)
                b.value = float(W[i, j])
                col.add(b)
            cols.add(col)
            # numbers: every bar when rows are tall enough, else the largest and the last
            L = len(g.rows)
            pick = range(L) if g.rows[0].height >= 0.3 else sorted({int(np.argmax(W[:, j])), L - 1})
            for i in pick:
                t = num_text(sig3(float(W[i, j])), 18, THEME.text)
                t.next_to(col[i], RIGHT, buff=0.08)
                t.value = float(W[i, j])
                labels.add(t)
        feeds = VGroup(*[Line(row.get_right() + 0.02 * RIGHT, [self.x1 + 0.3, row.get_y(), 0],
                              stroke_width=1.5, color=THEME.dim) for row in g.rows])
        t = self.trace
        xn = np.linalg.norm(np.asarray(t.resid[:, self.pos], np.float64), axis=-1)
        self.resid_norms = xn
        out = VGroup(heads, cols, labels, feeds)
        out.heads, out.cols, out.labels, out.feeds = heads, cols, labels, feeds
        return out

    def readout(self, u: float) -> VGroup:
        """The residual vector at the shown position after ``u`` blocks (u = i + ½: block i's
        attention added, not yet its MLP): its first entries and its size, below the bars."""
        t, p, n = self.trace, self.pos, 4
        i = int(np.floor(u + 1e-9))
        if i < len(t.resid) - 1 and u - i >= 0.5:
            x, where = t.resid_mid[i, p], f"after block {i}'s attention"
        else:
            x = t.resid[i, p]
            where = "after the embedding" if i == 0 else f"after block {i - 1}"
        x = np.asarray(x, np.float64)
        head = self.text(f"x at “{token_label(t.tokens[p])}”, {where}:", size=20, color=THEME.dim)
        nums = VGroup(*[num_text(number_str(float(v)), 20, ink_color(float(v)))
                        for v in x[:n]], num_text("⋯", 20, THEME.dim)).arrange(RIGHT, buff=0.22)
        size = num_text(f"‖x‖ = {sig3(float(np.linalg.norm(x)))}", 20, THEME.text)
        g = VGroup(head, nums, size).arrange(RIGHT, buff=0.25)
        g.move_to([-0.6, -2.2, 0], aligned_edge=LEFT)
        if g.get_right()[0] > 6.95:
            VGroup(nums, size).next_to(head, DOWN, buff=0.1, aligned_edge=LEFT)
        g.values = x
        return g

    def travel(self, bars: VGroup, u0: float, u1: float, run_time: float) -> None:
        """The stream's vector travels down the stack from ``u0`` to ``u1`` blocks: a marker on
        the spine, each block's two bars growing as it passes (attention, then MLP), the
        vector's entries changing to the real ones after each write."""
        g = self.stack_g
        full = [[b.saved_state.copy() for b in pair] for pair in zip(*bars.cols)]
        ys = [r.get_y() for r in g.rows]
        pitch = (ys[0] - ys[-1]) / max(len(ys) - 1, 1) if len(ys) > 1 else 0.5
        y_of = lambda u: ys[0] + pitch * 0.5 - pitch * u
        marker, read = self.marker, self.read
        shown: list = [None]

        def step(_: Any, a: float) -> None:
            u = u0 + (u1 - u0) * a
            marker.move_to([marker.get_x(), y_of(u), 0])
            for i, pair in enumerate(zip(*bars.cols)):
                for j, b in enumerate(pair):
                    frac = min(1.0, max(0.0, 2 * (u - i - 0.5 * j)))
                    if 0.0 < frac < 1.0 or (frac == 1.0 and b.width < full[i][j].width - 1e-6):
                        f = full[i][j]
                        if b.submobjects or f.submobjects or len(b.points) != len(f.points):
                            b.become(f.copy().stretch(max(frac, 1e-3), 0, about_edge=LEFT))
                        else:                      # the same bar, stretched from its left edge
                            pts = f.points.copy()
                            left = pts[:, 0].min()
                            pts[:, 0] = left + (pts[:, 0] - left) * max(frac, 1e-3)
                            b.points = pts
            i = int(np.floor(u + 1e-9))          # which vector the readout shows (readout())
            key = (i, i < len(self.trace.resid) - 1 and u - i >= 0.5)
            if key != shown[0]:                    # it changes a few times, not every frame
                shown[0] = key
                new = self.readout(u)
                read.become(new)
                read.values = new.values

        self.play(UpdateFromAlphaFunc(VGroup(marker, read, *[b for c in bars.cols for b in c]), step),
                  run_time=run_time, rate_func=lambda a: a)

    @beat(needs=("stack_g",))
    def beat_residual(self) -> None:
        t = self.trace
        g = self.stack_g
        summary = num_text(f"{self.total:,} parameters", 20, THEME.dim)
        summary.next_to(self.tag, DOWN, buff=0.12).align_to(self.tag, RIGHT)
        table = getattr(self, "table", None)
        if table is not None and table in self.mobjects:
            rest = [table.rows, table.rule, table.tot_lab, table.check]
            self.remove(table)
            self.add(*rest, table.total)
            anims = [FadeOut(m) for m in rest] + [FadeTransform(table.total, summary)]
        else:
            anims = [FadeIn(summary)]
        self.show_caption(self.caption_text("residual"))
        self.play(*anims, g.spine.animate.set_color(THEME.highlight).set_stroke(width=5),
                  run_time=0.7)
        self.summary = summary
        bars = self._bars()
        self.bars = bars
        # the identity the bars measure, at the shown position, for every block
        for L in range(self.info["n_layer"]):
            self.equation("add", "x + attention write", shown=t.resid_mid[L, self.pos],
                          a=t.resid[L, self.pos], b=t.attn_out[L, self.pos])
            self.equation("add", "x + MLP write", shown=t.resid[L + 1, self.pos],
                          a=t.resid_mid[L, self.pos], b=t.mlp_out[L, self.pos])
        self.read = self.readout(0.0)
        self.marker = Dot([self.x1 + 0.3, g.rows[0].get_top()[1], 0], radius=0.09,
                          color=THEME.highlight)
        for c in bars.cols:
            for b in c:
                b.save_state()
                b.stretch(1e-3, 0, about_edge=LEFT)
        self.play(FadeIn(bars.feeds), FadeIn(bars.heads), FadeIn(self.read), FadeIn(self.marker),
                  *[FadeIn(b) for c in bars.cols for b in c], run_time=0.5)
        self.show_caption(self.caption_text("bars", tok=token_label(t.tokens[self.pos]),
                                            pos=self.pos))
        # block 0 slowly (its attention write, then its MLP write), then the rest of the stack
        self.travel(bars, 0.0, 1.0, run_time=2.0)
        L = self.info["n_layer"]
        if L > 1:
            self.travel(bars, 1.0, float(L), run_time=min(4.0, 0.5 + 0.25 * L))
        for c in bars.cols:
            for b in c:
                b.restore()
        self.play(FadeIn(bars.labels), FadeOut(self.marker), run_time=0.4)
        labels = bars.labels
        bars.labels = VGroup(*labels, self.read)
        self.remove(*bars.cols, *[b for c in bars.cols for b in c], *labels, bars.feeds,
                    bars.heads, self.read)
        bars.remove(labels)
        bars.add(bars.labels)
        self.add(bars)
        self.wait_read(1.5)

    def _published_table(self) -> VGroup:
        info = self.info
        x = [-0.45, 2.7, 4.1, 5.0, 6.85]
        heads = ("model", "layers", "d_model", "heads", "parameters")
        rows = VGroup()
        y = 1.6
        head = VGroup(*[self.text(s, size=20, color=THEME.dim) for s in heads])
        for i, m in enumerate(head):
            m.move_to([x[i], y, 0], aligned_edge=UL if i == 0 else UR)
        rows.add(head)
        for name, L, d, h, p in PUBLISHED:
            y -= 0.5
            cells = [self.text(name, size=20)] + [num_text(f"{v:,}", 20) for v in (L, d, h)] + \
                [num_text(p, 20)]
            for i, m in enumerate(cells):
                m.move_to([x[i], y, 0], aligned_edge=UL if i == 0 else UR)
            rows.add(VGroup(*cells))
        y -= 0.62
        mine = [self.text(f"{info['name']} (this run)", size=20, color=THEME.highlight)] + \
            [num_text(f"{v:,}", 20, THEME.highlight)
             for v in (info["n_layer"], info["d_model"], info["n_head"])] + \
            [num_text(human(self.total), 20, THEME.highlight)]
        if mine[0].width > x[1] - x[0] - 0.9:
            mine[0] = self.text("this run", size=20, color=THEME.highlight)
        for i, m in enumerate(mine):
            m.move_to([x[i], y, 0], aligned_edge=UL if i == 0 else UR)
        rows.add(VGroup(*mine))
        title = self.text("Published figures, not runs", size=24, color=THEME.highlight)
        title.move_to([x[0], 2.3, 0], aligned_edge=LEFT)
        src = VGroup(*[self.text(line, size=18, color=THEME.dim) for line in PUBLISHED_SOURCES])
        src.arrange(DOWN, aligned_edge=LEFT, buff=0.12).move_to([x[0], y - 0.6, 0], aligned_edge=UL)
        box = SurroundingRectangle(VGroup(title, rows, src), color=THEME.dim, buff=0.18,
                                   corner_radius=0.1, stroke_width=1.5)
        out = VGroup(box, title, rows, src)
        out.mine = rows[-1]
        return out

    @beat(needs=("stack_g",))
    def beat_scale(self) -> None:
        gone = [m for m in (getattr(self, "bars", None), getattr(self, "table", None)) if m is not None
                and m in self.mobjects]
        note = self._published_table()
        self.published = note
        self.show_caption(self.caption_text("scale", compare=compare_shapes(
            PUBLISHED, self.info["n_layer"], self.info["d_model"], self.total)))
        if gone:     # the bars leave before the table arrives in their place (no cross-fade)
            self.play(*[FadeOut(m) for m in gone], run_time=0.3)
        self.play(*[FadeIn(m, shift=0.1 * LEFT) for m in (note[0], note[1], note[2][:-1])],
                  run_time=0.4 if gone else 0.7)
        src = getattr(self, "summary", None)
        if src is not None and src in self.mobjects:
            self.play(FadeTransform(src.copy(), note.mine), FadeIn(note[3]), run_time=0.7)
        else:
            self.play(FadeIn(note.mine), FadeIn(note[3]), run_time=0.5)
        self.wait_read(2.0)
