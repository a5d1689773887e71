"""``gpt-scenes check FILE.py [SCENE] [knob=value ...]``: the checks a story scene passes in
the tests, on any scene file — a scene of your own included — without rendering a video.

For each GPTScene class of the file (or the one named), the scene runs with its animations
skipped (seconds), and at the end of every beat:

- **legibility** (:mod:`scenes.kit.checks`): every text at least the size floor, no two texts
  overlapping, nothing off the frame;
- **equation ledger** (:mod:`scenes.kit.ledger`): every equation the scene showed, recomputed
  from its full-precision operands, agrees with the numbers drawn.

Exit status 0: every check passed; 1: problems (listed, one per line); 2: bad input.

    gpt-scenes check my_scene.py
    gpt-scenes check scenes/attention.py AttentionScene layer=3 head=1
    gpt-scenes check tokenization            (a story scene, by id)
"""
from __future__ import annotations

import argparse
import ast
from pathlib import Path
from typing import Any

#: An equation passes when recomputed and shown agree to this relative error (as the tests).
LEDGER_TOL = 1e-5


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def parser(prog: str) -> _Parser:
    p = _Parser(prog=prog, description="The legibility and equation-ledger checks of the tests, on any scene file "
                            "(a scene of your own included), without rendering a video.",
                formatter_class=argparse.RawDescriptionHelpFormatter,
                epilog="Exit status: 0 all checks passed, 1 problems found, 2 bad input.")
    p.add_argument("target", metavar="FILE.py|SCENE",
                   help="a scene file (any .py with GPTScene classes) or a story scene id")
    p.add_argument("rest", nargs="*", metavar="[CLASS] [knob=value ...]",
                   help="a scene class of the file (default: every one), then knob values "
                        "as Python literals (layer=3 prompt='The cat sat')")
    p.add_argument("--no-ledger", action="store_true", help="skip the equation ledger check")
    p.add_argument("--stills", metavar="DIR",
                   help="also save the frame at the end of every beat as DIR/<scene>_<beat>.png")
    return p


def _literal(v: str) -> Any:
    try:
        return ast.literal_eval(v)
    except (ValueError, SyntaxError):
        return v


def main(argv: list[str], prog: str = "python -m scenes.kit.check_cli") -> int:
    args = parser(prog).parse_args(argv)
    names = [a for a in args.rest if "=" not in a]
    knobs = {k: _literal(v) for k, v in (a.split("=", 1) for a in args.rest if "=" in a)}
    if len(names) > 1:
        parser(prog).error(f"one scene class at most, got {' '.join(names)}")
    from tensors import UserError, exit_on_user_error

    with exit_on_user_error(prog):
        return _check(args, names, knobs, UserError)
    return 2


def check_entry(e: Any, knobs: dict[str, Any] | None = None, ledger_check: bool = True
                ) -> dict[str, Any]:
    """Both checks of one scene (a :class:`scenes.kit.course.discover.SceneEntry`) with
    ``knobs``, as JSON-ready data: ``{"scene", "class", "file", "beats": {beat: [problem]},
    "ledger": {"shown": n, "wrong": [line]} or None, "problems": n}``. ``./render.sh --check``
    runs this for each scene it renders (:mod:`scenes.render.check_job`)."""
    from scenes.kit import ledger
    from scenes.kit.checks import check_beats

    report = check_beats(e.cls, **(knobs or {}))
    beats = {beat: list(found) for beat, found in report.items()}
    led = None
    if ledger_check:
        shown = getattr(report.scene, "ledger", [])
        wrong = [f"{q.where or '?'}: ledger: {q.text!r} is off by {err:.3g} (recomputed from "
                 "its operands)" for q in shown for err in [ledger.error(q)]
                 if not err < LEDGER_TOL]
        led = {"shown": len(shown), "wrong": wrong}
    return {"scene": e.id, "class": e.class_name, "file": str(e.file), "beats": beats,
            "ledger": led,
            "problems": sum(map(len, beats.values())) + (len(led["wrong"]) if led else 0)}


def problem_lines(result: dict[str, Any]) -> list[str]:
    """One line per problem of a :func:`check_entry` result (legibility, then ledger)."""
    lines = [f"{beat}: {p}" for beat, found in result["beats"].items() for p in found]
    return lines + (result["ledger"]["wrong"] if result["ledger"] else [])


def _check(args: argparse.Namespace, names: list[str], knobs: dict[str, Any], UserError) -> int:  # noqa: ANN001
    from scenes.kit.checks import beat_stills
    from scenes.kit.course.discover import discover, select
    from scenes.kit.course.knobs import knobs as scene_knobs

    is_file = args.target.endswith(".py")
    if is_file and not Path(args.target).is_file():
        raise UserError(f"{args.target}: no such file")
    entries, failed = discover([args.target] if is_file else [], all_classes=True)
    for path, msg in failed:
        if is_file and Path(path).resolve() == Path(args.target).resolve():
            raise UserError(f"{args.target} does not import: {msg}")
    if is_file:
        mine = [e for e in entries if Path(e.file).resolve() == Path(args.target).resolve()]
        if not mine:
            raise UserError(f"{args.target} has no GPTScene class with beats")
        todo = select(mine, names) if names else mine
    else:
        todo = select(entries, [args.target, *names])
    problems = 0
    for e in todo:
        unknown = sorted(set(knobs) - set(scene_knobs(e.cls)))
        if unknown:
            raise UserError(f"{e.class_name} has no knob {', '.join(unknown)}; its knobs: "
                            f"{', '.join(scene_knobs(e.cls))}")
        result = check_entry(e, knobs, ledger_check=not args.no_ledger)
        print(f"{e.class_name} ({e.file}): {len(result['beats'])} beats")
        for line in problem_lines(result):
            print(f"  {line}")
        if result["ledger"] is not None:
            print(f"  ledger: {result['ledger']['shown']} equation(s) shown, "
                  f"{len(result['ledger']['wrong'])} wrong")
        problems += result["problems"]
        if args.stills:
            for p in beat_stills(e.cls, args.stills, **knobs):
                print(f"  still {p}")
    print(f"{'OK' if not problems else f'{problems} problem(s)'}: {len(todo)} scene(s) checked")
    return 1 if problems else 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
