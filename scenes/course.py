"""Course config: one TOML file per course sets every scene's knobs, the theme and captions.

Where the config comes from (first match wins):

1. ``$GPT_SCENES_COURSE`` — a path to a TOML file (``none`` = use no config file);
2. ``./gpt-scenes.toml`` in the current folder;
3. ``assets/course.toml`` — the shipped default, every knob documented and commented out, so
   the scenes' own class defaults apply.

The file::

    model = "auto"                   # top level: every scene, unless its section says otherwise
    prompt = "The capital of France is"

    [theme]                          # scenes.theme.Theme fields
    background = "#0E1116"
    font = "CMU Serif"

    [captions]                       # caption overrides for any scene that has the key

    [attention]                      # one section per scene (its ``config_section``)
    prompt = "the cat sat on the mat because it was tired"
    layer = 3
    head = 1
    beats = ["beat_tokens", "beat_pattern"]    # skip or reorder beats

    [attention.captions]             # this scene's caption wording (e.g. another language)
    intro = "Chaque mot regarde les mots précédents"

A section's allowed keys are the scene class's knobs, found by introspection (public data
class attributes of the GPTScene subclass), so a scene that gains a knob is configurable at
once. A bad key or value raises :class:`tensors.UserError` with one line naming the file,
the key, the value and what is allowed (exit 2 under ``manim render``), e.g.::

    course config gpt-scenes.toml: [attention] layer = 'x' — must be an integer ≥ 0

Command line (``python -m scenes.course ...``)::

    check [FILE] [--scenes F.py ...]   validate a config against every scene (exit 2 if bad)
    list [--scenes F.py ...] [--json]  the scenes found, in story order
    show [FILE]                        the knob values each scene will use
    init [PATH]                        write a starter config (default ./gpt-scenes.toml)
    template                           print the fully commented config (assets/course.toml)
    warm [--scenes F.py ...] [NAME ...] compute the scenes' traces once (before parallel renders)

A knob that a course's own subclass sets in code wins over the config section it inherits
(``class MyAttention(AttentionScene): prompt = ...``); give the subclass its own
``config_section`` to configure it separately.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import inspect
import json
import os
import re
import string
import sys
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Iterable

from tensors import UserError, exit_on_user_error

ENV_VAR = "GPT_SCENES_COURSE"
LOCAL_NAME = "gpt-scenes.toml"
SCENES_DIR = Path(__file__).resolve().parent
DEFAULT_PATH = SCENES_DIR.parent / "assets" / "course.toml"

#: The lecture's story order (scene ids = module stems); other scenes follow alphabetically.
STORY_ORDER = ("tokenization", "embedding", "embedding_space", "attention",
               "softmax_temperature", "unembedding", "generation")
#: Modules in scenes/ that are infrastructure, never scenes.
NOT_SCENES = {"__init__", "__main__", "base", "theme", "course", "slides", "vocab"}
#: Top-level keys that apply to every scene (unless its section sets them).
GENERIC_KEYS = ("prompt", "model", "device")
RESERVED_SECTIONS = ("theme", "captions")
#: Knob names that are never configurable.
NOT_KNOBS = {"config_section", "captions", "trace"}

HEX_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


# ====================================================================== finding and reading
@dataclasses.dataclass
class Course:
    """A parsed course config (``data`` is the raw TOML table; ``path`` None = no file)."""

    path: Path | None
    data: dict[str, Any]
    source: str  # "env", "local", "default" or "none"

    @property
    def label(self) -> str:
        if self.path is None:
            return "(none)"
        try:
            return str(self.path.relative_to(Path.cwd()))
        except ValueError:
            return str(self.path)

    def section(self, name: str) -> dict[str, Any]:
        v = self.data.get(name, {})
        return v if isinstance(v, dict) else {}


def find_config(cwd: Path | None = None) -> tuple[Path | None, str]:
    """(path, how it was found): env var, ./gpt-scenes.toml, or the shipped default."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        if env.lower() == "none":
            return None, "none"
        p = Path(env).expanduser()
        if not p.is_absolute():
            p = (cwd or Path.cwd()) / p
        if not p.is_file():
            raise UserError(f"course config {env} (from ${ENV_VAR}) does not exist; "
                            f"fix the path, or unset {ENV_VAR} to use ./{LOCAL_NAME}")
        return p, "env"
    local = (cwd or Path.cwd()) / LOCAL_NAME
    if local.is_file():
        return local, "local"
    if DEFAULT_PATH.is_file():
        return DEFAULT_PATH, "default"
    return None, "none"


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"course config {path}: not valid TOML: {e}; "
                        "see assets/course.toml for the format") from None
    except OSError as e:
        raise UserError(f"course config {path}: cannot read it ({e.strerror})") from None


