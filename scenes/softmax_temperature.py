"""Softmax with temperature, on the real next-token logits.

``manim render scenes/softmax_temperature.py`` renders :class:`SoftmaxTemperatureScene`:

1. ``beat_logits`` — the prompt's tokens and the model's real scores (logits) for the
   ``top_k`` most likely next tokens, out of its whole vocabulary.
2. ``beat_softmax`` — the formula p_i = e^{ℓ_i/T} / Σ_j e^{ℓ_j/T}, a temperature pointer on a
   number line, and the real probabilities at T = 1 as bars — plus one bar for all other
   tokens together, so flattening is visible.
3. ``beat_sweep`` — the pointer slides through ``temperatures``; the bars follow it live,
   every frame the real softmax at the pointer's T. The most likely token never changes:
   greedy decoding (argmax) does not depend on T; T changes the distribution we *sample*
   from.
4. ``beat_samples`` — for each temperature, ``n_samples`` seeded draws of the next token
   from the real distribution, and a seeded continuation of ``steps`` tokens
   (:mod:`tensors.generate`; the same seed gives the same draws).

Knobs: ``prompt``, ``model``, ``temperatures``, ``top_k``, ``seed``, ``n_samples``,
``steps`` (tokens per continuation; 0 = none). Section ``[softmax_temperature]``.
"""
from __future__ import annotations

from typing import Annotated, ClassVar, Sequence

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UP, FadeIn, FadeOut, Line, Triangle,
                   ValueTracker, VGroup, VMobject, Write, config, smooth)

from scenes.kit.analysis.output import check_temperatures, temperature_path
from scenes.kit.pieces import Bars, TokenBoxes, formula_softmax_T, t_label
from scenes.kit.course.spec import Range
from scenes.kit.scene import GPTScene, beat
from scenes.kit.text import displayable, joined_pieces, logit_str, num_text, token_label, wrap_lines
from scenes.kit.theme import THEME, pct_field
from tensors.generate import distribution, generate, greedy, sample, token_strs

ROW = 0.46            # pitch of the table rows (frame units)
FS = 24.0             # table and bar text


