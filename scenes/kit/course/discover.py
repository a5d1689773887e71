"""Discovery: the story scenes (every ``scenes/*.py``), course files' scene classes, story
order, selecting scenes by name, and checking a whole course against them."""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import os
import re
import sys
import types
from pathlib import Path
from typing import Any, Iterable

from tensors import UserError, trace

from .config import SCENES_DIR, Course, scene_files
from .knobs import beat_names, is_scene_class
from .lecture import check_notes_beats, scene_order, validate_lecture
from .validate import (_err, dry_prepare, scene_values, validate_class_knobs, validate_captions,
                       validate_theme, validate_top)
from .voice import voice_settings

#: The lecture's story order (scene ids = module stems); other scenes follow alphabetically.
STORY_ORDER = ("tokenization", "embedding", "transformer", "embedding_space", "attention", "mlp",
               "logit_lens", "softmax_temperature", "unembedding", "generation", "kv_cache")


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
    return (is_scene_class(obj) and obj.__module__ == mod.__name__ and not _is_slides(obj)
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


#: Knobs whose allowed values depend on the model or the prompt (checked against the trace).
MODEL_KNOBS = ("layer", "head", "search_layers", "query", "position", "answer")


def _story_default(cls: type, key: str) -> Any:
    """``key``'s default in the story scene ``cls`` is or extends (None for other scenes)."""
    for k in cls.__mro__:
        if k.__module__.startswith("scenes.") and k.__module__.rsplit(".", 1)[-1] in STORY_ORDER:
            return k.__dict__.get(key, getattr(k, key, None))
    return None


def check_against_model(course: Course, cls: type, values: dict[str, Any]) -> None:
    """Values of :data:`MODEL_KNOBS` the scene will use, checked against its model and
    prompt (the scene's ``model_problem``) — only when one is set (by the course, or by a
    course file's class to other than the story scene's default), so a course that sets
    none needs no model. Computes (and caches) the trace the render will read."""
    get = lambda k: values.get(k, getattr(cls, k, None))  # noqa: E731
    if not any(k in values or get(k) != _story_default(cls, k)
               for k in MODEL_KNOBS if hasattr(cls, k)):
        return
    t = trace(get("prompt"), get("model"), device=get("device"), quiet=True)
    problem = cls.model_problem(t, get)
    if problem:
        key, what = problem
        if key in values:
            raise _err(course, cls.config_section or None, key, values[key], what)
        raise UserError(f"scene {cls.__name__}: {key} = {get(key)!r} — {what}")


def check_course(course: Course, entries: list[SceneEntry], failed: Iterable[Path] = (),
                 rendered: Iterable[SceneEntry] | None = None,
                 errors: list[str] | None = None) -> list[str]:
    """Validate the whole config against ``entries`` (``failed``: scene files that did not
    import); returns notes. The model-dependent values are checked for the ``rendered``
    entries (default: all), as each costs a trace.

    Raises a one-line UserError at the first problem; with an ``errors`` list, every
    problem is appended to it instead (one line each: each key is checked on its own)."""
    with_model = None if rendered is None else {e.class_name for e in rendered}
    failed = list(failed)
    sections = {getattr(e.cls, "config_section", "") for e in entries} - {""}
    sections |= {p.stem for p in failed}  # present but broken now: don't call their sections unknown
    notes: list[str] = []

    def step(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except UserError as e:
            if errors is None:
                raise
            # the same problem met by every scene (an unknown model …) is said once
            def gist(m: str) -> str:  # the problem without "course config F: [section] "
                return re.sub(r"^course config .*?: (\[[^\]]+\] )?", "", m)
            if all(gist(x) != gist(str(e)) for x in errors):
                errors.append(str(e))
            return None

    def each_key(c: Course, table: str | None) -> list[Course]:
        """``c`` itself, or (collecting every error) one course per key of ``table`` (None:
        the top level), so that one bad key does not hide the next."""
        if errors is None:
            return [c]
        data = c.data if table is None else c.data.get(table)
        if not isinstance(data, dict):
            return [c]
        if table is None:
            return [Course(c.path, {k: v}, c.source) for k, v in data.items()] or [c]
        rest = {k: v for k, v in c.data.items() if k != table}
        return [Course(c.path, {**rest, table: {k: v}}, c.source) for k, v in data.items()] or [c]

    for c in each_key(course, None):
        step(validate_top, c, sections)
    for c in each_key(course, "theme"):
        step(validate_theme, c)
    for e in validate_lecture(course):
        step(_raise, e)
    order = scene_order(course)
    if order and entries:
        try:
            select(entries, order)
        except UserError as e:
            step(_raise, UserError(f"course config {course.label}: scenes — {e}"))
    step(voice_settings, course, True)  # a missing or broken voice: one line, before rendering
    seen: set[str] = set()
    for e in entries:
        section = getattr(e.cls, "config_section", "") or ""
        step(validate_class_knobs, e.cls)
        if errors is None:
            values, caps = scene_values(course, e.cls, notes)
        else:  # each key of the section on its own, then the whole (for its notes)
            for c in each_key(course, section) if section else []:
                step(scene_values, c, e.cls)
            r = step(scene_values, course, e.cls, notes)
            values, caps = r if r is not None else (None, None)
        if section:
            for err in check_notes_beats(course, section, list(beat_names(e.cls))):
                step(_raise, err)
        if values is not None and (with_model is None or e.class_name in with_model):
            step(check_against_model, course, e.cls, values)
            if values or caps or Path(e.file).parent != SCENES_DIR:  # check = render
                step(dry_prepare, course, e.cls, values, caps,
                     lambda p, m, d: trace(p, m, device=d, quiet=True))
        seen.add(section)
    # a section for a scene file that is present but not discovered (e.g. broken) is
    # checked for its shape only
    for name in sections - seen:
        if name in course.data and not isinstance(course.data[name], dict):
            step(_raise, _err(course, None, name, course.data[name], f"must be a table: [{name}]"))
    if "captions" in course.data:
        caps = step(validate_captions, course, "captions", course.data["captions"], None) or {}
        known = set().union(*[set(getattr(e.cls, "captions", {}) or {}) for e in entries]) \
            if entries else set()
        for k, v in caps.items():
            if entries and k not in known:
                step(_raise, _err(course, "captions", k, v, "unknown caption; allowed: "
                                  + ", ".join(sorted(known))))
    return notes


def _raise(e: Exception) -> None:
    raise e


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
