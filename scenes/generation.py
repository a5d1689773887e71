"""Generation: the whole model as one loop — predict, sample, append, repeat.

``manim render scenes/generation.py`` renders :class:`GenerationScene`:

1. ``beat_pipeline`` — the model as a stack, read from the model: tokens → embedding
   (vocab × d_model) → N × (attention, MLP) with the real N → final norm and unembedding →
   softmax at temperature T → a seeded sample.
2. ``beat_steps`` — ``steps`` real steps of generation (:func:`tensors.generate.generate`):
   each step runs the model on the text so far, shows the real top next tokens and their
   probabilities, draws one token with the seed, and appends it. The next step reads the
   grown text, tokenized again by the model's tokenizer (exactly what the model sees).
3. ``beat_result`` — the text the loop wrote.

Knobs: ``prompt``, ``model``, ``steps``, ``temperature``, ``seed``, ``top_k`` (sample only
among the k most likely; None = the whole vocabulary), ``n_bars``. Section ``[generation]``.
"""
from __future__ import annotations

from typing import Annotated, ClassVar

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UL, UP, CurvedArrow, FadeIn, FadeOut, UpdateFromAlphaFunc,
                   linear, SurroundingRectangle,
                   Transform, VGroup, config)

from scenes.kit.pieces import ProbabilityBars, TokenBoxes, box, down_arrow
from scenes.kit.course.spec import Range
from scenes.kit.scene import GPTScene, beat
from scenes.kit.text import num_text, shape_str, token_label
from scenes.kit.theme import THEME, pct
from tensors.generate import Generation, Step, check_temperature, generate


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
        "draw": "Draw one token from that distribution (T = {T}, seed {seed}): “{tok}”, "
                "probability {p}.",
        "append": "Append it and run the whole model again on the longer text.",
        "loop": "Predict, sample, append, repeat: every step is one full forward pass.",
        "retok": "Step {i}: the tokenizer reads the grown text differently — this is what "
                 "the model sees.",
        "stop": "The model drew its end-of-text token: generation stops.",
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

    # ------------------------------------------------------------------ layout pieces
    def stack(self) -> VGroup:
        info = self.info
        w = 3.7
        pos = (" + learned positions" if info.get("positional") == "learned"
               else "  (RoPE: positions in attention)")
        boxes = [
            box("tokens", w, sub="the text so far, tokenized"),
            box("embedding", w, sub=f"{shape_str(info['vocab_size'], info['d_model'])}{pos}"),
            box(f"{info['n_layer']} × block", w, height=0.78, color=THEME.positive,
                sub=f"attention ({info['n_head']} heads) + MLP ({info['mlp']})"),
            box("final norm + unembedding", w,
                sub=f"{info['norm']}, {shape_str(info['d_model'], info['vocab_size'])}"),
            box(f"softmax, T = {self.T:g}", w, color=THEME.highlight,
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
        tb = TokenBoxes(tokens, font_size=22, max_width=8.0, buff=0.06)
        for i in range(len(tokens)):
            if i >= len(tokens) - appended:
                tb.rects[i].set_fill(THEME.accent, 0.28).set_stroke(THEME.accent)
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
        bars = ProbabilityBars(labels, probs, max_bar_width=5.0, bar_height=0.28,
                               row_buff=0.12, font_size=22, highlight=hl, color=THEME.positive)
        if hl == len(s.top):  # the extra row: say where the drawn token ranks
            rank = num_text(f"rank {s.sampled_rank + 1:,} of {self.info['vocab_size']:,}",
                            18, THEME.dim)
            rank.next_to(bars.pct_texts[hl], RIGHT, buff=0.25)
            bars.add(rank)
        bars.next_to(self.bars_anchor, DOWN, buff=0.2, aligned_edge=LEFT)
        bars.sampled_row = hl
        return bars

    # ------------------------------------------------------------------ beats
    def _layout(self) -> None:
        """Title, the stack and the two anchors of the text and the bars (not on screen)."""
        title = self.text("Generation: predict, sample, append, repeat", size=34)
        title.to_corner(UL, buff=0.35)
        st = self.stack()
        st.scale_to_fit_height(min(st.height, config.frame_height - 2.3))
        st.to_edge(LEFT, buff=0.4).shift(0.15 * DOWN)
        self.title, self.stack_g = title, st
        self.text_anchor = num_text("text", 20, THEME.dim)
        self.text_anchor.move_to([-1.2, 2.45, 0], aligned_edge=LEFT)
        self.bars_anchor = num_text("next token", 20, THEME.dim)
        self.bars_anchor.move_to([-1.2, 0.2, 0], aligned_edge=LEFT)

    def build_stack_g(self) -> None:
        """Title and the model's stack (what beat_pipeline ends with)."""
        self._layout()
        self.add(self.title, self.stack_g)

    @beat(needs=("tag",))
    def beat_pipeline(self) -> None:
        self._layout()
        title, st = self.title, self.stack_g
        self.play(FadeIn(title), run_time=0.4)
        self.show_caption(self.caption_text("pipeline", model=self.info["name"],
                                            n_layer=self.info["n_layer"]))
        self.play(*[FadeIn(b, shift=0.1 * DOWN) for b in st.boxes], FadeIn(st.arrows),
                  run_time=1.0)
        self.wait(1.0)

    def pulse(self, run_time: float) -> None:
        """A highlight running down the stack, box by box: one forward pass (one animation)."""
        boxes = self.stack_g.boxes
        rects = [SurroundingRectangle(b, color=THEME.highlight, buff=0.05, corner_radius=0.1)
                 for b in boxes]
        hl = rects[0].copy()

        def step(m, a):
            k = min(int(a * len(rects)), len(rects) - 1)
            m.become(rects[k])
            m.set_stroke(opacity=0.0 if a >= 1 else 1.0)

        self.play(UpdateFromAlphaFunc(hl, step), run_time=run_time, rate_func=linear)
        self.remove(hl)

    @beat(needs=("tag", "stack_g"))
    def beat_steps(self) -> None:
        g = self.gen
        n_prompt = len(g.steps[0].token_ids)
        self.text_tb = self.text_boxes(g.steps[0].tokens, n_prompt)
        self.play(FadeIn(self.text_anchor), FadeIn(self.text_tb), FadeIn(self.bars_anchor),
                  run_time=0.5)
        self.step_label = None
        self.shown_bars: list[ProbabilityBars] = []
        self.shown_texts: list[list[str]] = [list(g.steps[0].tokens)]
        bars = None
        appended = 0
        for s in g.steps:
            first = s.index == 0
            # the model's own tokens of the text it reads at this step
            if s.tokens != self.text_tb.tokens:
                new_tb = self.text_boxes(s.tokens, n_prompt, appended=max(0, len(s.tokens) - n_prompt))
                if s.retokenized:
                    self.show_caption(self.caption_text("retok", i=s.index + 1))
                self.play(Transform(self.text_tb, new_tb), run_time=0.4)
                self.text_tb.tokens = new_tb.tokens
            lab = num_text(f"step {s.index + 1} of {len(g.steps)}", 22, THEME.highlight)
            lab.move_to(self.bars_anchor.get_center() + 3.4 * RIGHT, aligned_edge=LEFT)
            if first:
                self.show_caption(self.caption_text("step1", vocab=self.info["vocab_size"]))
            elif s.index == 1:
                self.show_caption(self.caption_text("loop"), run_time=0.3)
            anims = [FadeIn(lab)] if self.step_label is None else [Transform(self.step_label, lab)]
            self.play(*anims, run_time=0.3)
            if self.step_label is None:
                self.step_label = lab
            self.pulse(1.2 if first else 0.7)
            new_bars = self.step_bars(s)
            anims = [FadeIn(new_bars, shift=0.1 * RIGHT)]
            if bars is not None:
                anims.append(FadeOut(bars))
            self.play(*anims, run_time=0.5)
            bars = new_bars
            self.shown_bars.append(bars)
            if first:
                self.show_caption(self.caption_text("draw", T=f"{self.T:g}", seed=self.seed,
                                                    tok=token_label(s.sampled),
                                                    p=pct(s.sampled_prob)))
            row = SurroundingRectangle(VGroup(bars.label_texts[bars.sampled_row],
                                              bars.pct_texts[bars.sampled_row]),
                                       color=THEME.accent, buff=0.06)
            self.play(FadeIn(row), run_time=0.3)
            if s.stop:
                self.show_caption(self.caption_text("stop"))
                self.play(FadeOut(row), run_time=0.3)
                self.wait(1.0)
                break
            appended += 1
            grown = list(s.tokens) + [s.sampled]
            new_tb = self.text_boxes(grown, n_prompt, appended=len(grown) - n_prompt)
            fly = bars.label_texts[bars.sampled_row].copy()
            if first:
                self.show_caption(self.caption_text("append"))
            old = self.text_tb
            same = len(old.boxes) == len(new_tb.boxes) - 1 and all(
                np.allclose(a.get_center(), b.get_center(), atol=1e-3)
                for a, b in zip(old.boxes, new_tb.boxes))
            if same:  # earlier boxes stay where they are: only the new one appears
                self.play(fly.animate.move_to(new_tb.boxes[-1]).set_opacity(0),
                          FadeIn(new_tb.boxes[-1]), FadeOut(row), run_time=0.6)
                self.remove(old, new_tb.boxes[-1], fly)
                self.add(new_tb)
                self.text_tb = new_tb
            else:
                self.play(fly.animate.move_to(new_tb.boxes[-1]).set_opacity(0),
                          Transform(self.text_tb, new_tb), FadeOut(row), run_time=0.6)
                self.remove(fly)
                self.text_tb.tokens = new_tb.tokens
            self.shown_texts.append(grown)
            if first:
                self.wait(0.6)
        self.last_bars = bars

    @beat(needs=("tag", "stack_g"))
    def beat_result(self) -> None:
        g = self.gen
        n = sum(1 for s in g.steps if not s.stop)
        self.show_caption(self.caption_text("result", n=n, T=f"{self.T:g}", seed=self.seed))
        body = g.text.replace("\n", "↵")
        out = self.text(f"“{body}”", size=28)
        if out.width > 8.0:
            out.scale_to_fit_width(8.0)
        out.move_to(self.bars_anchor.get_corner(UL) + 0.2 * DOWN, aligned_edge=UL)
        out.text_value = g.text
        self.result_text = out
        self.fade_out_shown(getattr(self, "last_bars", None), self.bars_anchor,
                            getattr(self, "step_label", None), run_time=0.4)
        self.play(FadeIn(out, shift=0.1 * UP), run_time=0.6)
        self.wait(2.0)
