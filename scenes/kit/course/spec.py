"""What a course value must look like (:class:`Spec`) and converting a value to it.

A Spec comes from a knob's type hint or default; name-based rules add ranges (a ``layer``
is an integer ≥ 0, a ``*_color`` is ``#RRGGBB`` …). :func:`convert` raises :class:`Bad`
with the end of a "must be …" sentence.
"""
from __future__ import annotations

import collections.abc as cabc
import dataclasses
import math
import re
import types
import typing
from typing import Any

import manimpango

class Range:
    """Allowed numbers of a knob, written in its hint: ``ClassVar[Annotated[int, Range(1, 12)]]``
    (``lo``/``hi`` inclusive, None = open; ``above`` = strictly greater than ``lo``).
    For a list knob the range applies to each item; ``min_len`` is the fewest items."""

    def __init__(self, lo: float | None = None, hi: float | None = None, *,
                 above: bool = False, min_len: int = 0):
        self.lo, self.hi, self.above, self.min_len = lo, hi, above, min_len

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Range) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((self.lo, self.hi, self.above, self.min_len))

    def __repr__(self) -> str:
        return f"Range({self.lo}, {self.hi}, above={self.above}, min_len={self.min_len})"

    def ok(self, v: float) -> bool:
        if self.lo is not None and (v <= self.lo if self.above else v < self.lo):
            return False
        return self.hi is None or v <= self.hi

    def text(self, kind: str) -> str:
        """'an integer from 1 to 12', 'a number > 0', 'a number ≥ 0' …"""
        what = "an integer" if kind == "int" else "a number"
        if self.hi is None and (self.lo == 0 and self.above or kind == "int" and self.lo == 1):
            return "a positive integer" if kind == "int" else "a positive number"
        g = lambda x: f"{x:g}" if isinstance(x, float) else str(x)  # noqa: E731
        if self.lo is not None and self.hi is not None and not self.above:
            return f"{what} from {g(self.lo)} to {g(self.hi)}"
        parts = []
        if self.lo is not None:
            parts.append(f"{'>' if self.above else '≥'} {g(self.lo)}")
        if self.hi is not None:
            parts.append(f"≤ {g(self.hi)}")
        return f"{what} {' and '.join(parts)}" if parts else what


@dataclasses.dataclass(frozen=True)
class Spec:
    """What a config value must look like. kind: str int float bool any list tuple dict choice."""

    kind: str
    item: "Spec | None" = None            # list item / dict value
    items: tuple["Spec", ...] = ()        # tuple positions
    length: int | None = None             # list: required length
    choices: tuple[Any, ...] = ()
    optional: bool = False
    range: Range | None = None            # int/float: allowed values
    min_len: int = 0                      # list: fewest items


STR, INT, FLOAT, BOOL, ANY = (Spec("str"), Spec("int"), Spec("float"), Spec("bool"), Spec("any"))


def spec_from_value(v: Any, nested: bool = False) -> Spec | None:
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
        specs = [spec_from_value(x, True) for x in v.values()]
        if any(s is None for s in specs):
            return None
        return Spec("dict", item=specs[0] if specs and all(s == specs[0] for s in specs) else ANY)
    if isinstance(v, (list, tuple)):
        if not v:
            return Spec("list", item=ANY)
        specs = [spec_from_value(x, True) for x in v]
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


def spec_from_hint(h: Any) -> Spec | None:
    """A Spec from a type hint, or None when the hint says too little (Any, unknown types)."""
    origin, args = typing.get_origin(h), typing.get_args(h)
    if origin is typing.ClassVar:
        return spec_from_hint(args[0]) if args else None
    if origin is typing.Annotated:
        base = spec_from_hint(args[0])
        rng = next((a for a in h.__metadata__ if isinstance(a, Range)), None)
        if base is None or rng is None:
            return base
        if base.kind == "list" and base.item is not None:
            item = dataclasses.replace(base.item, range=rng) if base.item.kind in ("int", "float") \
                else base.item
            return dataclasses.replace(base, item=item, min_len=rng.min_len)
        return dataclasses.replace(base, range=rng)
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
            s = spec_from_hint(rest[0])
            return dataclasses.replace(s, optional=True) if s else None
        if set(rest) <= {int, float}:
            return FLOAT
        return None
    if origin is typing.Literal:
        return Spec("choice", choices=tuple(args))
    if origin in (list, cabc.Sequence, cabc.MutableSequence, set, frozenset):
        s = spec_from_hint(args[0]) if args else None
        return Spec("list", item=s) if s else None
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            s = spec_from_hint(args[0])
            return Spec("list", item=s) if s else None
        specs = [spec_from_hint(a) for a in args]
        if not specs or any(s is None for s in specs):
            return None
        if all(s == specs[0] for s in specs):
            return Spec("list", item=specs[0], length=len(specs))
        return Spec("tuple", items=tuple(specs))
    if origin in (dict, cabc.Mapping):
        s = spec_from_hint(args[1]) if len(args) == 2 else None
        return Spec("dict", item=s) if s else None
    return None


