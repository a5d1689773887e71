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
from typing import Any, ClassVar, Iterator

from manim import DOWN, UP, UR, FadeIn, FadeOut, Mobject, Scene, VMobject, config

from tensors import Trace, exit_on_user_error, trace

from .course.apply import apply_course_config
from .course.knobs import SceneKnobs, beat, beat_needs
from .ledger import LedgerMixin
from .text import flat_text, markup
from .theme import THEME, theme_saved

__all__ = ["GPTScene", "beat", "clear", "ENCODER_PRESET", "use_fast_encoder", "render_isolated"]

#: x264 preset for the mp4 segments unless the user passes ``--encoder-option preset=…``.
#: 'ultrafast' encodes 1080p60 about 2.3× faster than x264's default 'medium' at the same
#: quality target (manim's crf 23); the files are larger (~1 MB per 10 s at 1080p60).
ENCODER_PRESET = "ultrafast"

_preset_added = False


def use_fast_encoder() -> None:
    """Apply :data:`ENCODER_PRESET` to manim's config when the segments are plain H.264
    (and take it back off for a later transparent/webm render in the same process)."""
    global _preset_added
    opts = dict(config.video_encoder_options)
    h264 = config.video_codec in ("auto", "libx264") and not config.transparent and \
        config.format in ("auto", "mp4", "gif")
    if h264 and "preset" not in opts:
        config.video_encoder_options = {**opts, "preset": ENCODER_PRESET}
        _preset_added = True
    elif not h264 and _preset_added and opts.get("preset") == ENCODER_PRESET:
        del opts["preset"]
        config.video_encoder_options = opts
        _preset_added = False


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


class GPTScene(LedgerMixin, SceneKnobs, Scene):
    """Base scene. Subclasses set ``beats`` and implement one method per beat; a beat that
    shows an equation records it with ``self.equation(...)`` (:mod:`scenes.kit.ledger`)."""

    #: (not a knob) manim's partial-movie cache hashes every mobject of every play(); for
    #: scenes of many numbers that costs more than rendering them. Off for this render only.
    _no_cache: ClassVar[bool] = False
    #: (not a knob) ``W_Q``, ``d_head`` in :meth:`text` get real subscripts.
    _subscripts: ClassVar[bool] = False

    trace: Trace

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        use_fast_encoder()  # before Scene.__init__ resolves the encoder settings
        super().__init__(*args, **kwargs)

    def render(self, preview: bool = False) -> Any:
        with render_isolated(self):
            return super().render(preview)

    # ------------------------------------------------------------------ the frame of a scene
    def construct(self) -> None:
        with exit_on_user_error("manim render"):
            apply_course_config(self)
            self.camera.background_color = THEME.background
            self.trace = self.load_trace()
            self.ledger = []
            self._current_beat = "prepare"
            self.prepare()
            for name in self.beats:
                self.run_beat(name)

    def run_beat(self, name: str) -> None:
        """Build what beat ``name`` needs and is not on screen, silently; run it; end it."""
        self._current_beat = name
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

    def load_trace(self, prompt: str | None = None) -> Trace:
        """The Trace for ``prompt`` (default: the scene's), from the cache when possible."""
        return trace(prompt or self.prompt, self.model, device=self.device)

    def prepare(self) -> None:
        """Compute what the beats share (selections, layouts) before the first beat."""

    def end_beat(self, name: str) -> None:
        """Called after every beat: remember when it ended (video seconds), then a slide
        break when rendered with manim-slides."""
        self.beat_times = getattr(self, "beat_times", {})
        self.beat_times[name] = float(self.renderer.time)
        next_slide = getattr(self, "next_slide", None)
        if callable(next_slide):
            next_slide()

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
        """The caption ``s`` as drawn: at the bottom edge, scaled to fit the frame's width."""
        cap = self.text(s, size=THEME.caption_size)
        max_w = config.frame_width - 1.0
        if cap.width > max_w:
            cap.scale_to_fit_width(max_w)
        cap.text = s
        return cap.to_edge(DOWN, buff=0.35)

    def show_caption(self, s: str, run_time: float = 0.6) -> VMobject:
        """Replace the bottom caption with ``s`` (see :meth:`caption_mobject`)."""
        old = getattr(self, "_caption", None)
        cap = self.caption_mobject(s)
        anims = [FadeIn(cap, shift=0.1 * UP)]
        if old is not None:
            anims.append(FadeOut(old))
        self.play(*anims, run_time=run_time)
        self._caption = cap
        return cap

    def model_tag(self, *extra: str) -> VMobject:
        """Top-right tag naming the model (read from the trace) and e.g. layer/head."""
        parts = [self.trace.info["name"], *extra]
        tag = self.text("  ·  ".join(parts), size=THEME.small_size, color=THEME.dim)
        return tag.to_corner(UR, buff=0.3)


def clear(scene: Scene, *keep: Any, run_time: float = 0.5) -> None:
    """Fade out everything on screen except ``keep``."""
    gone = [m for m in scene.mobjects if m not in keep]
    if gone:
        scene.play(*[FadeOut(m) for m in gone], run_time=run_time)
