"""Applying a course to the scene being rendered: its theme, its section's knobs, captions."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tensors.errors import note

from ..theme import use_theme
from .config import DEFAULT_PATH, Course, load_course, scene_files
from .knobs import is_scene_class
from .validate import scene_values, validate_class_knobs, validate_theme, validate_top
from .voice import voice_settings


def apply_course_config(scene: Any, course: Course | None = None) -> Course:
    """Apply the course config to ``scene``: theme, its section's knobs, caption overrides.
    Called by GPTScene.construct before the trace is loaded (the scene puts the theme back
    when its render ends). Raises a one-line UserError."""
    course = course or load_course()
    cls = type(scene)
    sections = _known_sections(cls)
    validate_top(course, sections)
    theme = validate_theme(course)
    notes: list[str] = []
    validate_class_knobs(cls)
    values, captions = scene_values(course, cls, notes)
    scene._voice_settings = voice_settings(course)  # GPTScene.narration_start reads it
    if theme:
        use_theme(**theme)
    for k, v in values.items():
        setattr(scene, k, v)
    if captions:
        scene.captions = {**dict(getattr(cls, "captions", {}) or {}), **captions}
    if course.path is not None and course.path.resolve() != DEFAULT_PATH.resolve():
        note(f"course config {course.label}: {cls.__name__} "
             f"({', '.join(sorted(values)) or 'no knobs'} set)")
        for n in notes:
            note(n)
    return course


def _known_sections(cls: type | None = None) -> set[str]:
    """Cheap section names for render time: stems of scenes/*.py files that mention
    ``config_section`` (scene modules), plus the sections of the scene classes in ``cls``'s
    own module (a course file's classes)."""
    names = {p.stem for p in scene_files() if "config_section" in _read(p)}
    if cls is not None:
        mod = sys.modules.get(cls.__module__)
        for obj in vars(mod).values() if mod else ():
            if is_scene_class(obj) and getattr(obj, "config_section", ""):
                names.add(obj.config_section)
        if getattr(cls, "config_section", ""):
            names.add(cls.config_section)
    return names


def _read(p: Path) -> str:
    try:
        return p.read_text(errors="replace")
    except OSError:
        return ""
