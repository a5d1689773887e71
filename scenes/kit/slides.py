"""Every scene as manim-slides slides, for live lectures: one slide per beat.

This module builds ``<Name>Slides`` for every scene found in scenes/ (``AttentionScene`` →
``AttentionSlides``), so::

    manim-slides render -ql scenes/kit/slides.py AttentionSlides TokenizationSlides
    manim-slides present AttentionSlides TokenizationSlides     # needs a Qt extra, see README
    manim-slides convert AttentionSlides attention.html         # reveal.js page, any browser

``./render.sh --slides`` does all of that for every scene (and one lecture.html in story
order). GPTScene.end_beat calls ``next_slide()`` after each beat, so beats are slides.

A course's own scene class becomes slides with :func:`slide_class`, in the course file::

    from scenes.kit.slides import slide_class
    MyAttentionSlides = slide_class(MyAttention)

Course files listed in ``$GPT_SCENES_SLIDES_FILES`` (separated by ``os.pathsep``) get
``<Name>Slides`` classes here too; ``$GPT_SCENES_SLIDES_DIR`` sets where the slides are
written (default ./slides, manim-slides' own default).

manim-slides 5.7 predates manim 0.22 (which dropped ``config.write_to_movie`` and
``config.flush_cache`` and wants ``max_files_cached = -1`` for "unlimited");
:class:`CompatSlide` bridges that without patching either package.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from manim import ManimColor, Scene, config
from manim_slides import Slide

from .course.discover import discover
from .scene import render_isolated

ENV_DIR = "GPT_SCENES_SLIDES_DIR"
ENV_FILES = "GPT_SCENES_SLIDES_FILES"


#: A last slide shorter than this (video seconds) joins the slide before it (no slivers:
#: the few frames after the last beat are not a slide of their own).
MIN_SLIDE_S = 0.5


class CompatSlide(Slide):
    """manim-slides' ``Slide`` working on manim 0.22 (see the module doc), with speaker
    notes on every slide (:func:`slide_notes`) and no sliver of a last slide."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if os.environ.get(ENV_DIR):
            kwargs.setdefault("output_folder", Path(os.environ[ENV_DIR]))
        # skip Slide.__init__ (it sets config["write_to_movie"], gone in manim 0.22)
        super(Slide, self).__init__(*args, **kwargs)
        self._slide_captions: list[str] = []
        self._slide_start_s = 0.0
        self._beats_done = 0

    # -- speaker notes: the slide's captions (what the voice says) and the course's notes
    def caption_event(self, s: str) -> None:
        self._slide_captions.append(s)
        super().caption_event(s)

    def end_beat(self, name: str) -> None:
        self._ending_beat = name
        super().end_beat(name)  # calls next_slide()

    def next_slide(self, *args: Any, **kwargs: Any) -> None:
        beat = getattr(self, "_ending_beat", None)
        if beat is not None and self._current_animation > self._start_animation:
            self._base_slide_config.notes = slide_notes(
                type(self), beat, self._beats_done, self._slide_captions)
            self._beats_done += 1
            self._slide_captions = []
            self._ending_beat = None
        super().next_slide(*args, **kwargs)
        self._slide_start_s = float(self.renderer.time)

    def _add_last_slide(self) -> None:
        tail_s = float(self.renderer.time) - self._slide_start_s
        if self._slides and self._current_animation > self._slides[-1].end_animation \
                and tail_s < MIN_SLIDE_S:
            self._slides[-1].end_animation = self._current_animation  # the sliver joins it
            return
        if not self._base_slide_config.notes:
            self._base_slide_config.notes = slide_notes(
                type(self), "", self._beats_done, self._slide_captions) or \
                f"End of {type(self).__name__.removesuffix('Slides')}."
        super()._add_last_slide()

    @property
    def _background_color(self) -> str:
        # GPTScene sets the camera background from THEME as a "#RRGGBB" string
        return ManimColor(self.renderer.camera.background_color).to_hex()

    def render(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        # manim-slides needs every partial movie kept; manim 0.22 spells "unlimited" -1
        keep = config.max_files_cached
        config.max_files_cached = -1
        with render_isolated(self):
            try:
                Scene.render(self, *args, **kwargs)
            finally:
                config.max_files_cached = keep
            self._save_slides(use_cache=not (config.disable_caching or self.disable_caching),
                              flush_cache=self.flush_cache, skip_reversing=self.skip_reversing)


# Hidden from manim's scene list whichever name this file is loaded under.
CompatSlide.__module__ = "scenes.kit.slides"


def slide_notes(cls: type, beat: str, index: int, captions: list[str]) -> str:
    """The speaker notes of one slide (Markdown, shown in reveal.js' speaker view, key S):
    which beat it is, the captions shown during it — the words the voice speaks when the
    lecture is narrated — and the course's own ``notes`` for the beat (a plain-string
    ``notes`` belongs to the scene's first slide).

    >>> print(slide_notes(type("AttentionSlides", (), {"beats": ["beat_a", "beat_b"]}),
    ...                   "beat_b", 1, ["Softmax along each row"]))
    **Attention — beat 2 of 2: b**
    <BLANKLINE>
    > Softmax along each row
    """
    from .course.config import load_course
    from .course.lecture import chapter, notes

    course = _course(load_course)
    section = getattr(cls, "config_section", "") or ""
    title = (chapter(course, section) if course else None) or \
        cls.__name__.removesuffix("Slides").removesuffix("Scene")
    beats = list(getattr(cls, "beats", ()))
    head = f"**{title}"
    if beat:
        head += (f" — beat {beats.index(beat) + 1} of {len(beats)}" if beat in beats else "") \
            + f": {beat.removeprefix('beat_').replace('_', ' ')}"
    parts = [head + "**"]
    parts += ["\n".join(f"> {c}" for c in dict.fromkeys(captions))] if captions else []
    own = notes(course, section, beat, index == 0) if course and beat else ""
    if own:
        parts.append(own.strip())
    return "\n\n".join(parts)


_COURSE: list[Any] = []


def _course(load: Any) -> Any:
    """The course config the render uses ($GPT_SCENES_COURSE, set by the driver), once."""
    if not _COURSE:
        try:
            _COURSE.append(load())
        except Exception:  # noqa: BLE001 - notes are extra: a course error is reported elsewhere
            _COURSE.append(None)
    return _COURSE[0]


def slides_name(scene_cls: type) -> str:
    base = scene_cls.__name__
    return (base[:-len("Scene")] if base.endswith("Scene") and base != "Scene" else base) + "Slides"


def slide_class(scene_cls: type, name: str | None = None, module: str | None = None) -> type:
    """``class <Name>Slides(CompatSlide, scene_cls)``: the scene with a slide per beat."""
    if module is None:
        frame = sys._getframe(1)
        module = frame.f_globals.get("__name__", __name__)
    return type(name or slides_name(scene_cls), (CompatSlide, scene_cls),
                {"__module__": module,
                 "__doc__": f"{scene_cls.__name__} as manim-slides slides (a slide per beat)."})


def _build() -> dict[str, type]:
    extra = [f for f in os.environ.get(ENV_FILES, "").split(os.pathsep) if f.strip()]
    entries, errors = discover(extra)
    for path, msg in errors:
        print(f"[gpt-scenes] slides: skipped {path}: {msg}", file=sys.stderr)
    out: dict[str, type] = {}
    for e in entries:
        name = slides_name(e.cls)
        if name not in out:
            out[name] = slide_class(e.cls, name, module=__name__)
    return out


SLIDE_CLASSES = _build()
globals().update(SLIDE_CLASSES)
__all__ = ["CompatSlide", "slide_class", "slides_name", "slide_notes", "MIN_SLIDE_S", "SLIDE_CLASSES", *SLIDE_CLASSES]
