"""``python -m scenes.render.check_job FILE CLASS OUT.json``: the ``--check`` job of one scene
in a ``./render.sh --check`` run — the same legibility and equation-ledger checks as
``gpt-scenes check FILE.py CLASS`` (:func:`scenes.kit.check_cli.check_entry`), with the
render's course config (``$GPT_SCENES_COURSE``), run beside the scene's render jobs.

Writes the findings to OUT.json (read by the driver for the summary) and prints them.
Exit status 0 when the checks ran (whatever they found: the driver reports it), 2 for a
user error (one line), 1 if the check itself crashed.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

PROG = "render --check"


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m scenes.render.check_job FILE CLASS OUT.json", file=sys.stderr)
        return 2
    file, class_name, out = argv
    from tensors import UserError, exit_on_user_error
    from tensors.store import atomic_write

    with exit_on_user_error(PROG):
        from scenes.kit.check_cli import check_entry, problem_lines
        from scenes.kit.course.discover import discover

        entries, failed = discover([file], all_classes=True)
        for path, msg in failed:
            if Path(path).resolve() == Path(file).resolve():
                raise UserError(f"{file} does not import: {msg}")
        mine = [e for e in entries if e.class_name == class_name
                and Path(e.file).resolve() == Path(file).resolve()]
        if not mine:
            raise UserError(f"{file} has no GPTScene class {class_name} with beats")
        result = check_entry(mine[0])
        with atomic_write(out, "w") as f:
            json.dump(result, f, ensure_ascii=False, indent=1)
        for line in problem_lines(result):
            print(f"check: {line}")
        print(f"check: {result['problems']} problem(s) in {len(result['beats'])} beats")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
