"""Validation: every course value checked before rendering, one line per problem.

A bad key or value raises :class:`tensors.UserError` naming the file, the key, the value
and what is allowed (exit 2 under ``manim render`` and the course CLI)::

    course config gpt-scenes.toml: [attention] layer = 'x' — must be an integer ≥ 0
"""
from __future__ import annotations

import dataclasses
import re
import string
from typing import Any, Iterable

from tensors import UserError

from ..theme import Theme
from .config import Course
from .lecture import SECTION_KEYS as LECTURE_SECTION_KEYS, TOP_KEYS as LECTURE_KEYS
from .knobs import GENERIC_KEYS, Knob, SceneKnobs, beat_names, knobs, order_problem
from .spec import (HEX_COLOUR, STR, Bad, Range, check_rule, convert, show_value, spec_from_value)

RESERVED_SECTIONS = ("theme", "captions", "voice")
def _err(course: Course, section: str | None, key: str, value: Any, what: str) -> UserError:
    where = f"[{section}] " if section else ""
    val = f" = {show_value(value)}" if value is not _MISSING else ""
    return UserError(f"course config {course.label}: {where}{key}{val} — {what}")


_MISSING = object()


def validate_knob(course: Course, section: str | None, knob: Knob, value: Any,
                  cls: type | None = None) -> Any:
    """The converted value of ``knob`` from ``section``, or a one-line UserError."""
    try:
        out = convert(knob.spec, value, knob.name, knob.name)
        if knob.name == "beats" and cls is not None:
            allowed = beat_names(cls)
            wrong = [b for b in out if b not in allowed]
            if wrong or not out:
                raise Bad(f"must be a non-empty list of beats of {cls.__name__}: "
                          + ", ".join(allowed))
            problem = order_problem(cls, out)
            if problem:
                raise Bad(f"cannot run in this order: {problem}")
        if isinstance(knob.default, list) and isinstance(out, tuple):
            out = list(out)
        return out
    except Bad as e:
        what = e.what if e.what.startswith("must") else "must be " + e.what
        raise _err(course, section, knob.name, value, what) from None


def _theme_knobs() -> dict[str, Knob]:
    out = {}
    for f in dataclasses.fields(Theme):
        default = f.default
        spec = spec_from_value(default) or STR
        if spec.kind == "float":  # sizes: finite and positive
            spec = dataclasses.replace(spec, range=Range(0, above=True))
        out[f.name] = Knob(f.name, default, spec, Theme)
    return out


def _theme_value(course: Course, key: str, value: Any) -> Any:
    knob = _theme_knobs()[key]
    try:
        if knob.spec == STR and key not in ("font", "mono"):
            if not isinstance(value, str) or not HEX_COLOUR.match(value):
                raise Bad("a colour as #RRGGBB, e.g. '#58C4DD'")
            return value
        if key in ("font", "mono"):
            if not isinstance(value, str):
                raise Bad("an installed font name (see fc-list)")
            check_rule("font", value)
            return value
        v = convert(knob.spec, value, "", "")
        if key == "digits" and not 0 <= v <= 6:
            raise Bad("an integer from 0 to 6")
        return v
    except Bad as e:
        raise _err(course, "theme", key, value, "must be " + e.what) from None


def validate_theme(course: Course) -> dict[str, Any]:
    tbl = course.data.get("theme", {})
    if not isinstance(tbl, dict):
        raise _err(course, None, "theme", tbl, "must be a table: [theme]")
    allowed = _theme_knobs()
    out = {}
    for k, v in tbl.items():
        if k not in allowed:
            raise _err(course, "theme", k, v, "unknown key; allowed: " + ", ".join(allowed))
        out[k] = _theme_value(course, k, v)
    return out


def _placeholders(s: str) -> set[str]:
    try:
        return {f for _, f, _, _ in string.Formatter().parse(s) if f}
    except ValueError:
        return {"\0bad"}


#: A format spec a caption may give any placeholder: fill/align and a width up to 99 (it works
#: on numbers and strings alike). Other specs only as the scene's own caption writes them.
_SAFE_SPEC = re.compile(r"(.?[<>^])?\d{0,2}")


def _specs(s: str) -> dict[str, set[str]] | None:
    """{placeholder: the format specs it is written with} (None if not a format string)."""
    out: dict[str, set[str]] = {}
    try:
        for _, f, spec, conv in string.Formatter().parse(s):
            if f:
                out.setdefault(f, set()).add(f"!{conv}:{spec}" if conv else spec or "")
    except ValueError:
        return None
    return out


