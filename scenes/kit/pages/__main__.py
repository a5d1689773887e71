"""``python -m scenes.kit.pages fetch | write HTML_DIR [SCENE ...]``."""
from __future__ import annotations

import sys

USAGE = "usage: python -m scenes.kit.pages fetch | write HTML_DIR [SCENE ...]"


def main(argv: list[str]) -> int:
    from tensors import exit_on_user_error

    with exit_on_user_error("scenes.kit.pages"):
        if argv == ["fetch"]:
            from .vendor import PACKAGES

            for p in PACKAGES:
                print(p.fetch())
            return 0
        if len(argv) >= 2 and argv[0] == "write":
            from . import write_pages

            for p in write_pages(argv[1], argv[2:]):
                print(p)
            return 0
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
