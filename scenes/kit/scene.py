"""GPTScene: the frame of every gpt-scenes scene — knobs, the Trace, beats, captions.

A scene is a list of named *beats* (methods) run in order. A beat declares what it needs
from earlier beats; whatever is not on screen yet is built silently first, so a course may
leave beats out or reorder them::

    from scenes.kit.scene import GPTScene, beat

    class MyScene(GPTScene):
        beats = ("beat_grid", "beat_mask")

        def beat_grid(self): ...          # animates self.grid in

        @beat(needs=("grid",))
        def beat_mask(self): ...          # may assume self.grid is on screen

        def build_grid(self) -> None:     # the same state, without animating
            self.grid = ...
            self.add(self.grid)

A need counts as met when the attribute exists and, if it is a mobject, part of it is on
screen. Knobs come from the class (subclass to change them) or the course config file (see
:mod:`scenes.kit.course`). Scenes never run a model: they ask :func:`tensors.trace` (which
caches) and draw the numbers they get. A render leaves no state behind: the course's theme
and manim's caching switch are put back when it ends.
"""
from __future__ import annotations

import contextlib
from typing import Any, ClassVar, Iterator, Sequence

from manim import DOWN, UP, UR, FadeIn, FadeOut, Mobject, Scene, VGroup, VMobject, config

from tensors import Trace, UserError, exit_on_user_error, trace

from .course.apply import apply_course_config
from .course.knobs import SceneKnobs, beat, beat_needs
from .course.voice import scene_voice
from .encoding import convert_held_frames_once, use_fast_encoder
from .ledger import LedgerMixin
from .subtitles import CaptionTimeline, reading_time
from .text import flat_text, markup, wrap_lines
from .theme import THEME, theme_saved
from .voice import Narrator

__all__ = ["GPTScene", "beat", "clear", "render_isolated",
           "read_time", "CAPTION_TOP"]

#: Reading speed assumed for holds: a viewer reads about 3.5 words a second (a caption
#: of 15 words is read in ~4.3 s); a hold is never longer than that.
WORDS_PER_SECOND = 3.5


def read_time(s: str) -> float:
    """Seconds to read ``s`` once: ``0.6 + words / WORDS_PER_SECOND``.

    >>> round(read_time("one two three four five six seven"), 2)
    2.6
    """
    return 0.6 + len(s.split()) / WORDS_PER_SECOND


#: y (frame units) above which the content of a beat stays: the two-line caption zone
#: is below it (see :meth:`GPTScene.caption_mobject`).
CAPTION_TOP = -2.75

@contextlib.contextmanager
def render_isolated(scene: "GPTScene") -> Iterator[None]:
    """One render's changes to shared state undone when it ends: the theme a course set,
    and manim's partial-movie cache switch (off while a scene with ``_no_cache`` plays)."""
    saved = config.disable_caching
    with theme_saved():
        try:
            if scene._no_cache:
                config.disable_caching = True
            yield
        finally:
            config.disable_caching = saved


def paint_no_skipped_frames(renderer: Any) -> None:
    """A dry run with every animation skipped paints no pixels inside ``play``/``wait``:
    manim's cairo renderer draws the static background and the end frame of every play even
    when it skips it (``update_frame`` ignores skipping by default) — a third of a dry run's
    time, for frames nobody sees. A frame asked for outside a play (a still at the end,
    :func:`scenes.kit.checks.beat_stills`) is drawn in full, from a clean canvas."""
    play, update = renderer.play, renderer.update_frame
    state = {"in_play": False}

    def quiet_play(*args: Any, **kwargs: Any) -> None:
        state["in_play"] = True
        try:
            play(*args, **kwargs)
        finally:
            state["in_play"] = False
            renderer.static_image = None

    def quiet_update(*args: Any, **kwargs: Any) -> None:
        if not (state["in_play"] and renderer.skip_animations):
            update(*args, **kwargs)

    def quiet_frame() -> Any:
        # a skipped play's frames are dropped unread (the static image, the end frame):
        # the canvas itself, not a copy of its 8 MB per call
        if state["in_play"] and renderer.skip_animations:
            return renderer.camera.pixel_array
        return get_frame()

    get_frame = renderer.get_frame
    renderer.play, renderer.update_frame, renderer.get_frame = quiet_play, quiet_update, quiet_frame