def _spec_problem(v: str, default: str) -> str | None:
    """Why the format specs in caption ``v`` are refused (None if fine): each must be the
    default caption's own spec for that placeholder, or fill/align/width ≤ 99 — never a
    1 GB padding (``{n:>999999999}``) nor a spec the value's type rejects at render time."""
    have, may = _specs(v) or {}, _specs(default) or {}
    for name, specs in have.items():
        for spec in specs - may.get(name, set()):
            if "{" in spec or "!" in spec or not _SAFE_SPEC.fullmatch(spec):
                own = sorted(may.get(name, {""}) - {""})
                shown = f"{{{name}{spec}}}" if spec.startswith("!") else f"{{{name}:{spec}}}"
                return (f"format spec {shown} is not allowed: use {{{name}}}"
                        + (f" or {{{name}:{own[0]}}}" if own else "")
                        + " or a width up to 99, e.g. {" + name + ":>8}")
    return None


def validate_captions(course: Course, section: str, table: Any,
                      defaults: dict[str, str] | None) -> dict[str, str]:
    """Caption overrides: strings, only keys the scene has, only its {placeholders}.
    ``defaults`` None = check the types only (top-level [captions] for unknown scenes)."""
    if not isinstance(table, dict):
        raise _err(course, None, section, table, "must be a table of caption strings")
    out = {}
    for k, v in table.items():
        if not isinstance(v, str):
            raise _err(course, section, k, v, "must be a string (the caption's wording)")
        if defaults is not None:
            if k not in defaults:
                allowed = ", ".join(sorted(defaults)) or "(this scene has no captions)"
                raise _err(course, section, k, v, "unknown caption; allowed: " + allowed)
            have, may = _placeholders(v), _placeholders(defaults[k])
            if "\0bad" in have or not have <= may:
                names = " ".join("{" + p + "}" for p in sorted(may))
                what = (f"may use only the placeholders {names}" if may else
                        "this caption has no {placeholders}") + " (write {{ }} for a brace)"
                raise _err(course, section, k, v, what)
            problem = _spec_problem(v, defaults[k])
            if problem:
                raise _err(course, section, k, v, problem)
        out[k] = v
    return out


def validate_top(course: Course, sections: Iterable[str] | None) -> None:
    """Top-level keys and section names. ``sections`` None = don't check section names."""
    allowed_sections = None if sections is None else sorted(set(sections))
    for k, v in course.data.items():
        if k in RESERVED_SECTIONS:
            continue
        if isinstance(v, dict):
            if allowed_sections is not None and k not in allowed_sections:
                raise _err(course, None, f"[{k}]", _MISSING,
                           "unknown section; allowed: " + ", ".join(
                               [*RESERVED_SECTIONS, *allowed_sections]))
            continue
        if k in LECTURE_KEYS:  # checked by lecture.validate_lecture
            continue
        if k not in GENERIC_KEYS:
            raise _err(course, None, k, v, "unknown top-level key; allowed: "
                       + ", ".join([*GENERIC_KEYS, *LECTURE_KEYS]) + " and the sections "
                       + ", ".join([*RESERVED_SECTIONS, *(allowed_sections or ["<scene>"])]))
        base = knobs(SceneKnobs)
        validate_knob(course, None, base[k], v)


def _section_owner(cls: type) -> type:
    """The most-derived class that declares ``config_section`` (the section's owner)."""
    return next(k for k in cls.__mro__ if "config_section" in k.__dict__)


def _as_toml(v: Any) -> Any:
    """A class default as a config file would spell it (tuples → lists)."""
    if isinstance(v, (list, tuple)):
        return [_as_toml(x) for x in v]
    if isinstance(v, dict):
        return {k: _as_toml(x) for k, x in v.items()}
    return v


def validate_class_knobs(cls: type) -> None:
    """The values the scene class itself sets (its defaults, or a course file's subclass)
    pass the same checks as config values; a one-line UserError names the class and knob."""
    for name, kn in knobs(cls).items():
        v = kn.default
        if v is None and kn.spec.optional:
            continue
        try:
            out = convert(kn.spec, _as_toml(v), name, name)
            if name == "beats":
                wrong = [b for b in out if b not in beat_names(cls)]
                if wrong or not out:
                    raise Bad(f"must name beats of {cls.__name__}: " + ", ".join(beat_names(cls)))
                problem = order_problem(cls, out)
                if problem:
                    raise Bad(f"cannot run in this order: {problem}")
        except Bad as e:
            what = e.what if e.what.startswith("must") else "must be " + e.what
            raise UserError(f"scene {cls.__name__}: {name} = {show_value(_as_toml(v))} — {what}"
                            ) from None


