"""Generation: the whole model as one loop — predict, sample, append, repeat.

``manim render scenes/generation.py`` renders :class:`GenerationScene`:

1. ``beat_pipeline`` — the model as a stack, read from the model: tokens → embedding
   (vocab × d_model) → N × (attention, MLP) with the real N → final norm and unembedding →
   softmax at temperature T → a seeded sample.
2. ``beat_steps`` — ``steps`` real steps of generation (:func:`tensors.generate.generate`):
   each step the text flows into the stack, the blocks light in order, the real top next
   tokens grow as bars out of the softmax, and the seeded draw u ~ U[0, 1) lands on the
   cumulative 0–1 strip (tokens in id order, the inverse CDF tensors.sampling uses): the
   token whose slice it hits is the one appended (coloured as sampled only then). The next
   step reads the grown text, tokenized again by the model's tokenizer.
3. ``beat_result`` — the text the loop wrote.

Long prompts: the text shows its last tokens in two rows, "N earlier" before them.

Knobs: ``prompt``, ``model``, ``steps``, ``temperature``, ``seed``, ``top_k`` (sample only
among the k most likely; None = the whole vocabulary), ``n_bars``. Section ``[generation]``.
"""
from __future__ import annotations

from typing import Annotated, ClassVar

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UL, UP, Arrow, CurvedArrow, FadeIn, FadeOut, GrowFromEdge,
                   Rectangle, Transform, Triangle, UpdateFromAlphaFunc,
                   VGroup, config, linear)

from scenes.kit.pieces import ProbabilityBars, TokenBoxes, box, down_arrow
from scenes.kit.course.spec import Range
from scenes.kit.scene import GPTScene, beat
from scenes.kit.text import (displayable, flat_text, joined_pieces, num_text, shape_str,
                             token_label, wrap_lines)
from scenes.kit.theme import THEME, pct, pct_field
from tensors import UserError
from tensors.generate import (Generation, Step, check_temperature, distribution, draw,
                              generate, rng)

STRIP_W = 5.6           # the cumulative 0–1 strip (frame units)


