"""Softmax with temperature, on the real next-token logits.

``manim render scenes/softmax_temperature.py`` renders :class:`SoftmaxTemperatureScene`:

1. ``beat_logits`` — the prompt's tokens and the model's real scores (logits) for the
   ``top_k`` most likely next tokens, out of its whole vocabulary.
2. ``beat_softmax`` — the formula p_i = e^{z_i/T} / Σ_j e^{z_j/T} and the real probabilities
   at T = 1 as bars (the mass of every other token is shown too).
3. ``beat_sweep`` — T swept through ``temperatures`` (with in-between values); the bars are
   the real softmax at each T. The most likely token never changes: greedy decoding
   (argmax) does not depend on T; T changes the distribution we *sample* from.
4. ``beat_samples`` — for each temperature, ``n_samples`` seeded draws of the next token
   from the real distribution, and a seeded continuation of ``steps`` tokens
   (:mod:`tensors.generate`; the same seed gives the same draws).

Knobs: ``prompt``, ``model``, ``temperatures``, ``top_k``, ``seed``, ``n_samples``,
``steps`` (tokens per continuation; 0 = none). Section ``[softmax_temperature]``.
"""
from __future__ import annotations

from typing import Annotated, ClassVar, Sequence

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UL, UP, FadeIn, FadeOut, Text, VGroup, Write,
                   config)

from scenes.kit.analysis.output import check_temperatures, temperature_path
from scenes.kit.pieces import Bars, TokenBoxes, formula_softmax_T, t_label
from scenes.kit.course.spec import Range
from scenes.kit.scene import GPTScene, beat, clear
from scenes.kit.text import num_text, token_label
from scenes.kit.theme import THEME, fmt, mass_text
from tensors.generate import distribution, generate, greedy, sample, token_strs


