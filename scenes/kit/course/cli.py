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
from .template import _key, _toml_value, template
from .validate import check_imports, scene_values


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)   # an abbreviated option is an error, never a guess
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message}; see --help\n")


def _entries(args: argparse.Namespace, all_classes: bool = False) -> list[SceneEntry]:
    asked = getattr(args, "scenes", None) or ()
    entries, errors = discover(asked, all_classes=all_classes)
    check_imports(asked, errors)
    for path, msg in errors:
        print(f"[gpt-scenes] skipped {path}: {msg}", file=sys.stderr)
    args.failed = [p for p, _ in errors]
    return entries


def main(argv: list[str] | None = None) -> int:
    p = _Parser(prog="python -m scenes.kit.course", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    c = sub.add_parser("check", help="validate a course config against every scene")
    c.add_argument("file", nargs="?", help=f"default: ${ENV_VAR}, ./{LOCAL_NAME}, the shipped default")
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
    w = sub.add_parser("warm", help="compute each scene's trace once (cache)")
    w.add_argument("names", nargs="*", help="scene ids or class names (default: all)")
    w.add_argument("--scenes", nargs="*", default=[])
    args = p.parse_args(argv)

    with exit_on_user_error("python -m scenes.kit.course"):
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
