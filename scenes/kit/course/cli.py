"""Command line: ``python -m scenes.kit.course check|list|show|init|template|warm``."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tensors import UserError, exit_on_user_error, trace
from tensors.errors import note
from tensors.store import atomic_write, writable_folder

from .config import DEFAULT_PATH, ENV_VAR, LOCAL_NAME, Course, load_course
from .discover import SceneEntry, check_course, discover, select
from .knobs import knobs
from .lecture import chapter, default_chapter, scene_files, scene_order
from .template import _key, _toml_value, template
from .validate import check_imports, scene_values


PROG = "python -m scenes.kit.course"


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)   # an abbreviated option is an error, never a guess
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message}; see --help\n")


def _entries(args: argparse.Namespace, all_classes: bool = False,
             course: Course | None = None) -> list[SceneEntry]:
    """The scenes: scenes/, the --scenes files and the course's own ``scene_files``."""
    asked = getattr(args, "scenes", None) or ()
    files = [*asked, *(scene_files(course) if course else ())]
    entries, errors = discover(dict.fromkeys(map(str, files)), all_classes=all_classes)
    check_imports(asked, errors)
    for path, msg in errors:
        print(f"[gpt-scenes] skipped {path}: {msg}", file=sys.stderr)
    args.failed = [p for p, _ in errors]
    return entries


def main(argv: list[str] | None = None) -> int:
    p = _Parser(prog=PROG, description="The course config (one TOML file per lecture): check it, "
                "list the scenes, show the values each scene will use, write a starter file.")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    c = sub.add_parser("check", help="validate a course config against every scene")
    c.add_argument("file", nargs="?", help=f"default: ${ENV_VAR}, ./{LOCAL_NAME}, the shipped default")
    c.add_argument("--scenes", nargs="*", default=[], help="course .py files with scene classes")
    ls = sub.add_parser("list", help="the scenes found, in story order")
    ls.add_argument("--scenes", nargs="*", default=[], help="course .py files with scene classes")
    ls.add_argument("--all", action="store_true", help="also secondary classes in scenes/")
    ls.add_argument("--json", action="store_true", help="print one JSON list")
    sh = sub.add_parser("show", help="the knob values each scene will use")
    sh.add_argument("file", nargs="?", help=f"default: ${ENV_VAR}, ./{LOCAL_NAME}, the shipped default")
    sh.add_argument("--scenes", nargs="*", default=[], help="course .py files with scene classes")
    it = sub.add_parser("init", help=f"write a starter config (default ./{LOCAL_NAME})")
    it.add_argument("path", nargs="?", default=LOCAL_NAME, help=f"where to write it (default ./{LOCAL_NAME})")
    sub.add_parser("template", help="print the fully commented config")
    w = sub.add_parser("warm", help="compute each scene's trace once (cache)")
    w.add_argument("names", nargs="*", help="scene ids or class names (default: all)")
    w.add_argument("--scenes", nargs="*", default=[], help="course .py files with scene classes")
    args = p.parse_args(argv)

    with exit_on_user_error(PROG):
        if args.cmd == "template":
            sys.stdout.write(template(_entries(args)))
            return 0
        if args.cmd == "init":
            dest = Path(args.path)
            if dest.exists() or dest.is_symlink():
                raise UserError(f"{dest} already exists; edit it, or pass another path")
            src = DEFAULT_PATH.read_text() if DEFAULT_PATH.is_file() else template(_entries(args))
            writable_folder(dest.parent, f"course init {dest}")
            try:
                with atomic_write(dest, "w") as f:
                    f.write(src)
            except OSError as e:
                raise UserError(f"course init: cannot write {dest} ({e.strerror or type(e).__name__}); "
                                "pass a path in a writable folder") from None
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
            entries = _entries(args, all_classes=True, course=course)
            errors: list[str] = []
            notes = check_course(course, entries, args.failed, errors=errors)
            for n in notes if not errors else []:  # with errors: only the errors
                print(f"[gpt-scenes] {n}", file=sys.stderr)
            for e in errors:
                print(f"{PROG}: error: {' '.join(e.split())}", file=sys.stderr)
            if errors:
                print(f"course config {course.label}: {len(errors)} problem(s)")
                return 2
            print(f"course config {course.label}: OK ({len(entries)} scenes checked)")
            return 0
        if args.cmd == "show":
            entries = _entries(args, course=course)
            check_course(course, entries, args.failed)
            print(f"# course config: {course.label}")
            for k in ("name", "title"):
                if k in course.data:
                    print(f"{k} = {_toml_value(course.data[k])}")
            order = scene_order(course)
            if order:
                entries = select(entries, order)
                print(f"scenes = {_toml_value([e.id for e in entries])}   # the lecture, in order")
            for e in entries:
                values, caps = scene_values(course, e.cls)
                print(f"\n[{e.id}]  # {e.class_name}")
                section = getattr(e.cls, "config_section", "") or ""
                print(f"chapter = {_toml_value(chapter(course, section) or chapter_default(e))}"
                      + ("   # from the course config" if chapter(course, section) else
                         "   # the class docstring"))
                resolved = resolved_values(e.cls, values)
                for name, kn in knobs(e.cls).items():
                    v = values.get(name, kn.default)
                    mark = "   # from the course config" if name in values else ""
                    if name in resolved:
                        mark += f"   # {resolved[name]}"
                    print(f"{name} = {_toml_value(v)}{mark}")
                for k, v in caps.items():
                    print(f"captions.{_key(k)} = {_toml_value(v)}   # from the course config")
            return 0
        if args.cmd == "warm":
            return _warm(course, _entries(args, all_classes=True), args.names)
    return 0