class SoftmaxTemperatureScene(GPTScene):
    config_section = "softmax_temperature"
    beats = ("beat_logits", "beat_softmax", "beat_sweep", "beat_samples")

    #: Temperatures visited by the sweep and used for the samples (each > 0).
    temperatures: ClassVar[Annotated[Sequence[float], Range(0, above=True, min_len=1)]] = (0.1, 1.0, 5.0)
    #: How many of the most likely next tokens get a bar.
    top_k: ClassVar[Annotated[int, Range(1, 12)]] = 8
    #: Seed of the draws (numpy PCG64, see tensors.generate).
    seed: ClassVar[Annotated[int, Range(0)]] = 0
    #: Draws of the next token shown per temperature.
    n_samples: ClassVar[Annotated[int, Range(1, 16)]] = 10
    #: Tokens of seeded continuation shown per temperature (0 = none).
    steps: ClassVar[Annotated[int, Range(0, 12)]] = 4
    #: In-between temperatures per leg of the sweep (smoothness; each is a real softmax).
    sweep_between: ClassVar[Annotated[int, Range(0, 8)]] = 2

    captions: ClassVar[dict[str, str]] = {
        "logits": "{model} scores all {vocab:,} tokens it knows; these are the {k} highest "
                  "scores (logits) for what comes after the prompt.",
        "softmax": "Softmax turns scores into probabilities. At T = 1 this is the model's own "
                   "distribution.",
        "sweep": "T changes the distribution we sample from: low T sharpens it, high T "
                 "flattens it.",
        "greedy": "The order never changes: greedy decoding (the argmax, “{tok}”) picks "
                  "the same token at every T.",
        "samples": "{n} draws of the next token at each T, seed {seed}: the same seed gives "
                   "the same draws.",
        "continue": "Sampling token after token (seed {seed}): the text each T produces.",
    }

    # ------------------------------------------------------------------ data
    def prepare(self) -> None:
        self.temps = check_temperatures(self.temperatures)
        t = self.trace
        z = t.logits[-1]
        self.top_ids = [int(i) for i in np.argsort(-z, kind="stable")[:self.top_k]]
        self.top_strs = token_strs(t, self.top_ids)
        self.top_logits = [float(z[i]) for i in self.top_ids]
        self.greedy_id = greedy(t)
        self.path = temperature_path(self.temps, self.sweep_between)
        # the real probabilities of the shown tokens at every temperature shown
        self.probs_at = {T: distribution(t, T) for T in sorted(set(self.path) | set(self.temps))}
        self.samples = {T: [int(i) for i in sample(t, T, seed=self.seed, n=self.n_samples)]
                        for T in self.temps}
        ids = sorted({i for v in self.samples.values() for i in v})
        self.sample_strs = dict(zip(ids, token_strs(t, ids)))
        self.continuations = {}
        if self.steps:
            for T in self.temps:
                self.continuations[T] = generate(self.prompt, self.model, steps=self.steps,
                                                 temperature=T, seed=self.seed,
                                                 device=self.device)

    def shown_probs(self, T: float) -> np.ndarray:
        return self.probs_at[T][self.top_ids]

    # ------------------------------------------------------------------ beats
    def _heading(self) -> None:
        t = self.trace
        title = self.text("Softmax with temperature", size=36).to_corner(UL, buff=0.35)
        toks = TokenBoxes(t.tokens, font_size=26, max_width=10.5)
        q = num_text("→ ?", 26, THEME.highlight)
        row = VGroup(toks, q).arrange(RIGHT, buff=0.2).next_to(title, DOWN, buff=0.35)
        row.to_edge(LEFT, buff=0.5)
        self.title, self.prompt_row = title, row

    def _logit_table(self) -> None:
        fs = 24
        rows = VGroup()
        for s, z in zip(self.top_strs, self.top_logits):
            lab = num_text(token_label(s), fs, THEME.text)
            val = num_text(fmt(z), fs, THEME.positive if z >= 0 else THEME.negative)
            val.value = z
            rows.add(VGroup(lab, val))
        lw = max(r[0].width for r in rows)
        for i, r in enumerate(rows):
            y = -i * 0.44
            r[0].move_to([lw - r[0].width / 2, y, 0])
            r[1].move_to([lw + 0.35 + r[1].width / 2, y, 0])
        head = VGroup(num_text("token", 20, THEME.dim), num_text("logit z", 20, THEME.dim))
        head[0].move_to([lw - head[0].width / 2, 0.5, 0])
        head[1].move_to([lw + 0.35 + head[1].width / 2, 0.5, 0])
        table = VGroup(head, rows)
        table.next_to(self.prompt_row, DOWN, buff=0.45).to_edge(LEFT, buff=0.7)
        self.logit_table, self.logit_values = table, VGroup(*[r[1] for r in rows])

    def build_prompt_row(self) -> None:
        self._heading()
        self.add(self.title, self.prompt_row)

    def build_logit_table(self) -> None:
        """Title, prompt and the logit table (what beat_logits ends with)."""
        self.ensure("prompt_row")
        self._logit_table()
        self.add(self.logit_table)

    def build_bars(self) -> None:
        """Formula, bars at T = 1 and the rest mass (what beat_softmax ends with)."""
        self.ensure("logit_table")
        self._bars()
        self.add(self.formula, self.bars, self.t_text, self.rest_text)

    @beat(needs=("tag",))
    def beat_logits(self) -> None:
        t = self.trace
        self._heading()
        self.play(FadeIn(self.title), FadeIn(self.prompt_row), run_time=0.6)
        self._logit_table()
        table = self.logit_table
        self.show_caption(self.caption_text("logits", model=t.info["name"],
                                            vocab=t.info["vocab_size"], k=self.top_k))
        self.play(FadeIn(table, shift=0.2 * RIGHT), run_time=0.8)
        self.wait(1.2)

    def _bars(self) -> None:
        formula = formula_softmax_T().to_edge(RIGHT, buff=0.6).set_y(1.3)
        self.formula = formula
        rows = self.logit_table[1]
        bars = Bars(self.top_strs, self.shown_probs(1.0), max_bar_width=4.2,
                               bar_height=0.3, row_buff=0.14, font_size=22, highlight=0)
        # align each bar with its token's row of the logit table
        bars.shift(rows[0][1].get_right() + 0.6 * RIGHT - bars.bars[0].get_left())
        bars.shift((rows[0].get_y() - bars.bars[0].get_y()) * UP)
        self.bars = bars
        self.T = 1.0
        self.t_text = self.text(t_label(1.0), size=30, color=THEME.highlight)
        self.t_text.next_to(formula, DOWN, buff=0.35)
        self.rest_text = self.rest(1.0)

    @beat(needs=("tag", "logit_table"))
    def beat_softmax(self) -> None:
        self._bars()
        self.show_caption(self.caption_text("softmax"))
        self.play(Write(self.formula), run_time=1.0)
        self.play(FadeIn(self.bars, shift=0.2 * RIGHT), FadeIn(self.t_text),
                  FadeIn(self.rest_text), run_time=0.8)
        self.wait(1.0)

    def rest(self, T: float) -> Text:
        """The mass of every token without a bar, at T (real: 1 − the shown bars)."""
        others = self.trace.info["vocab_size"] - self.top_k
        rest = np.ones(self.trace.info["vocab_size"], dtype=bool)
        rest[self.top_ids] = False
        mass = float(self.probs_at[T][rest].sum())
        t = num_text(f"all other {others:,} tokens together: {mass_text(mass)}", 22, THEME.dim)
        t.next_to(self.logit_table, DOWN, buff=0.3).align_to(self.logit_table, LEFT)
        t.value = mass
        return t

    def set_temperature(self, T: float, run_time: float = 0.7) -> None:
        """Bars follow the real softmax at T; the T label and the rest-mass line are swapped
        (cross-fades: morphing whole text outlines costs more than it shows)."""
        new_t = self.text(t_label(T), size=30, color=THEME.highlight).move_to(self.t_text)
        new_rest = self.rest(T)
        anims, finish = self.bars.retarget(self.shown_probs(T))
        self.play(*anims, FadeOut(self.t_text), FadeIn(new_t), FadeOut(self.rest_text),
                  FadeIn(new_rest), run_time=run_time)
        finish(self)
        self.t_text, self.rest_text = new_t, new_rest
        self.T = T

    @beat(needs=("tag", "bars"))
    def beat_sweep(self) -> None:
        self.show_caption(self.caption_text("sweep"))
        for T in self.path[1:]:
            slow = T in self.temps
            self.set_temperature(T, run_time=0.7 if slow else 0.35)
            if slow:
                self.wait(0.6)
        if self.T != 1.0:
            self.set_temperature(1.0)
        self.show_caption(self.caption_text("greedy", tok=token_label(self.top_strs[0])))
        self.wait(1.5)

    @beat(needs=("tag", "prompt_row"))
    def beat_samples(self) -> None:
        clear(self, self.title, self.tag, self.prompt_row, getattr(self, "_caption", None))
        x_lab, x_block = -config.frame_width / 2 + 0.6, -config.frame_width / 2 + 2.4
        max_w = config.frame_width / 2 - x_block - 0.5
        fs = 26
        lines = VGroup()
        self.sample_rows = []
        for T in self.temps:
            ids = self.samples[T]
            n_top = sum(i == self.greedy_id for i in ids)
            lab = self.text(t_label(T), size=26, color=THEME.highlight)
            draws = num_text("  ".join(token_label(self.sample_strs[i]) for i in ids), fs,
                             THEME.text)
            draws.ids = ids
            if draws.width > max_w:
                draws.scale_to_fit_width(max_w)
            count = num_text(f"argmax “{token_label(self.sample_strs.get(self.greedy_id, ''))}”"
                             f" drawn {n_top} of {len(ids)}"
                             if self.greedy_id in self.sample_strs else
                             f"argmax drawn 0 of {len(ids)}", 20, THEME.dim)
            block = VGroup(draws, count).arrange(DOWN, aligned_edge=LEFT, buff=0.1)
            line = VGroup(lab, block)
            lines.add(line)
            self.sample_rows.append(draws)
        top = self.prompt_row.get_bottom()[1] - 0.55
        for i, line in enumerate(lines):
            y = top - i * (1.5 if self.continuations else 1.1)
            line[0].move_to([x_lab + line[0].width / 2, y - line[0].height / 2, 0])
            line[1].move_to([x_block + line[1].width / 2, y - line[1].height / 2, 0])
            line[1].align_to(line[0], UP)
        self.show_caption(self.caption_text("samples", n=self.n_samples, seed=self.seed))
        for line in lines:
            self.play(FadeIn(line, shift=0.15 * RIGHT), run_time=0.5)
        self.wait(1.5)
        if not self.continuations:
            return
        cont = VGroup()
        for T, line in zip(self.temps, lines):
            g = self.continuations[T]
            ends = any(s.stop for s in g.steps)
            txt = "…" + g.text[len(g.prompt):].replace("\n", "↵")
            if ends:
                txt += "  [end of text]"
            c = num_text(txt, 24, THEME.accent)
            c.tokens = g.appended
            if c.width > max_w:
                c.scale_to_fit_width(max_w)
            cont.add(c)
        self.cont_rows = cont
        self.show_caption(self.caption_text("continue", seed=self.seed))
        for c, line in zip(cont, lines):
            c.next_to(line[1][1], DOWN, buff=0.1, aligned_edge=LEFT)
        self.play(*[FadeIn(c, shift=0.1 * DOWN) for c in cont], run_time=0.8)
        self.wait(2.0)
