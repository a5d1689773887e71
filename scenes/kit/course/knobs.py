"""Knobs: the class attributes of a scene that a course may set, found by introspection.

A knob is a public data class attribute of a :class:`SceneKnobs` subclass (every scene);
its type hint (or, without one, its default) says what a config value must look like
(:class:`Spec`), and the ``#:`` comment above it is its documentation (it becomes the
commented template, ``python -m scenes.kit.course template``).

Beats are methods; :func:`beat` records what a beat needs from earlier beats (see
:mod:`scenes.kit.scene`), so a course's beat list can be checked before rendering.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import sys
import types
import typing
from typing import Annotated, Any, Callable, ClassVar, Sequence

from .spec import Range, Spec, spec_from_hint, spec_from_value

#: Top-level keys that apply to every scene (unless its section sets them).
GENERIC_KEYS = ("prompt", "model", "device", "pace")
#: Class attributes that are never configurable.
NOT_KNOBS = {"config_section", "captions", "trace"}


class SceneKnobs:
    """The knobs every scene has (the scene framework's GPTScene inherits them)."""

    #: The prompt run through the model.
    prompt: ClassVar[str] = "The capital of France is"
    #: "auto" (GPT-2 if reachable, else the bundled SmolLM2), a HF id, a directory, "smollm2".
    model: ClassVar[str] = "auto"
    #: None = best available (cuda > mps > cpu).
    device: ClassVar[str | None] = None
    #: Pace of the cut: every hold, reading pause and caption reading time × this (1 = each
    #: caption fully visible ≥ max(1.5 s, characters ÷ 15); 0.8 = a faster cut whose
    #: captions get 0.8 × that, for viewers who can pause; 1.25 = a slower one).
    pace: ClassVar[Annotated[float, Range(0.5, 2.0)]] = 1.0
    #: Beat method names, run in this order by ``construct``.
    beats: ClassVar[Sequence[str]] = ()
    #: Section of the course config file that overrides this scene's knobs.
    config_section: ClassVar[str] = ""
    #: Caption wording; a course config may override any key (``[captions]`` section).
    captions: ClassVar[dict[str, str]] = {}


def is_scene_class(obj: Any) -> bool:
    """True for classes with scene knobs (every GPTScene subclass)."""
    return inspect.isclass(obj) and issubclass(obj, SceneKnobs)


# ====================================================================== beats
def beat(needs: Sequence[str] = (), makes: Sequence[str] = ()) -> Callable[[Callable], Callable]:
    """Mark a method as a beat. ``needs``: state an earlier beat would have made (attribute
    names); before the beat runs, each need not on screen yet is built silently by the
    scene's ``build_<need>()``. ``makes``: state this beat leaves for later beats (only
    needed for a need that has no builder: then the course check refuses an order where
    no earlier beat makes it)."""
    def mark(fn: Callable) -> Callable:
        fn.beat_needs = tuple(needs)
        fn.beat_makes = tuple(makes)
        return fn
    return mark


def beat_needs(cls: type, name: str) -> tuple[str, ...]:
    return tuple(getattr(getattr(cls, name, None), "beat_needs", ()))


def order_problem(cls: type, beats: Sequence[str]) -> str | None:
    """Why ``beats`` cannot run in this order (a need with no builder that no earlier beat
    makes), or None. ``'beat_b needs grid, which only beat_a makes: put beat_a before it'``"""
    made: set[str] = set()
    for b in beats:
        for need in beat_needs(cls, b):
            if need not in made and not callable(getattr(cls, f"build_{need}", None)):
                makers = [m for m in beat_names(cls)
                          if need in getattr(getattr(cls, m, None), "beat_makes", ())]
                fix = (f"put {' or '.join(makers)} before it" if makers
                       else f"{cls.__name__} has no build_{need}()")
                return f"{b} needs {need}, which {'only ' if makers else 'no beat '}" \
                       f"{' or '.join(makers) + ' makes' if makers else 'makes'}: {fix}"
        made.update(getattr(getattr(cls, b, None), "beat_makes", ()))
        made.update(beat_needs(cls, b))
    return None


# ====================================================================== knob introspection
@dataclasses.dataclass
class Knob:
    name: str
    default: Any
    spec: Spec
    owner: type
    doc: str = ""


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


@functools.lru_cache(maxsize=None)
def _docs(klass: type) -> dict[str, str]:
    """``#:`` comments written just above each class attribute (Sphinx convention); read
    once per class (``inspect.getsource`` tokenizes the whole file: ~10 ms a class).
    Read-only: the dict is shared."""
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


def knobs(cls: type) -> dict[str, Knob]:
    """The configurable knobs of a scene class: public data class attributes."""
    out: dict[str, Knob] = {}
    chain = [k for k in cls.__mro__ if is_scene_class(k)]
    chain = [k for k in cls.__mro__ if is_scene_class(k)]
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
                spec = spec_from_hint(hints[name])
            if spec is None:
                spec = spec_from_value(value)
            elif spec.kind == "list" and spec.item is None:
                spec = spec_from_value(value) or spec
            if spec is None:
                continue
            prev = out.get(name)
            doc = docs.get(name) or (prev.doc if prev else "")
            if prev and name not in hints:  # a subclass's value keeps the inherited type
                spec = prev.spec
            out[name] = Knob(name, value, spec, klass, doc)
    for name in list(out):
        out[name].default = getattr(cls, name)
        out[name].owner = next(k for k in cls.__mro__ if name in k.__dict__)
    # lecturer's order: the prompt, the scene's own knobs (as defined), then beats and model
    first, last = ["prompt"], ["beats", "model", "device", "pace"]
    order = first + [n for n in out if n not in first + last] + last
    return {n: out[n] for n in order if n in out}


def beat_names(cls: type) -> list[str]:
    """Beat methods a section's ``beats`` may name: the defaults and every ``beat_*`` method."""
    names = list(getattr(cls, "beats", ()) or ())
    for n in dir(cls):
        if n.startswith("beat") and callable(getattr(cls, n, None)) and n not in names:
            names.append(n)
    return names