def load_course(path: str | os.PathLike | None = None) -> Course:
    """The course config at ``path`` or, if None, the one :func:`find_config` finds."""
    if path is None:
        p, source = find_config()
    else:
        p, source = Path(path).expanduser().resolve(), "arg"
        if not p.is_file():
            raise UserError(f"course config {path} does not exist; pass an existing TOML file")
    if p is None:
        return Course(None, {}, source)
    return Course(p, read_toml(p), source)


# ====================================================================== knob introspection
@dataclasses.dataclass(frozen=True)
class Spec:
    """What a config value must look like. kind: str int float bool any list tuple dict choice."""

    kind: str
    item: "Spec | None" = None            # list item / dict value
    items: tuple["Spec", ...] = ()        # tuple positions
    length: int | None = None             # list: required length
    choices: tuple[Any, ...] = ()
    optional: bool = False


STR, INT, FLOAT, BOOL, ANY = (Spec("str"), Spec("int"), Spec("float"), Spec("bool"), Spec("any"))


@dataclasses.dataclass
class Knob:
    name: str
    default: Any
    spec: Spec
    owner: type
    doc: str = ""


def _spec_from_value(v: Any, nested: bool = False) -> Spec | None:
    if isinstance(v, bool):
        return BOOL
    if isinstance(v, int):
        return INT
    if isinstance(v, float):
        return FLOAT
    if isinstance(v, str):
        return STR
    if v is None:
        return Spec("any", optional=True)
    if isinstance(v, dict):
        specs = [_spec_from_value(x, True) for x in v.values()]
        if any(s is None for s in specs):
            return None
        return Spec("dict", item=specs[0] if specs and all(s == specs[0] for s in specs) else ANY)
    if isinstance(v, (list, tuple)):
        if not v:
            return Spec("list", item=ANY)
        specs = [_spec_from_value(x, True) for x in v]
        if any(s is None for s in specs):
            return None
        if all(s == specs[0] for s in specs):
            item = specs[0]
            if item.kind == "list" and all(isinstance(x, (list, tuple)) for x in v):
                lens = {len(x) for x in v}
                if len(lens) == 1 and lens != {0}:
                    item = dataclasses.replace(item, length=lens.pop())
            return Spec("list", item=item)
        if all(s in (INT, FLOAT) for s in specs):
            return Spec("list", item=FLOAT)
        if nested:
            return Spec("tuple", items=tuple(specs))
        return Spec("list", item=ANY)
    return None  # not expressible in TOML: not a knob


def _spec_from_hint(h: Any) -> Spec | None:
    """A Spec from a type hint, or None when the hint says too little (Any, unknown types)."""
    origin, args = typing.get_origin(h), typing.get_args(h)
    if origin is typing.ClassVar:
        return _spec_from_hint(args[0]) if args else None
    if h is str:
        return STR
    if h is bool:
        return BOOL
    if h is int:
        return INT
    if h is float:
        return FLOAT
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            s = _spec_from_hint(rest[0])
            return dataclasses.replace(s, optional=True) if s else None
        if set(rest) <= {int, float}:
            return FLOAT
        return None
    if origin is typing.Literal:
        return Spec("choice", choices=tuple(args))
    import collections.abc as cabc

    if origin in (list, cabc.Sequence, cabc.MutableSequence, set, frozenset):
        s = _spec_from_hint(args[0]) if args else None
        return Spec("list", item=s) if s else None
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            s = _spec_from_hint(args[0])
            return Spec("list", item=s) if s else None
        specs = [_spec_from_hint(a) for a in args]
        if not specs or any(s is None for s in specs):
            return None
        if all(s == specs[0] for s in specs):
            return Spec("list", item=specs[0], length=len(specs))
        return Spec("tuple", items=tuple(specs))
    if origin in (dict, cabc.Mapping):
        s = _spec_from_hint(args[1]) if len(args) == 2 else None
        return Spec("dict", item=s) if s else None
    return None


def _hints(klass: type) -> dict[str, Any]:
    """The evaluated annotations of ``klass`` itself (names that fail to evaluate are left out)."""
    out: dict[str, Any] = {}
    ann = klass.__dict__.get("__annotations__", {})
    mod = sys.modules.get(klass.__module__)
    globalns = dict(vars(mod)) if mod else {}
    globalns.setdefault("ClassVar", typing.ClassVar)
    for name, a in ann.items():
        if isinstance(a, str):
            try:
                a = eval(a, globalns, dict(vars(typing)))  # noqa: S307 - the class's own source
            except Exception:
                continue
        out[name] = a
    return out


