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

import contextlib
import sys
from typing import Iterator

EXIT_USER_ERROR = 2


class UserError(Exception):
    """A mistake in the user's input. Its message is one line: the problem and the fix."""


@contextlib.contextmanager
def exit_on_user_error(prog: str = "gpt-scenes") -> Iterator[None]:
    """Turn a :class:`UserError` raised inside the block into one stderr line and exit 2."""
    try:
        yield
    except UserError as e:
        msg = " ".join(str(e).split())  # always one line
        print(f"{prog}: error: {msg}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_USER_ERROR) from None


def note(msg: str) -> None:
    """A one-line progress/status note on stderr (never on stdout, which may carry JSON)."""
    print(f"[gpt-scenes] {msg}", file=sys.stderr, flush=True)