class GenerationScene(GPTScene):
    config_section = "generation"
    beats = ("beat_pipeline", "beat_steps", "beat_result")

    prompt: ClassVar[str] = "Once upon a time, there was a"
    #: Tokens generated (the loop stops early at the model's end-of-text token).
    steps: ClassVar[Annotated[int, Range(1, 16)]] = 6
    #: Sampling temperature (> 0).
    temperature: ClassVar[Annotated[float, Range(0, above=True)]] = 0.7
    #: Seed of the draws (numpy PCG64, see tensors.generate): same seed, same text.
    seed: ClassVar[Annotated[int, Range(0)]] = 0
    #: Sample only among the k most likely tokens (None = all of the vocabulary).
    top_k: ClassVar[Annotated[int, Range(1)] | None] = None
    #: Bars shown per step (the most likely next tokens).
    n_bars: ClassVar[Annotated[int, Range(1, 8)]] = 5

    captions: ClassVar[dict[str, str]] = {
        "pipeline": "{model}, read from the model: {n_layer} blocks of attention + MLP between "
                    "the embedding and the unembedding.",
        "step1": "Step 1: the model reads the prompt and gives a probability to each of its "
                 "{vocab:,} tokens.",
        "append": "Append it and run the whole model again on the longer text.",
        "loop": "Predict, sample, append, repeat: every step is one full forward pass.",
        "retok": "Step {i}: the tokenizer reads the grown text differently — this is what "
                 "the model sees.",
        "draw": "Draw u from 0–1 (seed {seed}) and find it on the cumulative strip: it lands "
                "in the slice of “{tok}”, probability {p}.",
        "stop": "The model drew its stop token {tok}: generation stops.",
        "result": "{n} tokens, one forward pass each, sampled at T = {T} with seed {seed}: "
                  "the same seed writes the same text.",
    }

    # ------------------------------------------------------------------ data
    def prepare(self) -> None:
        self.T = check_temperature(self.temperature)
        self.gen: Generation = generate(self.prompt, self.model, steps=self.steps,
                                        temperature=self.T, seed=self.seed, top_k=self.top_k,
                                        n_top=self.n_bars, device=self.device)
        self.info = self.trace.info
        # the seeded draws of tensors.generate: one u per step, the same generator
        us = rng(self.seed).random(len(self.gen.steps))
        self.draws: list[tuple[float, np.ndarray]] = []
        for s, u in zip(self.gen.steps, us):
            p = distribution(self.load_trace(s.text), self.T, self.top_k)
            if int(draw(p, np.array([u]))[0]) != s.sampled_id:
                raise UserError("the seeded draw does not reproduce the generation; delete the "
                                "gpt-scenes generation cache and render again")
            self.draws.append((float(u), p))

    # ------------------------------------------------------------------ layout pieces
    def stack(self) -> VGroup:
        info = self.info
        w = 4.3
        learned = info.get("positional") == "learned"
        pos = " + positions" if learned else ""
        boxes = [
            box("tokens", w, sub="the text so far, tokenized"),
            box("embedding", w, sub=f"W_E {shape_str(info['vocab_size'], info['d_model'])}{pos}"),
            box(f"{info['n_layer']} × block", w, height=0.78, color=THEME.dim,
                sub=f"attention ({info['n_head']} heads{'' if learned else ', RoPE'})"
                    f" + MLP ({info['mlp']})"),
            box("final norm + unembedding", w,
                sub=f"{info['norm']}, W_U {shape_str(info['vocab_size'], info['d_model'])}"),
            box(f"softmax, T = {self.T:g}", w,
                sub=f"{info['vocab_size']:,} probabilities" + (
                    f", top {self.top_k} kept" if self.top_k else "")),
            box(f"sample, seed {self.seed}", w, color=THEME.accent, sub="one token id"),
        ]
        g = VGroup(*boxes).arrange(DOWN, buff=0.3)
        arrows = VGroup(*[down_arrow(a, b) for a, b in zip(boxes, boxes[1:])])
        loop = CurvedArrow(boxes[-1].get_right() + 0.05 * RIGHT, boxes[0].get_right() + 0.05 * RIGHT,
                           angle=1.5, color=THEME.accent, stroke_width=2.5, tip_length=0.16)
        loop_lab = num_text("append", 20, THEME.accent).rotate(np.pi / 2)
        loop_lab.next_to(loop, RIGHT, buff=0.08)
        arrows.add(loop, loop_lab)
        st = VGroup(g, arrows)
        st.boxes, st.arrows = g, arrows
        st.label_strs = [b.label_str for b in boxes]
        return st

    def text_boxes(self, tokens: list[str], n_prompt: int, appended: int = 0) -> TokenBoxes:
        tb = TokenBoxes([displayable(x) for x in tokens], font_size=22, fill_opacity=0.1,
                        max_width=config.frame_width / 2 - self.text_anchor.get_left()[0] - 0.4,
                        buff=0.06, max_rows=2, keep="end")
        for k, i in enumerate(tb.shown):
            if i >= len(tokens) - appended:
                tb.rects[k].set_fill(THEME.accent, 0.12).set_stroke(THEME.accent)  # ␣ at 4.8:1
        tb.tokens = list(tokens)
        tb.next_to(self.text_anchor, DOWN, buff=0.15, aligned_edge=LEFT)
        return tb

    def step_bars(self, s: Step) -> ProbabilityBars:
        ids = [j for j, _, _ in s.top]
        labels = [tok for _, tok, _ in s.top]
        probs = [p for *_, p in s.top]
        hl = ids.index(s.sampled_id) if s.sampled_id in ids else None
        if hl is None:  # the draw is outside the top: show it as an extra row, honestly ranked
            labels.append(s.sampled)
            probs.append(s.sampled_prob)
            hl = len(labels) - 1
        bars = ProbabilityBars([displayable(x) for x in labels], probs, max_bar_width=4.2,
                               bar_height=0.26, row_buff=0.1, font_size=22,
                               color=THEME.positive)
        bars.labels = labels
        if hl == len(s.top):  # the extra row: say where the drawn token ranks
            rank = num_text(f"rank {s.sampled_rank + 1:,} of {self.info['vocab_size']:,}",
                            20, THEME.dim)
            rank.next_to(bars.pct_texts[hl], RIGHT, buff=0.25)
            bars.add(rank)
        bars.next_to(self.bars_anchor, DOWN, buff=0.2, aligned_edge=LEFT)
        bars.sampled_row = hl
        return bars

    def bind_step(self, s: Step, p: np.ndarray, bars: ProbabilityBars) -> None:
        """Ledger: the step's bars are softmax(ℓ/T) of the real logits of the text read at
        this step (only the top k kept when ``top_k``); each percentage drawn is made from
        the entry through the one formatter."""
        z = np.asarray(self.load_trace(s.text).logits[-1], np.float64)
        if self.top_k:
            z = np.where(p > 0, z, -np.inf)
        e = self.equation("softmax", f"p = softmax(ℓ / T), T = {self.T:g}", shown=p, z=z, T=self.T)
        ids = [j for j, _, _ in s.top]
        if s.sampled_id not in ids:
            ids.append(s.sampled_id)
        for j, pt in zip(ids, bars.pct_texts):
            e.bind(pt, e.say(pct_field(f"shown[{j}]", p[j])))

    def strip(self, s: Step, u: float, p: np.ndarray, bars: ProbabilityBars) -> VGroup:
        """The cumulative 0–1 strip: every token a slice as wide as its probability, in id
        order (the order the inverse CDF walks); the shown tokens' slices coloured, the
        draw u as a pointer. ``.slice`` is the sampled token's slice [a, b)."""
        x0 = bars.bars[0].get_left()[0]
        y = bars.get_bottom()[1] - 0.8      # room for u's label under the last row
        base = Rectangle(width=STRIP_W, height=0.26, stroke_color=THEME.dim, stroke_width=1.5,
                         fill_color=THEME.neutral, fill_opacity=1.0)
        base.move_to([x0 + STRIP_W / 2, y, 0])
        cdf = np.cumsum(p)
        total = float(cdf[-1])
        segs = VGroup()
        ids = [j for j, _, _ in s.top]
        if s.sampled_id not in ids:
            ids.append(s.sampled_id)
        for j in ids:
            a, b = float(cdf[j] - p[j]) / total, float(cdf[j]) / total
            w = max((b - a) * STRIP_W, 0.02)
            r = Rectangle(width=w, height=0.26, stroke_width=0, fill_color=THEME.positive,
                          fill_opacity=0.85)
            r.move_to([x0 + (a + b) / 2 * STRIP_W, y, 0])
            r.token_id, r.span = j, (a, b)
            segs.add(r)
        zero = num_text("0", 20, THEME.dim).next_to(base, LEFT, buff=0.12)
        one = num_text("1", 20, THEME.dim).next_to(base, RIGHT, buff=0.12)
        name = num_text("cumulative probability, tokens in id order", 20, THEME.dim)
        name.next_to(base, DOWN, buff=0.1).align_to(base, LEFT)
        ptr = Triangle(fill_color=THEME.highlight, fill_opacity=1, stroke_width=0).scale(0.1)
        ptr.rotate(np.pi).next_to(base, UP, buff=0.02).set_x(x0 + u * STRIP_W)
        u_t = num_text(f"u = {u:.3f}", 20, THEME.highlight).next_to(ptr, UP, buff=0.06)
        k = ids.index(s.sampled_id)
        g = VGroup(base, segs, zero, one, name)
        g.base, g.segs, g.ptr, g.u_text, g.hit = base, segs, ptr, u_t, segs[k]
        g.slice = segs[k].span
        return g

    # ------------------------------------------------------------------ beats
    def _layout(self) -> None:
        """The stack and the anchors of the text and the bars (not on screen)."""
        st = self.stack()
        if st.height > 3.5 + 2.7:   # (does not happen for 6 boxes; never below the floor)
            st.scale_to_fit_height(3.5 + 2.7)
        st.to_edge(LEFT, buff=0.4).align_to([0, 3.5, 0], UP)
        self.stack_g = st
        self.text_anchor = num_text("text", 20, THEME.dim)
        x = st.get_right()[0] + 0.35
        self.text_anchor.move_to([x, 3.1, 0], aligned_edge=LEFT)
        self.bars_anchor = num_text("next token", 20, THEME.dim)
        self.bars_anchor.move_to([x, 1.25, 0], aligned_edge=LEFT)

    def build_stack_g(self) -> None:
        """The model's stack (what beat_pipeline ends with)."""
        self._layout()
        self.add(self.stack_g)

    @beat(needs=("tag",))
    def beat_pipeline(self) -> None:
        self._layout()
        st = self.stack_g
        self.show_caption(self.caption_text("pipeline", model=self.info["name"],
                                            n_layer=self.info["n_layer"]))
        self.play(FadeIn(st.boxes, shift=0.1 * DOWN, lag_ratio=0.15), FadeIn(st.arrows),
                  run_time=1.2)
        self.hold()

    def pulse(self, run_time: float) -> None:
        """The blocks light in order, top to bottom: one forward pass (one animation)."""
        boxes = self.stack_g.boxes
        n = len(boxes)
        base = [float(b.rect.get_fill_opacity()) for b in boxes]

        def step(m, a):
            k = a * n
            for i, b in enumerate(boxes):
                on = max(0.0, 1.0 - abs(k - (i + 0.5)))          # a soft wave down the stack
                # the outline lights, the fill barely: the dim sub-label stays ≥ 4.5:1 on it
                b.rect.set_fill(opacity=base[i] + 0.03 * on)
                b.rect.set_stroke(THEME.highlight if on > 0.5 else b.rect.get_fill_color(),
                                  opacity=1)

        self.play(UpdateFromAlphaFunc(VGroup(boxes), step), run_time=run_time, rate_func=linear)
        for b, o in zip(boxes, base):
            b.rect.set_fill(opacity=o)
            b.rect.set_stroke(b.rect.get_fill_color())

    def flow_in(self, run_time: float) -> None:
        """A copy of the text flows into the stack's first box."""
        into = self.stack_g.boxes[0]
        ghost = VGroup(*[b.rect for b in self.text_tb.boxes]).copy()   # boxes, not text: it
        # shrinks into the stack (a text would be drawn under the size floor on its way)
        self.play(ghost.animate.scale(0.25).move_to(into).set_opacity(0), run_time=run_time)
        self.remove(ghost)

    @beat(needs=("tag", "stack_g"))
    def beat_steps(self) -> None:
        g = self.gen
        n_prompt = len(g.steps[0].token_ids)
        self.text_tb = self.text_boxes(g.steps[0].tokens, n_prompt)
        self.play(FadeIn(self.text_anchor), FadeIn(self.text_tb), FadeIn(self.bars_anchor),
                  run_time=0.5)
        self.step_label = None
        self.shown_bars: list[ProbabilityBars] = []
        self.shown_strips: list[VGroup] = []
        self.shown_texts: list[list[str]] = [list(g.steps[0].tokens)]
        out_box = self.stack_g.boxes[4]
        bars = strip = None
        for s, (u, p) in zip(g.steps, self.draws):
            first = s.index == 0
            f = 1.0 if first else 0.6       # later steps: the same moves, quicker
            # the model's own tokens of the text it reads at this step
            if s.tokens != self.text_tb.tokens:
                new_tb = self.text_boxes(s.tokens, n_prompt, appended=max(0, len(s.tokens) - n_prompt))
                if s.retokenized:
                    self.show_caption(self.caption_text("retok", i=s.index + 1))
                self.play(Transform(self.text_tb, new_tb), run_time=0.4)
                self.text_tb.tokens = new_tb.tokens
            lab = num_text(f"step {s.index + 1} of {len(g.steps)}", 22, THEME.highlight)
            lab.next_to(self.bars_anchor, RIGHT, buff=0.5)
            if first:
                self.show_caption(self.caption_text("step1", vocab=self.info["vocab_size"]))
            elif s.index == 1:
                self.show_caption(self.caption_text("loop"), run_time=0.3)
            gone = [FadeOut(m) for m in (bars, strip) if m is not None]
            if strip is not None:
                gone += [FadeOut(strip.ptr), FadeOut(strip.u_text)]
            anims = [FadeIn(lab)] if self.step_label is None else [Transform(self.step_label, lab)]
            self.play(*anims, *gone, run_time=0.3 * f)
            if self.step_label is None:
                self.step_label = lab
            self.flow_in(0.5 if first else 0.35)
            self.pulse(1.2 if first else 0.6)
            bars = self.step_bars(s)
            self.bind_step(s, p, bars)
            strip = self.strip(s, u, p, bars)
            # bars grow out of the softmax box
            src = Arrow(out_box.get_right(), bars.label_texts.get_left() + 0.1 * LEFT, buff=0.1,
                        color=THEME.dim, stroke_width=2)   # to the labels, not across them
            self.play(FadeIn(src), run_time=0.2 * f)
            self.play(*[GrowFromEdge(b, LEFT) for b in bars.bars], FadeIn(bars.label_texts),
                      FadeIn(bars.pct_texts), *[FadeIn(m) for m in bars.submobjects[3:]],
                      FadeOut(src), run_time=0.6 * f)
            self.play(FadeIn(strip.base), FadeIn(strip[2:]),
                      *[GrowFromEdge(r, LEFT) for r in strip.segs], run_time=0.5 * f)
            self.shown_bars.append(bars)
            self.shown_strips.append(strip)
            a, b = strip.slice
            self.equation("sum", "start of the drawn token's slice = Σ p (ids before it)",
                          shown=a * float(np.sum(p)), terms=p[:s.sampled_id])
            if first:
                self.show_caption(self.caption_text("draw", seed=self.seed, T=f"{self.T:g}",
                                                    tok=token_label(s.sampled),
                                                    p=pct(s.sampled_prob)))
            # the draw lands; only now the drawn token is coloured as sampled
            self.play(FadeIn(strip.ptr, shift=0.15 * DOWN), FadeIn(strip.u_text, shift=0.15 * DOWN),
                      run_time=0.5 * f)
            row = bars.sampled_row
            self.play(strip.hit.animate.set_fill(THEME.accent, 1.0),
                      bars.bars[row].animate.set_fill(THEME.accent),
                      bars.label_texts[row].animate.set_color(THEME.accent), run_time=0.4 * f)
            if first:
                self.hold(minimum=0.5)
            if s.stop:
                self.show_caption(self.caption_text("stop", tok=s.sampled))
                self.hold(minimum=0.5)
                break
            grown = list(s.tokens) + [s.sampled]
            new_tb = self.text_boxes(grown, n_prompt, appended=len(grown) - n_prompt)
            fly = bars.label_texts[row].copy()
            if first:
                self.show_caption(self.caption_text("append"))
            old = self.text_tb
            same = len(old.boxes) == len(new_tb.boxes) - 1 and old.note is None and \
                new_tb.note is None and all(
                    np.allclose(x.get_center(), y.get_center(), atol=1e-3)
                    for x, y in zip(old.boxes, new_tb.boxes))
            if same:  # earlier boxes stay where they are: only the new one appears
                self.play(fly.animate.move_to(new_tb.boxes[-1]).set_opacity(0),
                          FadeIn(new_tb.boxes[-1]), run_time=0.6 * f)
                self.remove(old, new_tb.boxes[-1], fly)
                self.add(new_tb)
                self.text_tb = new_tb
            else:
                self.play(fly.animate.move_to(new_tb.boxes[-1]).set_opacity(0),
                          FadeOut(old), FadeIn(new_tb), run_time=0.6 * f)
                self.remove(fly)
                self.text_tb = new_tb
            self.shown_texts.append(grown)
            if first:
                self.hold(minimum=0.3)
        self.last_bars = bars
        self.last_strip = strip

    @beat(needs=("tag", "stack_g"))
    def beat_result(self) -> None:
        g = self.gen
        n = sum(1 for s in g.steps if not s.stop)
        # the appended pieces' bytes decoded together: a half character shows as ⟨E5 BA⟩
        body = displayable((g.prompt + joined_pieces(g.appended)).replace("\n", "↵"))
        size, width = 26.0, config.frame_width / 2 - self.bars_anchor.get_left()[0] - 0.4
        words = body.split(" ")
        # the text's end, as many words as fill three lines (start from a tail that
        # roughly fits, then drop words until it does)
        per_char = flat_text("abcdefghij klmnopqrst", size).width / 21
        keep = int(3 * width / per_char)
        if len(body) > keep:
            while len(" ".join(words)) > keep and len(words) > 1:
                words = words[1:]
            body = "… " + " ".join(words)
        shown = body
        while True:
            try:
                lines = wrap_lines(f"“{shown}”", size, width, 3)
                break
            except ValueError:
                words = words[1:]
                shown = "… " + " ".join(words)
        out = VGroup(*[self.text(l, size=size) for l in lines]).arrange(
            DOWN, aligned_edge=LEFT, buff=0.12)
        out.move_to(self.bars_anchor.get_corner(UL) + 0.2 * DOWN, aligned_edge=UL)
        out.text_value = g.text
        self.result_text = out
        self.show_caption(self.caption_text("result", n=n, T=f"{self.T:g}", seed=self.seed))
        gone = [getattr(self, "last_bars", None), self.bars_anchor,
                getattr(self, "step_label", None), getattr(self, "last_strip", None)]
        strip = getattr(self, "last_strip", None)
        if strip is not None:
            gone += [strip.ptr, strip.u_text]
        gone = [m for m in gone if m is not None and self.is_shown(m)]
        # the last step leaves, then the text comes where it was (never over it half-faded)
        if gone:                     # (a beat run alone may have nothing to clear)
            self.play(*[FadeOut(m) for m in gone], run_time=0.3)
        self.play(FadeIn(out, shift=0.1 * UP), run_time=0.4)
        self.hold(also=g.text[len(g.prompt):])