_DOC_RE = re.compile(r"^\s*#:\s?(.*)$")
_ATTR_RE = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?::[^=]*)?=")


def _docs(klass: type) -> dict[str, str]:
    """``#:`` comments written just above each class attribute (Sphinx convention)."""
    try:
        src = inspect.getsource(klass)
    except (OSError, TypeError):
        return {}
    docs: dict[str, str] = {}
    pending: list[str] = []
    for line in src.splitlines()[1:]:
        m = _DOC_RE.match(line)
        if m:
            pending.append(m.group(1).strip())
            continue
        a = _ATTR_RE.match(line)
        if a and pending:
            docs[a.group(1)] = " ".join(pending)
        pending = []
    return docs


def _gpt_scene() -> type:
    from scenes.base import GPTScene

    return GPTScene


def _is_gpt_scene(cls: Any) -> bool:
    """True for subclasses of GPTScene — also when a module was loaded twice (manim loads
    scene files by path, so ``scenes.base`` may exist under two names)."""
    return inspect.isclass(cls) and any(
        k.__name__ == "GPTScene" and k.__module__.endswith("base") for k in cls.__mro__)


def knobs(cls: type) -> dict[str, Knob]:
    """The configurable knobs of a GPTScene subclass: public data class attributes."""
    out: dict[str, Knob] = {}
    chain = [k for k in cls.__mro__ if _is_gpt_scene(k)]
    for klass in reversed(chain):  # base first, so subclasses override
        hints, docs = _hints(klass), _docs(klass)
        for name, value in klass.__dict__.items():
            if name.startswith("_") or name in NOT_KNOBS:
                continue
            if callable(value) or isinstance(value, (staticmethod, classmethod, property,
                                                     types.FunctionType, type)):
                continue
            value = getattr(cls, name)  # the most-derived default
            spec = None
            if name in hints:
                spec = _spec_from_hint(hints[name])
            if spec is None:
                spec = _spec_from_value(value)
            elif spec.kind == "list" and spec.item is None:
                spec = _spec_from_value(value) or spec
            if spec is None:
                continue
            prev = out.get(name)
            doc = docs.get(name) or (prev.doc if prev else "")
            if prev and name not in hints:
                spec = prev.spec if _accepts(prev.spec, value) else spec
            out[name] = Knob(name, value, spec, klass, doc)
    for name in list(out):
        out[name].default = getattr(cls, name)
        out[name].owner = next(k for k in cls.__mro__ if name in k.__dict__)
    # lecturer's order: the prompt, the scene's own knobs (as defined), then beats and model
    first, last = ["prompt"], ["beats", "model", "device"]
    order = first + [n for n in out if n not in first + last] + last
    return {n: out[n] for n in order if n in out}


def _accepts(spec: Spec, v: Any) -> bool:
    try:
        _convert(spec, v, "", "")
        return True
    except _Bad:
        return False


def beat_names(cls: type) -> list[str]:
    """Beat methods a section's ``beats`` may name: the defaults and every ``beat_*`` method."""
    names = list(getattr(cls, "beats", ()) or ())
    for n in dir(cls):
        if n.startswith("beat") and callable(getattr(cls, n, None)) and n not in names:
            names.append(n)
    return names


# ====================================================================== validation
class _Bad(Exception):
    def __init__(self, what: str):
        self.what = what


