"""The course's ``[voice]`` section: narration on/off, which Piper voice, how fast.

::

    [voice]
    enabled = true                                # same as ./render.sh --voice
    model = "voices/de_DE-thorsten-medium.onnx"   # any Piper voice; leave out for the bundled one
    config = "voices/de_DE-thorsten-medium.onnx.json"   # optional: default <model>.json
    speed = 1.0                                   # 0.5 – 2

Paths are relative to the course file. :func:`voice_settings` checks the section (one-line
:class:`tensors.UserError` naming the file and key); with ``open_model=True`` and narration
on it also opens the voice (:func:`scenes.kit.voice.check_voice`), so a missing or broken
voice fails before anything is rendered — ``course check``, ``./render.sh --dry-run`` and
the render all call it. :func:`voice_env` is what ``./render.sh`` hands its jobs.
"""
from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any

from tensors import UserError

from ..voice import (ENV_CONFIG, ENV_MODEL, ENV_ON, ENV_SPEED, SPEED_RANGE, _shared_voice,
                     check_voice, voice_from_env)
from .config import Course

KEYS = ("enabled", "model", "config", "speed")


@dataclasses.dataclass(frozen=True)
class VoiceSettings:
    enabled: bool = False
    model: Path | None = None      # None: the bundled voice
    config: Path | None = None     # None: <model>.json
    speed: float = 1.0


def _err(course: Course, key: str, value: Any, what: str) -> UserError:
    return UserError(f"course config {course.label}: [voice] {key} = {value!r} — {what}")


def voice_settings(course: Course | None, open_model: bool = False) -> VoiceSettings:
    """The checked ``[voice]`` section of ``course`` (defaults when it has none).

    >>> voice_settings(Course(None, {"voice": {"speed": 3}}, "arg"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    tensors.errors.UserError: course config (none): [voice] speed = 3 — must be from 0.5 to 2 ...
    """
    tbl = (course.data.get("voice") if course is not None else None)
    if tbl is None:
        return VoiceSettings()
    if not isinstance(tbl, dict):
        raise UserError(f"course config {course.label}: voice = {tbl!r} — must be a table: [voice]")
    for k, v in tbl.items():
        if k not in KEYS:
            raise _err(course, k, v, "unknown key; allowed: " + ", ".join(KEYS))
    enabled = tbl.get("enabled", False)
    if not isinstance(enabled, bool):
        raise _err(course, "enabled", enabled, "must be true or false")

    speed = tbl.get("speed", 1.0)
    lo, hi = SPEED_RANGE
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not math.isfinite(speed) \
            or not lo <= speed <= hi:
        raise _err(course, "speed", speed, f"must be from {lo:g} to {hi:g} (1 = normal)")
    base = course.path.parent if course.path is not None else Path.cwd()
    paths: dict[str, Path | None] = {}
    for key in ("model", "config"):
        v = tbl.get(key)
        if v is None:
            paths[key] = None
            continue
        if not isinstance(v, str) or not v.strip():
            raise _err(course, key, v, "must be the path of a Piper voice file (relative to "
                       "the course file)")
        p = Path(v).expanduser()
        p = p if p.is_absolute() else (base / p)
        if not p.is_file():
            fix = ("a Piper voice .onnx, or leave model out for the bundled voice" if key == "model"
                   else "the voice's .onnx.json, or leave config out for <model>.json")
            raise _err(course, key, v, f"no such file ({p}); name {fix}")
        paths[key] = p.resolve()
    s = VoiceSettings(enabled, paths["model"], paths["config"], float(speed))
    if open_model and s.enabled:
        check(s, course)
    return s


def check(s: VoiceSettings, course: Course | None = None) -> None:
    """Open the voice now (0.6 s): a broken file fails before rendering, in one line."""

    try:
        check_voice(s.model, s.config, s.speed)
    except UserError as e:
        where = f"course config {course.label}: [voice]: " if course and course.path else ""
        raise UserError(f"{where}{e}") from None


def voice_env(s: VoiceSettings) -> dict[str, str]:
    """The environment that makes a render narrate (or not) with ``s`` (see
    :func:`scenes.kit.voice.voice_from_env`)."""

    return {ENV_ON: "1" if s.enabled else "0", ENV_MODEL: str(s.model or ""),
            ENV_CONFIG: str(s.config or ""), ENV_SPEED: repr(s.speed)}


def scene_voice(s: VoiceSettings | None) -> Any:
    """The :class:`scenes.kit.voice.Voice` a render narrates with, or None: the environment
    (``./render.sh`` always sets ``$GPT_SCENES_VOICE``) wins over the course's ``[voice]``
    (what a plain ``manim render`` with a course file uses)."""

    if os.environ.get(ENV_ON, "").strip():
        return voice_from_env()
    if s is None or not s.enabled:
        return None
    return _shared_voice(str(s.model) if s.model else None, str(s.config) if s.config else None,
                         repr(s.speed))