def chapter_default(e: SceneEntry) -> str:
    """The chapter title when the course sets none (see :func:`.lecture.default_chapter`)."""
    return default_chapter(e.cls, e.id)


def resolved_values(cls: type, values: dict) -> dict[str, str]:
    """What an automatic value resolves to for this scene, and why, by knob name: the head
    the attention rule picks (layer/head None), the answer token ("auto"). Costs a trace
    (cached), computed only for scenes with such a value."""
    get = lambda k: values.get(k, getattr(cls, k, None))  # noqa: E731
    out: dict[str, str] = {}
    auto_head = hasattr(cls, "search_layers") and hasattr(cls, "layer") and hasattr(cls, "head") \
        and (get("layer") is None or get("head") is None)
    auto_answer = hasattr(cls, "answer") and get("answer") in (None, "auto")
    if not (auto_head or auto_answer):
        return out
    t = trace(get("prompt"), get("model") or "auto", device=get("device"), quiet=True)
    if auto_head:
        import numpy as np

        from ..analysis.attention import head_scores, select_head

        nl, nh = t.info["n_layer"], t.info["n_head"]
        sl = get("search_layers")
        layers = sorted({int(x) % nl for x in sl}) if sl is not None else None
        scores = head_scores(t.pattern)
        if get("layer") is None and get("head") is None:
            L, H, _ = select_head(scores, layers)
            n = (len(layers) if layers is not None else nl) * nh
            why = (f"the rule picks layer {L} head {H}: the most long-range attention "
                   f"({scores[L, H]:.0%} of each query's weight on earlier words other than "
                   f"the first, itself and the previous one) of the {n} heads searched")
            out["layer"], out["head"] = why, why
        elif get("head") is None:
            L = int(get("layer")) % nl
            H = int(np.argmax(scores[L]))
            out["head"] = (f"the rule picks head {H} of layer {L}: the most long-range "
                           f"attention in that layer ({scores[L, H]:.0%})")
    if auto_answer:
        from ..analysis.mlp import resolve_answer

        a = resolve_answer(t, "auto")
        out["answer"] = (f"auto = {t.token_strs([a])[0]!r}: the model's most likely next "
                         f"token after the prompt")
    return out


def _warm(course: Course, entries: list[SceneEntry], names: list[str]) -> int:
    """Compute the traces the scenes start from (their prompt and model) once, so parallel
    renders read the cache (the knobs were checked against the model by check_course)."""
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
        trace(prompt, model, device=device, quiet=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