HEX_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


class Bad(Exception):
    def __init__(self, what: str):
        self.what = what


def show_value(v: Any) -> str:
    """``v`` as an error message shows it: one line (control characters escaped, keys of a
    table quoted unless bare), at most about 80 characters."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        s = repr(v)
        return s if len(s) <= 80 else s[:76] + "…" + s[0]
    if isinstance(v, dict):
        s = "{" + ", ".join(f"{k if re.fullmatch(r'[A-Za-z0-9_-]+', str(k)) else repr(k)} = "
                            f"{show_value(x)}" for k, x in v.items()) + "}"
        return s if len(s) <= 80 else s[:76] + " …}"
    if isinstance(v, (list, tuple)):
        s = "[" + ", ".join(show_value(x) for x in v) + "]"
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
    if spec.kind in ("int", "float") and spec.range is not None:
        return spec.range.text(spec.kind)
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
        return "one of " + ", ".join(show_value(c) for c in spec.choices)
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
    if item.range is not None:
        s = "a list of " + re.sub(r"^an? (positive )?(integer|number)",
                                  lambda m: (m.group(1) or "") + m.group(2) + "s",
                                  item.range.text(item.kind))
    if spec.length:
        s += f" ({spec.length} items)"
    if spec.min_len:
        s += f" (at least {spec.min_len})"
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
            _FONTS = set(manimpango.list_fonts())
        except Exception:
            _FONTS = set()
    return _FONTS or None


def check_rule(name: str, v: Any) -> None:
    rule = _rule(name)
    if not rule:
        return
    code, what = rule
    if code == "ge0" and not (isinstance(v, int) and not isinstance(v, bool) and v >= 0):
        raise Bad(what)
    if code == "pos" and not (isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0):
        raise Bad(what)
    if code == "pos_int" and isinstance(v, int) and not isinstance(v, bool) and v < 1:
        raise Bad(what)
    if code == "nonempty" and isinstance(v, str) and not v.strip():
        raise Bad(what)
    if code == "hex" and isinstance(v, str) and not HEX_COLOUR.match(v):
        raise Bad(what)
    if code == "device" and isinstance(v, str) and not DEVICE.match(v):
        raise Bad(what)
    if code == "font" and isinstance(v, str):
        fonts = _installed_fonts()
        if not v.strip() or (fonts is not None and v not in fonts):
            raise Bad(what)


def convert(spec: Spec, v: Any, name: str, top: str) -> Any:
    """Check ``v`` against ``spec`` and convert (lists → tuples where the default is a tuple)."""
    def bad() -> Bad:
        return Bad(describe(spec, name))

    k = spec.kind
    if spec.optional and v == "auto":  # TOML has no null: "auto" = None (the scene chooses)
        return None
    if k == "any":
        if isinstance(v, (dict, list)):
            raise bad()
        check_rule(name, v)
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
        if spec.range is not None and not spec.range.ok(v):
            raise bad()
    elif k == "float":
        # TOML has nan and inf: never a sensible size, duration or count
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise bad()
        v = float(v)
        if spec.range is not None and not spec.range.ok(v):
            raise bad()
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
            return tuple(convert(s, x, name, top) for s, x in zip(spec.items, v))
        if spec.length is not None and len(v) != spec.length or len(v) < spec.min_len:
            raise bad()
        try:
            return tuple(convert(spec.item or ANY, x, name, top) for x in v)
        except Bad:
            raise bad() from None
    elif k == "dict":
        if not isinstance(v, dict):
            raise bad()
        return {str(a): convert(spec.item or ANY, x, name, top) for a, x in v.items()}
    try:
        check_rule(name, v)
    except Bad:
        raise bad() from None
    return v
