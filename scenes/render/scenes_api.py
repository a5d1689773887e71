"""The render driver's ONE door into the scenes package: every name it uses from ``scenes``
(the course code in ``scenes.kit.course``, ``scenes.kit.slides``, the subtitles, the voice)
is imported here, with the few ``tensors`` cache helpers the Ray payload needs, so a move
of the scene library is a change to this file only.

The driver imports this module after the options are checked (it imports manim and the
model code), never at the top of ``cli``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from scenes.kit.course.cli import _warm
from scenes.kit.course.config import ENV_VAR, SCENES_DIR, Course, find_config, load_course  # noqa: F401
from scenes.kit.course.discover import STORY_ORDER, SceneEntry, check_course, discover, select  # noqa: F401
from scenes.kit.course.lecture import chapter, default_chapter, out_name, scene_order  # noqa: F401
from scenes.kit.course.lecture import scene_files as course_scene_files  # noqa: F401
from scenes.kit.course.validate import check_imports, scene_values  # noqa: F401
from scenes.kit.course.voice import check as check_voice, voice_env, voice_settings  # noqa: F401
from scenes.kit.revealjs import convert_options  # noqa: F401
from scenes.kit.subtitles import (burn_subtitles, concat_lecture, join_srt, parse_srt,  # noqa: F401
                                  write_subtitles)

__all__ = ["ENV_VAR", "SCENES_DIR", "STORY_ORDER", "Course", "SceneEntry", "check_course",
           "discover", "check_imports", "find_config", "load_course", "select", "scene_values", "slides_name",
           "check_voice", "voice_env", "voice_settings", "convert_options", "burn_subtitles",
           "concat_lecture", "join_srt", "parse_srt", "write_subtitles",
           "SLIDES_FILE", "warm_traces", "cache_dirs", "chapter", "default_chapter", "out_name",
           "scene_order", "course_scene_files"]

#: The file manim-slides loads: the ``<Name>Slides`` classes of scenes.kit.slides (which,
#: with its relative imports, cannot be loaded by path itself).
SLIDES_FILE: Path = Path(__file__).resolve().with_name("slides_entry.py")


def warm_traces(course: Any, entries: list, names: list[str]) -> list[tuple[str, Path]]:
    """Compute (or load) the trace each scene starts from, once, in story order, and check
    the layer/head knobs against the model; return the cache files a worker elsewhere needs
    so that it never loads the model: ``(kind, path)`` with kind ``traces`` (the traces and
    the cached generations, ``gen-*.json``) or ``weights`` (the model's matrices).

    >>> warm_traces(course, entries, ["AttentionScene"])  # doctest: +SKIP
    [('traces', PosixPath('/root/.cache/gpt-scenes/traces/3f…c1.safetensors')), ('weights', …)]
    """
    from tensors import trace
    from tensors.trace_cache import cache_dir
    from tensors.weights_cache import weights_path

    _warm(course, entries, names)
    files: list[tuple[str, Path]] = []
    for e in select(entries, names):
        values, _ = scene_values(course, e.cls)
        get = lambda k, d=None: values.get(k, getattr(e.cls, k, d))  # noqa: E731
        t = trace(get("prompt"), get("model", "auto"), device=get("device"), quiet=True)
        for kind, p in (("traces", getattr(t, "cache_path", None)),
                        ("weights", weights_path(t.info["fingerprint"]))):
            if p is not None and Path(p).is_file() and (kind, Path(p)) not in files:
                files.append((kind, Path(p)))
    d = cache_dir()  # None: the trace cache is off
    files += [("traces", p) for p in sorted(d.glob("gen-*.json"))] if d is not None else []
    return files


def cache_dirs() -> dict[str, Path]:
    """Where this machine keeps each kind of cache file (see :func:`warm_traces`)."""
    from tensors import home
    from tensors.trace_cache import cache_dir

    return {"traces": cache_dir(), "weights": home() / "weights"}


def slides_name(scene_cls: type) -> str:
    """:func:`scenes.kit.slides.slides_name` (imported on use: manim-slides costs ~0.9 s of
    every driver start, also for a run that makes no slides or is refused)."""
    from scenes.kit.slides import slides_name as name

    return name(scene_cls)