def scene_values(course: Course, cls: type, notes: list[str] | None = None
                 ) -> tuple[dict[str, Any], dict[str, str]]:
    """Validated (knob values, caption overrides) the course sets for scene class ``cls``."""
    section = getattr(cls, "config_section", "") or ""
    ks = knobs(cls)
    table = course.section(section) if section else {}
    if section and section in course.data and not isinstance(course.data[section], dict):
        raise _err(course, None, section, course.data[section], f"must be a table: [{section}]")
    values: dict[str, Any] = {}
    for k in GENERIC_KEYS:
        if k in course.data and k in ks:
            values[k] = validate_knob(course, None, ks[k], course.data[k], cls)
    captions: dict[str, str] = {}
    defaults = dict(getattr(cls, "captions", {}) or {})
    top_caps = course.data.get("captions", {})
    if top_caps:
        caps = validate_captions(course, "captions", top_caps, None)
        for k, v in caps.items():
            if k in defaults:
                captions.update(validate_captions(course, "captions", {k: v}, defaults))
    for k, v in table.items():
        if k == "captions":
            captions.update(validate_captions(course, f"{section}.captions", v, defaults))
            continue
        if k in LECTURE_SECTION_KEYS:  # chapter, notes: checked by lecture.validate_lecture
            continue
        if k not in ks:
            raise _err(course, section, k, v, "unknown key; allowed: "
                       + ", ".join([*ks, "captions", *LECTURE_SECTION_KEYS]))
        values[k] = validate_knob(course, section, ks[k], v, cls)
    # a knob that a course subclass sets in its own code wins over the inherited section
    owner = _section_owner(cls) if section else cls
    for k in list(values):
        setters = [c for c in cls.__mro__[:cls.__mro__.index(owner)] if k in c.__dict__]
        if setters:
            if notes is not None and k in table:
                notes.append(f"[{section}] {k} from {course.label} not applied to "
                             f"{cls.__name__}: its class sets {k} itself")
            del values[k]
    return values, captions


def check_imports(asked: Iterable[Any], failed: Iterable[tuple[Any, str]]) -> None:
    """A one-line UserError when a course ``.py`` file the user named does not import
    (``failed``: (path, "ExcType: message") from :func:`~scenes.kit.course.discover.discover`)
    — its exception, not "no scenes found"."""
    from pathlib import Path

    named = {Path(a).resolve() for a in asked}
    for path, msg in failed:
        if Path(path).resolve() in named:
            raise UserError(f"course file {path} does not import: {msg}; fix it (`python {path}` "
                            "shows where)")


def dry_prepare(course: Course, cls: type, values: dict[str, Any], captions: dict[str, str],
                trace_of: Any) -> None:
    """What the render would refuse, refused now with the render's own line: the scene's
    ``prepare`` (the step before its first beat, where each scene checks its knobs against
    the model and prompt — a prompt too long to draw, a ``long_context`` below the prompt,
    analogy words the vectors lack …) run on a bare instance with the course's values.

    ``trace_of(prompt, model, device)``: how to get the trace (the render's own cache). A
    :class:`UserError` raised there is re-raised naming the course file and section; any
    other exception is left to the render (a bare instance lacks the scene's canvas)."""
    obj = object.__new__(cls)
    for k, v in values.items():
        setattr(obj, k, v)
    if captions:
        obj.captions = {**dict(getattr(cls, "captions", {}) or {}), **captions}
    get = lambda k, d=None: getattr(obj, k, d)  # noqa: E731
    section = getattr(cls, "config_section", "") or cls.__name__
    try:
        cls.check_prompt_length(get("prompt"), get("model", "auto"))  # before any capture
        obj.trace = trace_of(get("prompt"), get("model", "auto"), get("device"))
        obj.prepare()
    except UserError as e:
        raise UserError(f"course config {course.label}: [{section}] {e}") from None
    except Exception:  # noqa: BLE001 - not a user mistake: the render reports it
        return