class SoftmaxTemperatureScene(GPTScene):
    config_section = "softmax_temperature"
    beats = ("beat_logits", "beat_softmax", "beat_sweep", "beat_samples")

    #: Temperatures visited by the sweep and used for the samples (each > 0).
    temperatures: ClassVar[Annotated[Sequence[float], Range(0, above=True, min_len=1)]] = (0.1, 1.0, 5.0)
    #: How many of the most likely next tokens get a bar.
    top_k: ClassVar[Annotated[int, Range(1, 8)]] = 8
    #: Seed of the draws (numpy PCG64, see tensors.generate).
    seed: ClassVar[Annotated[int, Range(0)]] = 0
    #: Draws of the next token shown per temperature.
    n_samples: ClassVar[Annotated[int, Range(1, 16)]] = 10
    #: Tokens of seeded continuation shown per temperature (0 = none).
    steps: ClassVar[Annotated[int, Range(0, 12)]] = 4
    #: In-between temperatures per leg of the sweep where the bars are recorded (each is a
    #: real softmax; between them the bars still follow the pointer frame by frame).
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
        self.z = np.asarray(t.logits[-1], dtype=np.float64)
        z = self.z
        self.top_ids = [int(i) for i in np.argsort(-z, kind="stable")[:self.top_k]]
        self.top_strs = token_strs(t, self.top_ids)
        self.top_logits = [float(z[i]) for i in self.top_ids]
        self.others = np.ones(len(z), dtype=bool)
        self.others[self.top_ids] = False
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
        lo, hi = min(min(self.temps), 1.0), max(max(self.temps), 1.0)
        self.t_range = (np.log10(lo) - 0.15, np.log10(hi) + 0.15)

    def shown_probs(self, T: float) -> np.ndarray:
        return self.probs(T)[self.top_ids]

    def probs(self, T: float) -> np.ndarray:
        """The real softmax(z / T) over the whole vocabulary (from tensors)."""
        if T not in self.probs_at:
            self.probs_at[T] = distribution(self.trace, T)
        return self.probs_at[T]

    def rest_mass(self, T: float) -> float:
        return float(self.probs(T)[self.others].sum())

    # ------------------------------------------------------------------ layout
    def _heading(self) -> None:
        t = self.trace
        toks = TokenBoxes(t.tokens, font_size=26, max_width=9.5, max_rows=1, keep="end",
                         fill_opacity=0.1)               # the dim ␣ mark reads at 4.6:1 on it
        q = num_text("→ ?", 26, THEME.highlight)
        row = VGroup(toks, q).arrange(RIGHT, buff=0.2)
        row.to_corner(np.array([-1, 1, 0]), buff=0.4).shift(0.35 * DOWN)
        self.prompt_row = row

    def _logit_table(self) -> None:
        rows = VGroup()
        for s, z in zip(self.top_strs, self.top_logits):
            lab = num_text(token_label(displayable(s)), FS, THEME.text)
            val = num_text(logit_str(z), FS, THEME.positive if z >= 0 else THEME.negative)
            val.value = z
            rows.add(VGroup(lab, val))
        others = len(self.z) - self.top_k
        rest_lab = num_text(f"all other {others:,}", FS, THEME.dim)
        lw = max(max(r[0].width for r in rows), rest_lab.width)
        vw = max(r[1].width for r in rows)
        for i, r in enumerate(rows):
            y = -i * ROW
            r[0].move_to([lw - r[0].width / 2, y, 0])
            r[1].move_to([lw + 0.35 + vw - r[1].width / 2, y, 0])
        head = VGroup(num_text("token", 20, THEME.dim), num_text("logit ℓ", 20, THEME.dim))
        head[0].move_to([lw - head[0].width / 2, 0.5, 0])
        head[1].move_to([lw + 0.35 + vw - head[1].width / 2, 0.5, 0])
        table = VGroup(head, rows)
        rest_lab.move_to([lw - rest_lab.width / 2, rows[-1].get_y() - ROW - 0.1, 0])
        VGroup(table, rest_lab).next_to(self.prompt_row, DOWN, buff=0.4).to_edge(LEFT, buff=0.5)
        self.logit_table, self.logit_values = table, VGroup(*[r[1] for r in rows])
        self.rest_label = rest_lab

    def _tline(self) -> None:
        """The temperature number line (log scale), its ticks and the pointer."""
        x0, x1 = 2.2, 6.6
        y = self.formula.get_bottom()[1] - 1.1
        lo, hi = self.t_range
        self.tx = lambda T: x0 + (np.log10(T) - lo) / (hi - lo) * (x1 - x0)
        line = Line([x0, y, 0], [x1, y, 0], color=THEME.dim, stroke_width=2)
        ticks = VGroup()
        for T in sorted(set(self.temps) | {1.0}):
            tk = Line([self.tx(T), y - 0.08, 0], [self.tx(T), y + 0.08, 0], color=THEME.dim,
                      stroke_width=2)
            lab = num_text(f"{T:g}", 20, THEME.dim).next_to(tk, DOWN, buff=0.1)
            ticks.add(VGroup(tk, lab))
        name = num_text("temperature (log scale)", 20, THEME.dim)
        name.next_to(ticks, DOWN, buff=0.12).set_x((x0 + x1) / 2)
        self.tracker = ValueTracker(0.0)               # log10 T
        ptr = Triangle(fill_color=THEME.highlight, fill_opacity=1, stroke_width=0)
        ptr.scale(0.1).rotate(np.pi).move_to([self.tx(1.0), y + 0.16, 0])
        self.t_y = y
        self.pointer = ptr
        self.t_text = self.text(t_label(1.0), size=28, color=THEME.highlight)
        self.t_text.next_to(ptr, UP, buff=0.1)
        self.tline = VGroup(line, ticks, name)

    def _bars(self) -> None:
        self.formula = formula_softmax_T().move_to([4.4, 1.55, 0])
        self._tline()
        rows = self.logit_table[1]
        bars = Bars(self.top_strs, self.shown_probs(1.0), max_bar_width=3.2,
                    bar_height=0.3, row_buff=ROW - 0.3, font_size=FS / 0.8)
        bars.shift(rows[0][1].get_right() + 0.45 * RIGHT - bars.bars[0].get_left())
        bars.shift((rows[0].get_y() - bars.bars[0].get_y()) * UP)
        self.bars = bars
        rest = Bars(["all other tokens"], [self.rest_mass(1.0)], max_bar_width=3.2,
                    bar_height=0.3, font_size=FS / 0.8, color=THEME.dim)
        rest.shift(bars.bars[0].get_left() - rest.bars[0].get_left())
        rest.shift((self.rest_label.get_y() - rest.bars[0].get_y()) * UP)
        self.rest_bar = rest
        self.rest_text = rest.pct_texts[0]
        self.T = 1.0
        self.record(1.0)

    def record(self, T: float) -> None:
        """Ledger: the bars shown at T are softmax(z / T) of the real logits; the last bar
        is the sum of every other token's probability."""
        p = self.probs(T)
        self.entries_at = getattr(self, "entries_at", {})
        self.entries_at[T] = (
            self.equation("softmax", "p_i = e^(z_i/T) / Σ_j e^(z_j/T)", shown=p, z=self.z, T=T),
            self.equation("sum", "all other tokens = Σ p_j (j not shown)", shown=self.rest_mass(T),
                          terms=p[self.others]))

    def bind_bars(self) -> None:
        """Ledger: the percentages on screen now are the entries at the T the label shows
        (the bars' own T), made through the one formatter (bound as they are now: the bars
        change later in the sweep)."""
        T = float(f"{float(10 ** self.tracker.get_value()):.3g}")
        if T not in self.entries_at:
            self.record(T)
        e, rest = self.entries_at[T]
        for i, pt in zip(self.top_ids, self.bars.pct_texts):
            e.bind(pt.copy(), e.say(pct_field(f"shown[{i}]", e.shown[i])))
        rest.bind(self.rest_text.copy(), rest.say(pct_field("shown", rest.shown)))

    def follow(self) -> None:
        """Bars, rest bar, pointer and T label follow the tracker (every frame). The bars
        are computed at the temperature the label shows (T rounded to 3 significant digits,
        as printed), so "T = 1" means the bars at exactly T = 1; the pointer glides."""
        def T() -> float:
            return float(10 ** self.tracker.get_value())

        def shown_T() -> float:
            return float(f"{T():.3g}")

        self.bars.add_updater(lambda m: m.set_values(self.shown_probs(shown_T())))
        self.rest_bar.add_updater(lambda m: m.set_values([self.rest_mass(shown_T())]))
        self.pointer.add_updater(lambda m: m.set_x(self.tx(T())))
        def label(m: VMobject) -> None:
            new = self.text(t_label(shown_T()), size=28, color=THEME.highlight)
            m.become(new.next_to(self.pointer, UP, buff=0.1))
            m.text = new.text                      # what it reads now

        self.t_text.add_updater(label)

    def still(self) -> None:
        for m in (self.bars, self.rest_bar, self.pointer, self.t_text):
            m.update(0)
            m.clear_updaters()

    # ------------------------------------------------------------------ silent builders
    def build_prompt_row(self) -> None:
        self._heading()
        self.add(self.prompt_row)

    def build_logit_table(self) -> None:
        """Prompt and the logit table (what beat_logits ends with)."""
        self.ensure("prompt_row")
        self._logit_table()
        self.add(self.logit_table)

    def build_bars(self) -> None:
        """Formula, T line, bars at T = 1 and the rest (what beat_softmax ends with)."""
        self.ensure("logit_table")
        self._bars()
        self.add(self.formula, self.tline, self.pointer, self.t_text, self.bars,
                 self.rest_bar, self.rest_label)

    # ------------------------------------------------------------------ beats
    @beat(needs=("tag",))
    def beat_logits(self) -> None:
        t = self.trace
        self._heading()
        self.show_caption(self.caption_text("logits", model=t.info["name"],
                                            vocab=t.info["vocab_size"], k=self.top_k))
        self.play(FadeIn(self.prompt_row), run_time=0.5)
        self._logit_table()
        self.play(FadeIn(self.logit_table, shift=0.2 * RIGHT, lag_ratio=0.05), run_time=0.8)
        self.hold()

    @beat(needs=("tag", "logit_table"))
    def beat_softmax(self) -> None:
        self._bars()
        self.show_caption(self.caption_text("softmax"))
        self.play(Write(self.formula), FadeIn(self.tline), run_time=1.0)
        self.play(FadeIn(self.pointer, shift=0.2 * DOWN), FadeIn(self.t_text), run_time=0.4)
        # bars grow out of their logits, then the rest of the vocabulary
        targets = [b.width for b in self.bars.bars]
        for b in self.bars.bars:
            b.stretch_to_fit_width(1e-3, about_edge=LEFT)
        self.play(*[b.animate.stretch_to_fit_width(w, about_edge=LEFT)
                    for b, w in zip(self.bars.bars, targets)],
                  FadeIn(self.bars.pct_texts), run_time=0.8)
        self.play(FadeIn(self.rest_label), FadeIn(self.rest_bar), run_time=0.5)
        self.add(self.bars)
        self.bind_bars()
        self.hold()

    def slide_to(self, T: float, run_time: float) -> None:
        self.play(self.tracker.animate.set_value(float(np.log10(T))), run_time=run_time,
                  rate_func=smooth)
        self.T = T

    @beat(needs=("tag", "bars"))
    def beat_sweep(self) -> None:
        self.show_caption(self.caption_text("sweep"))
        self.tracker.set_value(float(np.log10(self.T)))
        self.follow()
        stops = [T for T in self.path[1:]]
        i = 0
        while i < len(stops):
            # glide through the in-between values to the next chosen temperature
            j = i
            while stops[j] not in self.temps and j < len(stops) - 1:
                j += 1
            for T in stops[i:j + 1]:
                self.record(T)
            self.slide_to(stops[j], run_time=1.2)
            self.bind_bars()
            self.wait(0.6)
            i = j + 1
        if self.T != 1.0:
            self.slide_to(1.0, run_time=1.0)
        self.still()
        self.bind_bars()
        self.show_caption(self.caption_text("greedy", tok=token_label(self.top_strs[0])))
        self.hold()

    @beat(needs=("tag", "prompt_row"))
    def beat_samples(self) -> None:
        keep = [self.tag, self.prompt_row, getattr(self, "_caption", None)]
        gone = [m for m in self.mobjects if m not in keep]
        x_lab = -config.frame_width / 2 + 0.5
        x_block = x_lab + 1.9
        max_w = config.frame_width / 2 - x_block - 0.4
        fs = 24
        lines = VGroup()
        self.sample_rows = []
        for T in self.temps:
            ids = self.samples[T]
            n_top = sum(i == self.greedy_id for i in ids)
            lab = self.text(t_label(T), size=26, color=THEME.highlight)
            text = "   ".join(token_label(displayable(self.sample_strs[i])) for i in ids)
            parts = [num_text(l, fs, THEME.accent) for l in wrap_lines(text, fs, max_w, 2)]
            draws = VGroup(*parts).arrange(DOWN, aligned_edge=LEFT, buff=0.08)
            draws.ids = ids
            argmax = token_label(token_strs(self.trace, [self.greedy_id])[0])
            count = num_text(f"argmax “{argmax}” drawn {n_top} of {len(ids)}", 20, THEME.dim)
            block = VGroup(draws, count).arrange(DOWN, aligned_edge=LEFT, buff=0.1)
            line = VGroup(lab, block)
            lines.add(line)
            self.sample_rows.append(draws)
        cont = VGroup()
        for T in self.temps if self.continuations else ():
            g = self.continuations[T]
            stop = next((s for s in g.steps if s.stop), None)
            txt = "…" + displayable(joined_pieces(g.appended).replace("\n", "↵"))
            if stop is not None:  # the real stop token's own string
                txt += f"  [{stop.sampled}: stop]"
            parts = [num_text(l, fs, THEME.accent) for l in wrap_lines(txt, fs, max_w, 2)]
            c = VGroup(*parts).arrange(DOWN, aligned_edge=LEFT, buff=0.08)
            c.tokens = g.appended
            cont.add(c)
        y = self.prompt_row.get_bottom()[1] - 0.45
        for i, line in enumerate(lines):
            line[0].move_to([x_lab + line[0].width / 2, y - line[0].height / 2, 0])
            line[1].move_to([x_block + line[1].width / 2, 0, 0]).align_to(line[0], UP)
            y = line.get_bottom()[1] - 0.12
            if len(cont):
                cont[i].move_to([x_block + cont[i].width / 2, y - cont[i].height / 2, 0])
                y = cont[i].get_bottom()[1] - 0.12
            y -= 0.25
        self.cont_rows = cont
        self.show_caption(self.caption_text("samples", n=self.n_samples, seed=self.seed))
        # the sweep's picture moves out, then the draws come in where it was (never the
        # two half-faded over each other; the prompt stays: no empty frame between)
        if gone:                     # (a beat run alone may have nothing to clear)
            self.play(*[FadeOut(m) for m in gone], run_time=0.35)
        self.play(FadeIn(lines[0], shift=0.15 * RIGHT), run_time=0.4)
        for line in lines[1:]:
            self.play(FadeIn(line, shift=0.15 * RIGHT), run_time=0.4)
        self.hold()
        if not len(cont):
            return
        self.show_caption(self.caption_text("continue", seed=self.seed))
        self.play(*[FadeIn(c, shift=0.1 * DOWN) for c in cont], run_time=0.8)
        self.hold(also=" ".join(" ".join(g.appended) for g in self.continuations.values()))