def _show(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_show(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        s = "[" + ", ".join(_show(x) for x in v) + "]"
        return s if len(s) <= 80 else s[:76] + " …]"
    return repr(v)


def _plural(s: Spec) -> str:
    return {"str": "strings", "int": "integers", "float": "numbers", "bool": "booleans",
            "any": "values"}.get(s.kind) or (
        "lists of " + _plural(s.item or ANY) if s.kind == "list" else
        f"[{', '.join(_short(i) for i in s.items)}] lists" if s.kind == "tuple" else
        "tables" if s.kind == "dict" else "values")


def _short(s: Spec) -> str:
    return {"str": "string", "int": "integer", "float": "number", "bool": "boolean",
            "any": "value"}.get(s.kind) or ("list of " + _plural(s.item or ANY))


def describe(spec: Spec, name: str = "") -> str:
    """What ``spec`` (for knob ``name``) allows, as the end of 'must be ...'."""
    if spec.optional and not (spec.kind == "any" and not _rule(name)):
        return describe(dataclasses.replace(spec, optional=False), name) + ', or "auto"'
    rule = _rule(name)
    if spec.kind in ("str", "int", "float") and rule:
        return rule[1]
    if spec.kind == "str":
        return "a string"
    if spec.kind == "int":
        return "an integer"
    if spec.kind == "float":
        return "a number"
    if spec.kind == "bool":
        return "true or false"
    if spec.kind == "any":
        return "a string, number or boolean"
    if spec.kind == "choice":
        return "one of " + ", ".join(_show(c) for c in spec.choices)
    if spec.kind == "dict":
        return "a table of " + _plural(spec.item or ANY)
    if spec.kind == "tuple":
        return f"a list [{', '.join(_short(i) for i in spec.items)}]"
    item = spec.item or ANY
    if rule and item.kind in ("str", "int", "float", "any"):
        s = "a list of " + _RULE_PLURAL[rule[0]]
    else:
        s = "a list of " + (f"{item.length}-item " if item.length and item.kind == "list" else "") \
            + _plural(item)
    if spec.length:
        s += f" ({spec.length} items)"
    return s


_RULE_PLURAL = {"ge0": "integers ≥ 0", "pos": "positive numbers", "pos_int": "positive integers",
                "nonempty": "non-empty strings", "hex": "colours as #RRGGBB",
                "font": "installed font names", "device": "device names"}


def _rule(name: str) -> tuple[str, str] | None:
    """A name-based constraint on scalar values: (code, description)."""
    n = name.lower()
    if n in ("layer", "head", "layers", "heads") or re.search(r"_(layer|head)s?$", n):
        return "ge0", "an integer ≥ 0"
    if "temperature" in n:
        return "pos", "a positive number"
    if n in ("top_k", "k") or re.match(r"^(n|num|max)_", n) or n.endswith(("_count", "_k")):
        return "pos_int", "a positive integer"
    if n in ("prompt", "prompts", "model") or n.endswith("_prompt"):
        return "nonempty", "a non-empty string"
    if "color" in n or "colour" in n:
        return "hex", "a colour as #RRGGBB, e.g. '#58C4DD'"
    if n in ("font", "mono") or n.endswith("_font"):
        return "font", "an installed font name (see fc-list)"
    if n == "device":
        return "device", "one of 'cpu', 'cuda', 'cuda:N', 'mps'"
    return None


_FONTS: set[str] | None = None


def _installed_fonts() -> set[str] | None:
    global _FONTS
    if _FONTS is None:
        try:
            import manimpango

            _FONTS = set(manimpango.list_fonts())
        except Exception:
            _FONTS = set()
    return _FONTS or None


def _check_rule(name: str, v: Any) -> None:
    rule = _rule(name)
    if not rule:
        return
    code, what = rule
    if code == "ge0" and not (isinstance(v, int) and not isinstance(v, bool) and v >= 0):
        raise _Bad(what)
    if code == "pos" and not (isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0):
        raise _Bad(what)
    if code == "pos_int" and isinstance(v, int) and not isinstance(v, bool) and v < 1:
        raise _Bad(what)
    if code == "nonempty" and isinstance(v, str) and not v.strip():
        raise _Bad(what)
    if code == "hex" and isinstance(v, str) and not HEX_COLOUR.match(v):
        raise _Bad(what)
    if code == "device" and isinstance(v, str) and not DEVICE.match(v):
        raise _Bad(what)
    if code == "font" and isinstance(v, str):
        fonts = _installed_fonts()
        if not v.strip() or (fonts is not None and v not in fonts):
            raise _Bad(what)


def _convert(spec: Spec, v: Any, name: str, top: str) -> Any:
    """Check ``v`` against ``spec`` and convert (lists → tuples where the default is a tuple)."""
    def bad() -> _Bad:
        return _Bad(describe(spec, name))

    k = spec.kind
    if spec.optional and v == "auto":  # TOML has no null: "auto" = None (the scene chooses)
        return None
    if k == "any":
        if isinstance(v, (dict, list)):
            raise bad()
        _check_rule(name, v)
        return v
    if k == "str":
        if not isinstance(v, str):
            raise bad()
    elif k == "bool":
        if not isinstance(v, bool):
            raise bad()
    elif k == "int":
        if isinstance(v, bool) or not isinstance(v, int):
            raise bad()
    elif k == "float":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise bad()
        v = float(v)
    elif k == "choice":
        if v not in spec.choices:
            raise bad()
        return v
    elif k in ("list", "tuple"):
        if not isinstance(v, list):
            raise bad()
        if k == "tuple":
            if len(v) != len(spec.items):
                raise bad()
            return tuple(_convert(s, x, name, top) for s, x in zip(spec.items, v))
        if spec.length is not None and len(v) != spec.length:
            raise bad()
        try:
            return tuple(_convert(spec.item or ANY, x, name, top) for x in v)
        except _Bad:
            raise bad() from None
    elif k == "dict":
        if not isinstance(v, dict):
            raise bad()
        return {str(a): _convert(spec.item or ANY, x, name, top) for a, x in v.items()}
    try:
        _check_rule(name, v)
    except _Bad:
        raise bad() from None
    return v


def _err(course: Course, section: str | None, key: str, value: Any, what: str) -> UserError:
    where = f"[{section}] " if section else ""
    val = f" = {_show(value)}" if value is not _MISSING else ""
    return UserError(f"course config {course.label}: {where}{key}{val} — {what}")


_MISSING = object()


def validate_knob(course: Course, section: str | None, knob: Knob, value: Any,
                  cls: type | None = None) -> Any:
    """The converted value of ``knob`` from ``section``, or a one-line UserError."""
    try:
        out = _convert(knob.spec, value, knob.name, knob.name)
        if knob.name == "beats" and cls is not None:
            allowed = beat_names(cls)
            wrong = [b for b in out if b not in allowed]
            if wrong or not out:
                raise _Bad(f"must be a non-empty list of beats of {cls.__name__}: "
                           + ", ".join(allowed))
        if isinstance(knob.default, list) and isinstance(out, tuple):
            out = list(out)
        return out
    except _Bad as e:
        what = e.what if e.what.startswith("must") else "must be " + e.what
        raise _err(course, section, knob.name, value, what) from None


def _theme_knobs() -> dict[str, Knob]:
    from scenes.theme import Theme

    out = {}
    for f in dataclasses.fields(Theme):
        default = f.default
        spec = _spec_from_value(default) or STR
        out[f.name] = Knob(f.name, default, spec, Theme)
    return out


def _theme_value(course: Course, key: str, value: Any) -> Any:
    knob = _theme_knobs()[key]
    try:
        if knob.spec == STR and key not in ("font", "mono"):
            if not isinstance(value, str) or not HEX_COLOUR.match(value):
                raise _Bad("a colour as #RRGGBB, e.g. '#58C4DD'")
            return value
        if key in ("font", "mono"):
            if not isinstance(value, str):
                raise _Bad("an installed font name (see fc-list)")
            _check_rule("font", value)
            return value
        v = _convert(knob.spec, value, "", "")
        if key == "digits" and not 0 <= v <= 6:
            raise _Bad("an integer from 0 to 6")
        if knob.spec.kind == "float" and v <= 0:
            raise _Bad("a positive number")
        return v
    except _Bad as e:
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
        if k not in GENERIC_KEYS:
            raise _err(course, None, k, v, "unknown top-level key; allowed: "
                       + ", ".join(GENERIC_KEYS) + " and the sections "
                       + ", ".join([*RESERVED_SECTIONS, *(allowed_sections or ["<scene>"])]))
        base = knobs(_gpt_scene())
        validate_knob(course, None, base[k], v)


def _section_owner(cls: type) -> type:
    """The most-derived class that declares ``config_section`` (the section's owner)."""
    return next(k for k in cls.__mro__ if "config_section" in k.__dict__)


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
        if k not in ks:
            raise _err(course, section, k, v, "unknown key; allowed: "
                       + ", ".join([*ks, "captions"]))
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


def apply_course_config(scene: Any, course: Course | None = None) -> Course:
    """Apply the course config to ``scene``: theme, its section's knobs, caption overrides.
    Called by GPTScene.construct before the trace is loaded. Raises a one-line UserError."""
    course = course or load_course()
    cls = type(scene)
    sections = _known_sections(cls)
    validate_top(course, sections)
    theme = validate_theme(course)
    notes: list[str] = []
    values, captions = scene_values(course, cls, notes)
    if theme:
        from scenes.theme import use_theme

        use_theme(**theme)
    for k, v in values.items():
        setattr(scene, k, v)
    if captions:
        scene.captions = {**dict(getattr(cls, "captions", {}) or {}), **captions}
    if course.path is not None and course.path.resolve() != DEFAULT_PATH.resolve():
        from tensors.errors import note

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
            if _is_gpt_scene(obj) and getattr(obj, "config_section", ""):
                names.add(obj.config_section)
        if getattr(cls, "config_section", ""):
            names.add(cls.config_section)
    return names


def _read(p: Path) -> str:
    try:
        return p.read_text(errors="replace")
    except OSError:
        return ""


# ====================================================================== discovery
@dataclasses.dataclass
class SceneEntry:
    id: str              # predictable name: module stem (primary class) or snake_case class
    cls: type
    file: Path
    module: str
    primary: bool

    @property
    def class_name(self) -> str:
        return self.cls.__name__


def _snake(name: str) -> str:
    name = re.sub(r"Scene$", "", name) or name
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _is_slides(cls: type) -> bool:
    return any(k.__name__ == "BaseSlide" for k in cls.__mro__)


def _renderable(obj: Any, mod: types.ModuleType) -> bool:
    return (_is_gpt_scene(obj) and obj.__module__ == mod.__name__ and not _is_slides(obj)
            and not obj.__name__.startswith("_") and bool(getattr(obj, "beats", ()))
            and obj.__name__ != "GPTScene")


def _import_file(path: Path) -> types.ModuleType:
    path = path.resolve()
    if path.parent == SCENES_DIR:
        return importlib.import_module(f"scenes.{path.stem}")
    name = f"_course_{path.stem}_{abs(hash(str(path))) % 10**8}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[name]
        raise
    finally:
        sys.path.remove(str(path.parent))
    return mod


def scene_files() -> list[Path]:
    """Candidate scene modules in scenes/ (not the infrastructure modules)."""
    return sorted(p for p in SCENES_DIR.glob("*.py")
                  if p.stem not in NOT_SCENES and not p.stem.startswith("_"))


def discover(extra: Iterable[str | os.PathLike] = (), all_classes: bool = False
             ) -> tuple[list[SceneEntry], list[tuple[Path, str]]]:
    """Scenes in story order, and (file, one-line reason) for files that failed to import.

    In scenes/, each module's *primary* class (the one whose ``config_section`` is the
    module's stem, else its only renderable class) is a scene, named by the stem; other
    classes only with ``all_classes``. In ``extra`` (course files) every renderable class
    is a scene, named snake_case (``MyAttention`` → ``my_attention``).
    """
    entries: list[SceneEntry] = []
    errors: list[tuple[Path, str]] = []
    files = [(p, False) for p in scene_files()] + [(Path(x), True) for x in extra]
    for path, is_extra in files:
        try:
            mod = _import_file(path)
        except UserError:
            raise
        except BaseException as e:  # a broken scene file must not hide the others
            if isinstance(e, KeyboardInterrupt):
                raise
            msg = " ".join(f"{type(e).__name__}: {e}".split())
            errors.append((path, msg[:300]))
            continue
        classes = [o for o in vars(mod).values() if _renderable(o, mod)]
        classes.sort(key=lambda c: inspect.getsourcelines(c)[1] if _has_source(c) else 0)
        if not classes:
            continue
        if is_extra:
            for c in classes:
                entries.append(SceneEntry(_snake(c.__name__), c, path.resolve(), mod.__name__, True))
            continue
        primary = [c for c in classes if c.__dict__.get("config_section") == path.stem]
        prim = primary[0] if primary else (classes[0] if len(classes) == 1 else None)
        for c in classes:
            if c is prim:
                entries.append(SceneEntry(path.stem, c, path.resolve(), mod.__name__, True))
            elif all_classes:
                entries.append(SceneEntry(_snake(c.__name__), c, path.resolve(), mod.__name__,
                                          False))
    return sorted(entries, key=_story_key), errors


def _has_source(c: type) -> bool:
    try:
        inspect.getsourcelines(c)
        return True
    except (OSError, TypeError):
        return False


def _story_key(e: SceneEntry) -> tuple[int, str, int, str]:
    """Story order; a course's subclass takes the place of the scene it extends."""
    stem = Path(e.file).stem
    for k in e.cls.__mro__:
        mstem = k.__module__.rsplit(".", 1)[-1]
        if mstem in STORY_ORDER:
            stem = mstem
            break
    idx = STORY_ORDER.index(stem) if stem in STORY_ORDER else len(STORY_ORDER)
    return (idx, stem if idx == len(STORY_ORDER) else "", 0 if e.primary else 1, e.id)


def check_course(course: Course, entries: list[SceneEntry], failed: Iterable[Path] = ()
                 ) -> list[str]:
    """Validate the whole config against ``entries`` (``failed``: scene files that did not
    import); returns notes. Raises UserError."""
    failed = list(failed)
    sections = {getattr(e.cls, "config_section", "") for e in entries} - {""}
    sections |= {p.stem for p in failed}  # present but broken now: don't call their sections unknown
    validate_top(course, sections)
    validate_theme(course)
    notes: list[str] = []
    seen: set[str] = set()
    for e in entries:
        scene_values(course, e.cls, notes)
        seen.add(getattr(e.cls, "config_section", ""))
    # a section for a scene file that is present but not discovered (e.g. broken) is
    # checked for its shape only
    for name in sections - seen:
        if name in course.data and not isinstance(course.data[name], dict):
            raise _err(course, None, name, course.data[name], f"must be a table: [{name}]")
    if "captions" in course.data:
        caps = validate_captions(course, "captions", course.data["captions"], None)
        known = set().union(*[set(getattr(e.cls, "captions", {}) or {}) for e in entries]) \
            if entries else set()
        for k, v in caps.items():
            if entries and k not in known:
                raise _err(course, "captions", k, v, "unknown caption; allowed: "
                           + ", ".join(sorted(known)))
    return notes


# ====================================================================== template
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if v is None:
        return '"auto"'
    return json.dumps(str(v))


def _doc(kn: Knob) -> str:
    """A knob's doc as the config spells it: TOML has no None, "auto" stands for it."""
    return re.sub(r"\bNone\b", '"auto"', kn.doc) if kn.spec.optional else kn.doc


def _key(k: str) -> str:
    return k if re.match(r"^[A-Za-z0-9_-]+$", k) else json.dumps(k)


def _wrap_comment(text: str, width: int = 92) -> list[str]:
    import textwrap

    return ["## " + line for line in textwrap.wrap(text, width - 3)] if text else []


def template(entries: list[SceneEntry]) -> str:
    """The fully documented course config: every knob of every scene, commented out."""
    from scenes.theme import Theme

    g = knobs(_gpt_scene())
    out = [
        "# gpt-scenes course config — every knob of every scene, with its default, commented out",
        "# (`# key = value`; lines starting `##` say what the knob does).",
        "# Copy it to ./gpt-scenes.toml (or point $GPT_SCENES_COURSE at your copy), uncomment",
        "# and change what your course needs, then re-render: ./render.sh",
        "# Check it without rendering: python -m scenes.course check gpt-scenes.toml",
        "# Generated by `python -m scenes.course template` from the scene classes.",
        "",
        "# --- every scene (a scene's own section wins) ---",
    ]
    for k in GENERIC_KEYS:
        out += _wrap_comment(_doc(g[k]))
        out.append(f"# {k} = {_toml_value(g[k].default)}")
    out += ["", "# --- the look: colours as #RRGGBB, fonts by name (fc-list shows them) ---",
            "[theme]"]
    for f in dataclasses.fields(Theme):
        out.append(f"# {f.name} = {_toml_value(f.default)}")
    out += ["", "# --- caption wording for any scene that has the key (see each scene's",
            "#     [<scene>.captions] below; keep the {placeholders}) ---", "[captions]"]
    seen: set[str] = set()
    for e in entries:
        cls = e.cls
        sec = getattr(cls, "config_section", "")
        if not e.primary or not sec or sec in seen:
            continue
        seen.add(sec)
        ks = knobs(cls)
        doc = (cls.__dict__.get("__doc__") or sys.modules[cls.__module__].__doc__ or "")
        doc = doc.strip().split("\n")[0]
        out += ["", f"# --- {e.id}: {cls.__name__} ({e.file.name}) — {doc}".rstrip(" —"),
                f"[{sec}]"]
        for name, kn in ks.items():
            out += _wrap_comment(_doc(kn))
            if name == "beats":
                out += _wrap_comment("Beats in order; leave some out to skip them, or reorder.")
            out.append(f"# {name} = {_toml_value(kn.default)}")
        caps = dict(getattr(cls, "captions", {}) or {})
        if caps:
            out.append(f"[{sec}.captions]")
            for k, v in caps.items():
                out.append(f"# {_key(k)} = {_toml_value(v)}")
    return "\n".join(out) + "\n"


# ====================================================================== command line
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message}; see --help\n")


def _entries(args: argparse.Namespace, all_classes: bool = False) -> list[SceneEntry]:
    entries, errors = discover(getattr(args, "scenes", None) or (), all_classes=all_classes)
    for path, msg in errors:
        print(f"[gpt-scenes] skipped {path}: {msg}", file=sys.stderr)
    args.failed = [p for p, _ in errors]
    return entries


def main(argv: list[str] | None = None) -> int:
    p = _Parser(prog="python -m scenes.course", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    c = sub.add_parser("check", help="validate a course config against every scene")
    c.add_argument("file", nargs="?", help=f"default: ${ENV_VAR}, ./{LOCAL_NAME}, assets/course.toml")
    c.add_argument("--scenes", nargs="*", default=[], help="course .py files with scene classes")
    ls = sub.add_parser("list", help="the scenes found, in story order")
    ls.add_argument("--scenes", nargs="*", default=[])
    ls.add_argument("--all", action="store_true", help="also secondary classes in scenes/")
    ls.add_argument("--json", action="store_true")
    sh = sub.add_parser("show", help="the knob values each scene will use")
    sh.add_argument("file", nargs="?")
    sh.add_argument("--scenes", nargs="*", default=[])
    it = sub.add_parser("init", help=f"write a starter config (default ./{LOCAL_NAME})")
    it.add_argument("path", nargs="?", default=LOCAL_NAME)
    sub.add_parser("template", help="print the fully commented config")
    w = sub.add_parser("warm", help="compute each scene's trace once (cache), check layer/head")
    w.add_argument("names", nargs="*", help="scene ids or class names (default: all)")
    w.add_argument("--scenes", nargs="*", default=[])
    args = p.parse_args(argv)

    with exit_on_user_error("python -m scenes.course"):
        if args.cmd == "template":
            sys.stdout.write(template(_entries(args)))
            return 0
        if args.cmd == "init":
            dest = Path(args.path)
            if dest.exists():
                raise UserError(f"{dest} already exists; edit it, or pass another path")
            src = DEFAULT_PATH.read_text() if DEFAULT_PATH.is_file() else template(_entries(args))
            dest.write_text(src)
            print(f"wrote {dest}: uncomment and change what your course needs, then ./render.sh")
            return 0
        if args.cmd == "list":
            entries = _entries(args, all_classes=args.all)
            if args.json:
                print(json.dumps([{"id": e.id, "class": e.class_name, "file": str(e.file),
                                   "primary": e.primary} for e in entries]))
            else:
                for e in entries:
                    print(f"{e.id:<22} {e.class_name:<28} {e.file}")
            return 0
        course = load_course(getattr(args, "file", None))
        if args.cmd == "check":
            entries = _entries(args, all_classes=True)
            notes = check_course(course, entries, args.failed)
            for n in notes:
                print(f"[gpt-scenes] {n}", file=sys.stderr)
            print(f"course config {course.label}: OK ({len(entries)} scenes checked)")
            return 0
        if args.cmd == "show":
            entries = _entries(args)
            check_course(course, entries, args.failed)
            print(f"# course config: {course.label}")
            for e in entries:
                values, caps = scene_values(course, e.cls)
                print(f"\n[{e.id}]  # {e.class_name}")
                for name, kn in knobs(e.cls).items():
                    v = values.get(name, kn.default)
                    mark = "   # from the course config" if name in values else ""
                    print(f"{name} = {_toml_value(v)}{mark}")
                for k, v in caps.items():
                    print(f"captions.{_key(k)} = {_toml_value(v)}   # from the course config")
            return 0
        if args.cmd == "warm":
            return _warm(course, _entries(args, all_classes=True), args.names)
    return 0


def select(entries: list[SceneEntry], names: list[str]) -> list[SceneEntry]:
    """Entries named by id, class name or file stem; a one-line UserError for unknown names."""
    if not names:
        return [e for e in entries if e.primary]
    out: list[SceneEntry] = []
    for n in names:
        hit = [e for e in entries if n in (e.id, e.class_name)] or \
              [e for e in entries if e.primary and Path(e.file).stem == n]
        if not hit:
            ids = ", ".join(e.id for e in entries if e.primary) or "(none found)"
            raise UserError(f"no scene named {n!r}; scenes: {ids}")
        out += [h for h in hit if h not in out]
    return out


def _warm(course: Course, entries: list[SceneEntry], names: list[str]) -> int:
    """Compute the traces the scenes start from (their prompt and model) once, so parallel
    renders read the cache; also check layer/head knobs against the model."""
    from tensors import trace
    from tensors.errors import note

    todo = select(entries, names)
    done: set[tuple[str, str]] = set()
    for e in todo:
        values, _ = scene_values(course, e.cls)
        get = lambda k, d=None: values.get(k, getattr(e.cls, k, d))  # noqa: E731
        prompt, model, device = get("prompt"), get("model", "auto"), get("device")
        key = (prompt, str(model))
        if key not in done:
            note(f"trace for {e.id}: {prompt!r} ({model})")
            done.add(key)
        t = trace(prompt, model, device=device, quiet=True)
        layer, head = get("layer"), get("head")
        if isinstance(layer, int) or isinstance(head, int):
            try:
                t.check_layer_head(layer if isinstance(layer, int) else None,
                                   head if isinstance(head, int) else None)
            except UserError as err:
                raise UserError(f"[{e.cls.config_section}] {err}") from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
