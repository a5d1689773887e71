"""User-facing errors: one line that names the problem and the fix, exit code 2.

Everything a user can get wrong (prompt, model id, layer/head, paths, config values)
raises :class:`UserError`. Command-line entry points and scenes turn it into one line on
stderr and exit status 2 via :func:`exit_on_user_error`, never a traceback.

>>> try:
...     raise UserError("prompt is empty; pass some text, e.g. --prompt 'The capital of France is'")
... except UserError as e:
...     print(e)
prompt is empty; pass some text, e.g. --prompt 'The capital of France is'
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Iterator

EXIT_USER_ERROR = 2


class UserError(Exception):
    """A mistake in the user's input. Its message is one line: the problem and the fix."""


@contextlib.contextmanager
def exit_on_user_error(prog: str = "gpt-scenes") -> Iterator[None]:
    """Turn a :class:`UserError` raised inside the block into one stderr line and exit 2.

    A closed output pipe (``… | head``) ends the command quietly, exit 0, as a shell tool
    does: what was wanted was read."""
    try:
        yield
        sys.stdout.flush()      # a broken pipe found now, not in the interpreter's exit
    except UserError as e:
        msg = " ".join(str(e).split())  # always one line
        print(f"{prog}: error: {msg}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_USER_ERROR) from None
    except BrokenPipeError:
        with contextlib.suppress(OSError, ValueError):   # nothing more to flush at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0) from None


def note(msg: str) -> None:
    """A one-line progress/status note on stderr (never on stdout, which may carry JSON)."""
    print(f"[gpt-scenes] {msg}", file=sys.stderr, flush=True)


class OneLineParser(argparse.ArgumentParser):
    """argparse with gpt-scenes' error style: a usage mistake is one line on stderr, exit 2.

    ``see`` names where help is (default ``--help``); sub-parsers inherit the class when
    created with ``add_subparsers(parser_class=OneLineParser)``.

    >>> p = OneLineParser(prog="demo")
    >>> _ = p.add_argument("--n", type=int)
    >>> p.parse_args(["--n", "x"])                 # doctest: +SKIP
    demo: error: argument --n: invalid int value: 'x'; see --help
    """

    def __init__(self, *args, see: str = "--help", **kwargs):
        kwargs.setdefault("allow_abbrev", False)   # --dev is not --device: say so, never guess
        super().__init__(*args, **kwargs)
        self.see = see

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {' '.join(message.split())}; see {self.see}\n")
