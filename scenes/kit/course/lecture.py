"""The lecture a course file describes: which scenes, in which order, where it renders, the
chapter titles and the speaker notes.

Top-level keys (all optional)::

    name = "week3"                        # the output folder: out/week3/<quality>/
                                          #   (default: the course file's name)
    title = "LLMs from the inside, week 3"
    scenes = ["tokenization", "attention", "my_head"]   # which scenes, in this order
    scene_files = ["my_scenes.py"]        # the course's own scene files (relative to this file)

Per scene, in its section, beside its knobs::

    [attention]
    chapter = "Looking back: one head"    # the lecture's chapter title (default: the docstring)
    notes = "Ask who has seen a heat map before."        # speaker notes of its first slide
    # or one note per beat:
    # notes = { beat_pattern = "Point at the diagonal.", beat_readout = "..." }

Without ``scenes``, a render without scene names renders every story scene (story order)
and the scenes of ``scene_files``; scene names on the command line win over ``scenes``.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tensors import UserError

from .config import DEFAULT_PATH, Course

#: Top-level keys of the lecture (beside the knobs every scene shares).
TOP_KEYS = ("name", "title", "scenes", "scene_files")
#: Keys of a scene's section that are about the lecture, not the scene's knobs.
SECTION_KEYS = ("chapter", "notes")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _err(course: Course, where: str, value: Any, what: str) -> UserError:
    return UserError(f"course config {course.label}: {where} = {value!r} — {what}")


def validate_lecture(course: Course) -> list[UserError]:
    """Every problem of the lecture keys (types and shapes; scene names are checked against
    the scenes found by :func:`scenes.kit.course.discover.check_course`)."""
    d, errs = course.data, []
    if "name" in d and not (isinstance(d["name"], str) and _NAME.match(d["name"])):
        errs.append(_err(course, "name", d["name"], "must be a folder name: letters, digits, "
                         "_ . - (at most 64), e.g. \"week3\""))
    if "title" in d and not isinstance(d["title"], str):
        errs.append(_err(course, "title", d["title"], "must be a string"))
    for key in ("scenes", "scene_files"):
        v = d.get(key)
        if v is not None and not (isinstance(v, list) and v and all(isinstance(x, str) for x in v)):
            errs.append(_err(course, key, v, "must be a non-empty list of strings"))
    if isinstance(d.get("scenes"), list) and len(set(d["scenes"])) < len(d["scenes"]):
        dup = sorted({x for x in d["scenes"] if d["scenes"].count(x) > 1})
        errs.append(_err(course, "scenes", d["scenes"], f"names {', '.join(dup)} twice"))
    for f in scene_files(course, check=False):
        if not f.is_file():
            errs.append(_err(course, "scene_files", str(f.name), f"no such file {f} "
                             "(paths are relative to the course file)"))
    for section, table in d.items():
        if not isinstance(table, dict):
            continue
        if "chapter" in table and not isinstance(table["chapter"], str):
            errs.append(_err(course, f"[{section}] chapter", table["chapter"], "must be a string"))
        n = table.get("notes")
        if n is not None and not isinstance(n, str) and not (
                isinstance(n, dict) and all(isinstance(x, str) for x in n.values())):
            errs.append(_err(course, f"[{section}] notes", n, "must be a string (the first "
                             "slide's notes) or a table of strings by beat name"))
    return errs


def check_notes_beats(course: Course, section: str, beats: list[str]) -> list[UserError]:
    """A per-beat ``notes`` table may name only beats the scene has."""
    n = course.section(section).get("notes")
    if not isinstance(n, dict):
        return []
    return [_err(course, f"[{section}] notes", k, "no such beat; beats: " + ", ".join(beats))
            for k in n if k not in beats]


def scene_files(course: Course, check: bool = True) -> list[Path]:
    """The course's own scene files (``scene_files``), resolved against the course file."""
    v = course.data.get("scene_files")
    if not isinstance(v, list) or course.path is None:
        return []
    out = [(course.path.parent / x).resolve() for x in v if isinstance(x, str)]
    if check:
        for f in out:
            if not f.is_file():
                raise _err(course, "scene_files", str(f.name), f"no such file {f}")
    return out


def scene_order(course: Course) -> list[str]:
    """The scenes of the lecture in order (``scenes``), or [] for the default selection."""
    v = course.data.get("scenes")
    return list(v) if isinstance(v, list) else []


def out_name(course: Course, given: bool) -> str:
    """The course's output folder name: its ``name`` key, else — for a course file named on
    the command line or by ``$GPT_SCENES_COURSE`` (``given``) — the file's stem; "" (no
    subfolder) for the shipped default and an unnamed ./gpt-scenes.toml."""
    name = course.data.get("name")
    if isinstance(name, str) and name:
        return name
    if given and course.path is not None and course.path.resolve() != DEFAULT_PATH:
        return course.path.stem
    return ""


def default_chapter(cls: type, scene_id: str) -> str:
    """A scene's chapter title when the course sets none: the first line of its class
    docstring, else its id.

    >>> default_chapter(type("X", (), {"__doc__": None}), "softmax_temperature")
    'Softmax temperature'
    """
    doc = (cls.__dict__.get("__doc__") or "").strip().split("\n")[0].strip().rstrip(".")
    return doc[:80] if doc else scene_id.replace("_", " ").capitalize()


def chapter(course: Course, section: str) -> str | None:
    """The chapter title the course gives scene section ``section`` (None: not set)."""
    v = course.section(section).get("chapter") if section else None
    return v if isinstance(v, str) and v.strip() else None


def notes(course: Course, section: str, beat: str, first: bool) -> str:
    """The course's speaker notes for beat ``beat`` of ``section`` (``first``: the scene's
    first slide, which a plain-string ``notes`` belongs to)."""
    v = course.section(section).get("notes") if section else None
    if isinstance(v, dict):
        return str(v.get(beat, "") or "")
    return v if isinstance(v, str) and first else ""