class GPTScene(LedgerMixin, SceneKnobs, Scene):
    """Base scene. Subclasses set ``beats`` and implement one method per beat; a beat that
    shows an equation records it with ``self.equation(...)`` (:mod:`scenes.kit.ledger`)."""

    #: (not a knob) manim's partial-movie cache hashes every mobject of every play(); for
    #: scenes of many numbers that costs more than rendering them. Off for this render only.
    _no_cache: ClassVar[bool] = False
    #: (not a knob) ``W_Q``, ``d_head`` in :meth:`text` get real subscripts.
    _subscripts: ClassVar[bool] = False
    #: (not a knob) the most prompt tokens the scene can draw (None: any), and why; a longer
    #: prompt is refused from its token count, before the model runs.
    _max_prompt_tokens: ClassVar[int | None] = None
    _max_prompt_why: ClassVar[str] = ""

    trace: Trace

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        use_fast_encoder()  # before Scene.__init__ resolves the encoder settings
        convert_held_frames_once()
        super().__init__(*args, **kwargs)
        if config.dry_run and getattr(self.renderer, "_original_skipping_status", False):
            paint_no_skipped_frames(self.renderer)

    def render(self, preview: bool = False) -> Any:
        with render_isolated(self):
            return super().render(preview)

    # ------------------------------------------------------------------ the frame of a scene
    def construct(self) -> None:
        with exit_on_user_error("manim render"):
            apply_course_config(self)
            self.camera.background_color = THEME.background
            self.narration_start()  # a bad voice fails before the model loads
            self.check_prompt_length(self.prompt, self.model)
            self.trace = self.load_trace()
            self.ledger = []
            self._current_beat = "prepare"
            self.prepare()
            for name in self.beats:
                self.run_beat(name)
            self.narration_end()

    def run_beat(self, name: str) -> None:
        """Build what beat ``name`` needs and is not on screen, silently; run it; end it."""
        self._current_beat = f"{type(self).__name__}.{name}"
        self.ensure(*beat_needs(type(self), name))
        getattr(self, name)()
        self.end_beat(name)

    def ensure(self, *needs: str) -> None:
        """Build each need that is not met yet with ``build_<need>()`` (no animation)."""
        for need in needs:
            if not self.has(need):
                getattr(self, f"build_{need}")()

    def has(self, need: str) -> bool:
        """Whether state ``need`` exists (and, for mobjects — one, or a list or dict of
        them — part of it is on screen)."""
        v = getattr(self, need, None)
        if v is None:
            return False
        items = list(v.values()) if isinstance(v, dict) else v
        if isinstance(items, (list, tuple)) and items and \
                all(isinstance(m, Mobject) for m in items):
            return any(self.is_shown(m) for m in items)
        return self.is_shown(v) if isinstance(v, Mobject) else True

    def is_shown(self, mob: Mobject) -> bool:
        """Whether any part of ``mob`` is on screen."""
        shown = set(self.get_mobject_family_members())
        return any(m in shown for m in mob.get_family())

    @classmethod
    def check_prompt_length(cls, prompt: Any, model: Any, n_tokens: int | None = None) -> None:
        """Refuse (one-line :class:`UserError`) a prompt longer than the scene draws, counted
        with the model's tokenizer (no model run) unless ``n_tokens`` is given."""
        limit = cls._max_prompt_tokens
        if limit is None:
            return
        if n_tokens is None:
            if not isinstance(prompt, str) or not prompt.strip():
                return                    # the capture says what is wrong with it
            from tensors.extract import tokenizer

            n_tokens = len(tokenizer(model)(prompt)["input_ids"])
        if n_tokens > limit:
            why = f" ({cls._max_prompt_why})" if cls._max_prompt_why else ""
            raise UserError(f"the prompt has {n_tokens} tokens; this scene draws up to "
                            f"{limit}{why}, so use a shorter prompt")

    def load_trace(self, prompt: str | None = None) -> Trace:
        """The Trace for ``prompt`` (default: the scene's), from the cache when possible."""
        return trace(prompt or self.prompt, self.model, device=self.device)

    def prepare(self) -> None:
        """Compute what the beats share (selections, layouts) before the first beat."""

    @classmethod
    def model_problem(cls, t: Trace, get: Any) -> tuple[str, str] | None:
        """(knob, what is allowed) for a knob value this model or prompt cannot take (a layer
        it lacks …), reading values with ``get(name)``; None when all fit. The course check
        calls it with the scene's trace before rendering; scenes with more such knobs override
        it. By default a ``layer`` or ``head`` knob must name one the model has."""
        info = t.info
        for knob, n, what in (("layer", info["n_layer"], "layers"),
                              ("head", info["n_head"], "heads")):
            v = get(knob) if hasattr(cls, knob) else None
            if v is not None and not -n <= int(v) < n:
                return knob, f"must be 0 to {n - 1}: {info['name']} has {n} {what}"
        return None

    def end_beat(self, name: str) -> None:
        """Called after every beat: remember when it ended (video seconds), then a slide
        break when rendered with manim-slides. The last beat keeps its caption on screen for
        its reading time (inside the beat: no tail slide after it)."""
        if list(self.beats)[-1:] == [name]:
            self.caption_leaves()
        self.narration_wait()
        self.beat_times = getattr(self, "beat_times", {})
        self.beat_times[name] = float(self.renderer.time)
        next_slide = getattr(self, "next_slide", None)
        if callable(next_slide):
            next_slide()

    # ------------------------------------------------------------------ subtitles and voice
    # Issue 15. Every caption becomes a subtitle cue (Manim writes <scene>.srt next to the
    # video) from when it appears until it is replaced or removed; with $GPT_SCENES_VOICE=1
    # (./render.sh --voice, a course's [voice]) it is also spoken, and a beat lasts at least
    # as long as its speech. Hooks: construct calls narration_start/narration_end, end_beat
    # calls narration_wait, show_caption calls caption_event, remove notices the caption go.
    #
    # Issue 20, reading time — ONE place: whatever makes the caption leave (show_caption's
    # fade-out, clear, fade_out_shown, any FadeOut of it in a scene's play, a remove, the
    # end of the scene) goes through caption_leaves first, which waits until the caption
    # has been spoken and fully visible for reading_time(text, pace) seconds.
    def narration_start(self) -> None:
        """Start the scene's subtitle timeline and, if narration is on, its narrator."""
        self._timeline = CaptionTimeline.for_scene(self)
        # $GPT_SCENES_VOICE (./render.sh --voice) or the course's [voice]; a bad voice is a
        # one-line UserError (exit 2)
        voice = scene_voice(getattr(self, "_voice_settings", None))
        self._narrator = Narrator(self, voice) if voice is not None else None
        self._caption_leaving: Mobject | None = None
        self._caption_left: Mobject | None = None
        self._in_play = False

    def caption_event(self, s: str) -> None:
        """Caption ``s`` is about to appear (replacing ``self._caption``): finish the speech
        before it, open its cue, speak it. Any show_caption override calls this first."""
        if getattr(self, "_timeline", None) is None:
            return
        self.narration_wait()
        self._caption_leaving = getattr(self, "_caption", None)
        self._timeline.show(s)
        if self._narrator is not None:
            self._narrator.say(s)

    def caption_settled(self, cap: Mobject) -> None:
        """Caption ``cap`` has faded in: it is fully visible from now (its reading time
        counts from here)."""
        self._caption = cap
        self._caption_since = float(self.renderer.time)
        if getattr(self, "_timeline", None) is not None:
            self._timeline.settled()

    def caption_leaves(self) -> None:
        """The caption on screen is about to go (fade out, be removed, the scene ends): wait
        until it has been spoken and fully visible for its reading time
        (:func:`scenes.kit.subtitles.reading_time` × ``pace``); its cue's fully-visible
        time ends now. Once per caption."""
        cap = getattr(self, "_caption", None)
        if cap is None or cap is getattr(self, "_caption_left", None) or not self.is_shown(cap):
            return
        self._caption_left = cap
        self.narration_wait()
        need = reading_time(getattr(cap, "text", "") or "", self.pace_factor())
        left = need - (float(self.renderer.time) - getattr(self, "_caption_since", 0.0))
        if left > 1e-3:
            Scene.wait(self, left)
        if getattr(self, "_timeline", None) is not None:
            self._timeline.leaving()

    def pace_factor(self) -> float:
        """The course's ``pace`` (1 = every caption gets its full reading time)."""
        return float(getattr(self, "pace", 1.0) or 1.0)

    def play(self, *args: Any, **kwargs: Any) -> None:
        """Scene.play; an animation that removes the caption (a FadeOut of it, alone or in a
        group) first lets it be read (:meth:`caption_leaves`)."""
        cap = getattr(self, "_caption", None)
        if cap is not None and not self._in_play_flag() and _removes(args, cap):
            self.caption_leaves()
        was, self._in_play = self._in_play_flag(), True
        try:
            super().play(*args, **kwargs)
        finally:
            self._in_play = was

    def _in_play_flag(self) -> bool:
        return bool(getattr(self, "_in_play", False))

    def narration_wait(self) -> None:
        """Wait until the narration so far has been spoken (no cut-off sentences)."""
        if getattr(self, "_narrator", None) is not None:
            self._narrator.finish()
        cap = getattr(self, "_caption", None)
        if getattr(self, "_timeline", None) is not None and cap is not None \
                and cap is not self._caption_leaving and not self.is_shown(cap):
            self._timeline.hide()  # the caption went some other way than remove()

    def narration_end(self) -> None:
        """End of the scene: the last caption read and spoken to its end, the soundtrack as
        long as the video, the last cue closed."""
        self.caption_leaves()
        if getattr(self, "_narrator", None) is not None:
            self._narrator.close()
        if getattr(self, "_timeline", None) is not None:
            self._timeline.end()

    def remove(self, *mobjects: Mobject) -> "GPTScene":
        cap = getattr(self, "_caption", None)
        gone = cap is not None and any(m is cap for m in mobjects)
        if gone and not self._in_play_flag() and getattr(self, "_timeline", None) is not None:
            self.caption_leaves()  # removed outright (not faded): read first
        super().remove(*mobjects)
        if getattr(self, "_timeline", None) is not None and gone and \
                cap is not self._caption_leaving:
            self._timeline.hide()  # the caption faded out (FadeOut, clear) or was removed
        return self

    # ------------------------------------------------------------------ shared state
    def make_tag(self) -> VMobject:
        """The top-right tag of this scene (see :meth:`model_tag`)."""
        return self.model_tag()

    def build_tag(self) -> None:
        self.tag = self.make_tag()
        self.add(self.tag)

    def fade_out_shown(self, *mobs: Any, run_time: float = 0.4) -> None:
        """Fade out those of ``mobs`` that are on screen (a beat before may not have run)."""
        on = [m for m in mobs if m is not None and self.is_shown(m)]
        if on:
            _spoken_before_gone(self, on)
            self.play(*[FadeOut(m) for m in on], run_time=run_time)

    # ------------------------------------------------------------------ text
    def text(self, s: str, size: float | None = None, color: Any = None) -> VMobject:
        """Text in the theme font as one flat path (:func:`scenes.kit.text.flat_text`)."""
        if self._subscripts:
            return flat_text(markup(s), size or THEME.text_size, color or THEME.text, markup=True)
        return flat_text(s, size or THEME.text_size, color or THEME.text)

    def caption_text(self, key: str, **fmt: Any) -> str:
        """Caption ``key`` from :attr:`captions` (course overrides win), formatted with ``fmt``."""
        return self.captions[key].format(**fmt)

    def caption_mobject(self, s: str) -> VMobject:
        """The caption ``s`` as drawn: centred at the bottom edge in the one caption size;
        too long for one line, it wraps to two (never shrinks)."""
        lines = wrap_lines(s, THEME.caption_size, config.frame_width - 1.0)
        parts = [self.text(l, size=THEME.caption_size) for l in lines]
        cap = parts[0] if len(parts) == 1 else VGroup(*parts).arrange(DOWN, buff=0.14)
        cap.text = s
        cap.lines = lines
        return cap.to_edge(DOWN, buff=0.3)

    def show_caption(self, s: str, run_time: float = 0.6, extra: Sequence[Any] = ()) -> VMobject:
        """Replace the bottom caption with ``s``: the old one (once read, see
        :meth:`caption_leaves`) fades out first, then the new one fades in (two sentences
        are never on screen together). ``extra``: animations that play while the new caption
        fades in (the picture it speaks of, so the stage is not waiting on the caption)."""
        old = getattr(self, "_caption", None)
        cap = self.caption_mobject(s)
        if old is not None and old in self.mobjects:
            self.play(FadeOut(old), run_time=run_time * 0.4)
            run_time *= 0.6
        self.caption_event(s)  # its subtitle cue starts as it fades in
        self.play(self.caption_in(cap), *extra, run_time=run_time)
        self.caption_settled(cap)
        return cap

    def caption_in(self, cap: VMobject) -> Any:
        """The animation that brings caption ``cap`` in (a 3D scene fixes it in the frame)."""
        return FadeIn(cap, shift=0.1 * UP)

    def hold(self, minimum: float = 0.5, also: str = "") -> None:
        """Wait until the caption (and ``also``, more text just shown) has had time to be
        read — :func:`read_time` since the caption appeared — and at least ``minimum``."""
        cap = getattr(self, "_caption", None)
        need = read_time(getattr(cap, "text", "") or "") + (read_time(also) - 0.6 if also else 0)
        seen = float(self.renderer.time) - getattr(self, "_caption_since", 0.0)
        self.wait(max(minimum, need - seen) * self.pace_factor())

    def wait_read(self, k: float = 1.0) -> None:
        """A reading pause of ``k`` × the scene's ``pause`` knob × ``pace`` (none when 0)."""
        seconds = float(getattr(self, "pause", 0) or 0) * k * self.pace_factor()
        if seconds > 0:
            self.wait(seconds)

    def model_tag(self, *extra: str) -> VMobject:
        """Top-right tag naming the model (read from the trace: its name, and "4-bit,
        dequantised" when the weights were dequantised from a quantised file) and e.g.
        layer/head."""
        info = self.trace.info
        name = info["name"]
        if info.get("quantization"):
            q = str(info["quantization"])
            name += " (4-bit, dequantised)" if "4-bit" in q else f" ({q})"
        tag = self.text("  ·  ".join([name, *extra]), size=THEME.small_size, color=THEME.dim)
        return tag.to_corner(UR, buff=0.3)


def clear(scene: Scene, *keep: Any, run_time: float = 0.5) -> None:
    """Fade out everything on screen except ``keep``."""
    gone = [m for m in scene.mobjects if m not in keep]
    if gone:
        _spoken_before_gone(scene, gone)
        scene.play(*[FadeOut(m) for m in gone], run_time=run_time)


def _spoken_before_gone(scene: Scene, gone: list[Any]) -> None:
    """A caption about to be faded out is first read and spoken to its end
    (:meth:`GPTScene.caption_leaves`)."""
    cap = getattr(scene, "_caption", None)
    if cap is not None and any(m is cap for m in gone) and hasattr(scene, "caption_leaves"):
        scene.caption_leaves()


def _removes(anims: Any, cap: Mobject) -> bool:
    """Whether any of ``anims`` (animations, groups of them, builders) removes ``cap`` or a
    mobject that holds it (a FadeOut, Uncreate … — Manim's ``remover`` animations)."""
    for a in anims:
        inner = getattr(a, "animations", None)
        if inner is not None and _removes(inner, cap):
            return True
        mob = getattr(a, "mobject", None)
        if getattr(a, "remover", False) and isinstance(mob, Mobject) and \
                any(m is cap for m in mob.get_family()):
            return True
    return False
