"""Issue 22, every command: no option accepted by abbreviation; bad paths and bad course
files are one line naming the problem and the fix, exit 2, nothing written."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RENDER = str(ROOT / "render.sh")
PY = sys.executable


def run(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 300,
        **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, cwd=cwd or ROOT,
                          env={**os.environ, **(env or {})}, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)


def one_line(r: subprocess.CompletedProcess, *words: str, code: int = 2) -> str:
    lines = [l for l in r.stderr.splitlines() if not l.startswith("[gpt-scenes]")]
    assert r.returncode == code and len(lines) == 1 and "Traceback" not in r.stderr, \
        (r.returncode, r.stderr[-2000:])
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


# ------------------------------------------------------------------ no abbreviations
@pytest.mark.parametrize("cmd,abbrev", [
    ([RENDER, "--lectur"], "--lectur"),
    ([RENDER, "--dry"], "--dry"),
    ([PY, "-m", "scenes.kit.course", "check", "--cours", "x.toml"], "--cours"),
    ([PY, "-m", "tensors", "extract", "--prompt", "hi", "--mod", "smollm2"], "--mod"),
])
def test_no_option_is_accepted_by_abbreviation(cmd, abbrev):
    one_line(run(*cmd), "unrecognized arguments", abbrev)


def test_internal_commands_refuse_abbreviations_too():
    r = run(PY, "scripts/render_driver/playcount.py", "f.py", "C", "--qual", "l")
    assert r.returncode == 2 and "unrecognized arguments: --qual" in r.stderr, r.stderr


def test_every_parser_refuses_abbreviations():
    """Every ArgumentParser in the project is built with allow_abbrev=False (or is one of the
    project's parser classes, which set it)."""
    import re

    found = []
    for d in ("tensors", "scenes", "scripts"):
        for p in (ROOT / d).rglob("*.py"):
            for m in re.finditer(r"ArgumentParser\(([^)]*)\)", p.read_text(encoding="utf-8")):
                found.append(p)
                if "allow_abbrev=False" not in m.group(1):
                    pytest.fail(f"{p}: ArgumentParser({m.group(1)}) accepts abbreviations")
    assert len(found) >= 5
    sys.path.insert(0, str(ROOT / "scripts"))
    from render_driver.cli import _Parser as RenderParser
    from scenes.kit.course.cli import _Parser as CourseParser
    from tensors.errors import OneLineParser

    for cls in (RenderParser, CourseParser, OneLineParser):
        assert cls(prog="x").allow_abbrev is False, cls
