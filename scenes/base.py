"""GPTScene: the base of every gpt-scenes scene — knobs, the Trace, beats, captions.

A scene is a list of named *beats* (methods) run in order. A course author subclasses to
change the knobs (class attributes) or the beats::

    from scenes.attention import AttentionScene

    class MyAttention(AttentionScene):
        prompt = "the quick brown fox jumps over the lazy dog"
        layer, head = 3, 1
        beats = [b for b in AttentionScene.beats if b != "beat_multihead"]

Knobs can also come from the course config file (see :mod:`scenes.course`), section named
by :attr:`GPTScene.config_section`. Scenes never run a model themselves: they ask
:func:`tensors.trace` (which caches) and draw the numbers they get.
"""
from __future__ import annotations

from typing import Any, ClassVar, Sequence

from manim import DOWN, UP, UR, FadeIn, FadeOut, Scene, Text, VGroup, config

from tensors import Trace, exit_on_user_error, trace

from .theme import THEME


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


class GPTScene(Scene):
    """Base scene. Subclasses set ``beats`` and implement one method per beat."""

    #: The prompt run through the model.
    prompt: ClassVar[str] = "The capital of France is"
    #: "auto" (GPT-2 if reachable, else the bundled SmolLM2), a HF id, a directory, "smollm2".
    model: ClassVar[str] = "auto"
    #: None = best available (cuda > mps > cpu).
    device: ClassVar[str | None] = None
    #: Beat method names, run in this order by ``construct``.
    beats: ClassVar[Sequence[str]] = ()
    #: Section of the course config file that overrides this scene's knobs.
    config_section: ClassVar[str] = ""
    #: Caption wording; a course config may override any key (``[captions]`` section).
    captions: ClassVar[dict[str, str]] = {}

    trace: Trace

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        use_fast_encoder()  # before Scene.__init__ resolves the encoder settings
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------------ the frame of a scene
    def construct(self) -> None:
        with exit_on_user_error("manim render"):
            self.apply_course_config()
            self.camera.background_color = THEME.background
            self.trace = self.load_trace()
            self.prepare()
            for name in self.beats:
                getattr(self, name)()
                self.end_beat(name)

    def apply_course_config(self) -> None:
        """Apply the course config (theme, this scene's section). Hook for scenes.course."""
        try:
            from .course import apply_course_config
        except ImportError:
            return
        apply_course_config(self)

    def load_trace(self, prompt: str | None = None) -> Trace:
        """The Trace for ``prompt`` (default: the scene's), from the cache when possible."""
        return trace(prompt or self.prompt, self.model, device=self.device)

    def prepare(self) -> None:
        """Compute what the beats share (selections, layouts) before the first beat."""

    def end_beat(self, name: str) -> None:
        """Called after every beat: a slide break when rendered with manim-slides."""
        next_slide = getattr(self, "next_slide", None)
        if callable(next_slide):
            next_slide()

    # ------------------------------------------------------------------ text helpers
    def text(self, s: str, size: float | None = None, color: str | None = None, **kw: Any) -> Text:
        return light(Text(s, font=THEME.font, font_size=size or THEME.text_size,
                          color=color or THEME.text, **kw))

    def caption_text(self, key: str, **fmt: Any) -> str:
        """Caption ``key`` from :attr:`captions` (course overrides win), formatted with ``fmt``."""
        return self.captions[key].format(**fmt)

    def caption_mobject(self, s: str) -> Any:
        """The caption ``s`` as drawn: at the bottom edge, scaled to fit the frame's width."""
        cap = self.text(s, size=THEME.caption_size)
        max_w = config.frame_width - 1.0
        if cap.width > max_w:
            cap.scale_to_fit_width(max_w)
        return cap.to_edge(DOWN, buff=0.35)

    def show_caption(self, s: str, run_time: float = 0.6) -> Any:
        """Replace the bottom caption with ``s`` (see :meth:`caption_mobject`)."""
        old = getattr(self, "_caption", None)
        cap = self.caption_mobject(s)
        anims = [FadeIn(cap, shift=0.1 * UP)]
        if old is not None:
            anims.append(FadeOut(old))
        self.play(*anims, run_time=run_time)
        self._caption = cap
        return cap

    def model_tag(self, *extra: str) -> Text:
        """Top-right tag naming the model (read from the trace) and e.g. layer/head."""
        parts = [self.trace.info["name"], *extra]
        tag = self.text("  ·  ".join(parts), size=THEME.small_size, color=THEME.dim)
        return tag.to_corner(UR, buff=0.3)


def light(mob: Any) -> Any:
    """Drop the parsed SVG path (an svgelements object) each glyph of a Text keeps after it
    is built. Every FadeIn/Transform deep-copies its mobject, and copying those objects was
    ~90% of the cost: a caption copies ~10× faster without them. Drawing is unchanged."""
    for m in mob.get_family():
        if getattr(m, "path_obj", None) is not None:
            m.path_obj = None
    return mob


def clear(scene: Scene, *keep: Any, run_time: float = 0.5) -> None:
    """Fade out everything on screen except ``keep``."""
    gone = [m for m in scene.mobjects if m not in keep]
    if gone:
        scene.play(*[FadeOut(m) for m in gone], run_time=run_time)


def group(*mobs: Any) -> VGroup:
    return VGroup(*mobs)
