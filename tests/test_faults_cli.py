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
    lines = [l for l in r.stderr.splitlines() if not l.startswith(("[gpt-scenes]", "[setup]", "[render]"))]
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
    r = run(PY, "-m", "scenes.render.playcount", "f.py", "C", "--qual", "l")
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
    from scenes.render.cli import _Parser as RenderParser
    from scenes.kit.course.cli import _Parser as CourseParser
    from tensors.errors import OneLineParser

    for cls in (RenderParser, CourseParser, OneLineParser):
        assert cls(prog="x").allow_abbrev is False, cls


# ------------------------------------------------------------------ bad paths, bad course files
COURSE = [PY, "-m", "scenes.kit.course"]


@pytest.fixture
def bad(tmp_path) -> Path:
    """A folder of bad inputs: a Latin-1 course file, a symlink loop, a folder, a file, a
    course .py that raises."""
    (tmp_path / "latin1.toml").write_bytes(b'[tokenization]\nprompt = "caf\xe9"\n')
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    (tmp_path / "raises.py").write_text('raise ValueError("oops in my course file")\n')
    return tmp_path


@pytest.mark.parametrize("args,words", [
    (COURSE + ["check", "latin1.toml"], ["not UTF-8", "0xe9", "save it as UTF-8"]),
    ([RENDER, "--course", "latin1.toml", "--dry-run", "tokenization"], ["not UTF-8"]),
    (COURSE + ["check", "loop1"], ["symlink loop"]),
    (COURSE + ["check", "adir"], ["is a folder, not a file"]),
    ([RENDER, "--course", "adir", "--dry-run"], ["a folder, not a TOML file"]),
    (COURSE + ["init", "afile/x.toml"], ["afile is a file, not a folder"]),
    ([RENDER, "--out", "afile/o", "--dry-run", "tokenization"], ["afile is a file, not a folder"]),
    (COURSE + ["check", "--scenes", "raises.py"], ["raises.py does not import", "ValueError: oops"]),
    ([RENDER, "raises.py", "--dry-run"], ["raises.py does not import", "ValueError: oops"]),
])
def test_bad_paths_and_course_files_are_one_line_exit_2_nothing_written(bad, args, words):
    before = sorted(p.name for p in bad.rglob("*"))
    one_line(run(*args, cwd=bad), *words)
    assert sorted(p.name for p in bad.rglob("*")) == before           # nothing written


def test_read_only_out_is_refused_before_anything(tmp_path, monkeypatch):
    """(As root a chmod does not make a folder read-only: the check is os.access + the
    filesystem's read-only flag, faked here; tests/test_faults_cli.sh-style bind mounts
    show the real thing in the report.)"""
    from tensors import UserError
    from tensors.store import writable_folder

    writable_folder(tmp_path / "new" / "deeper", "--out x")            # creatable: fine
    monkeypatch.setattr(os, "access", lambda p, mode: False)
    with pytest.raises(UserError, match=r"is read-only; pass a folder you can write to"):
        writable_folder(tmp_path / "new", "--out x")
    assert not (tmp_path / "new").exists()


def test_course_show_into_a_closed_pipe_exits_quietly():
    p = subprocess.Popen([*COURSE, "show"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         cwd=ROOT, text=True)
    p.stdout.readline()
    p.stdout.close()                                                   # `| head -1`
    err = p.stderr.read()
    assert p.wait(timeout=120) == 0 and "Traceback" not in err and "BrokenPipe" not in err, err


# ------------------------------------------------------------------ any folder name
def _tiny_videos(folder: Path, n: int = 2) -> list[Path]:
    import av
    import numpy as np

    out = []
    for i in range(n):
        p = folder / f"part{i}.mp4"
        with av.open(str(p), "w") as c:
            s = c.add_stream("libx264", rate=15)
            s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
            for k in range(3):
                img = np.full((64, 64, 3), 40 * (i * 3 + k), np.uint8)
                for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    c.mux(pkt)
            for pkt in s.encode():
                c.mux(pkt)
        out.append(p)
    return out


@pytest.mark.parametrize("name", ["it's", "two  spaces", "über é ü", "a'b'c \"q\""])
def test_pieces_join_in_any_folder_name(tmp_path, name):
    """The driver's join and manim's own (patched in exact_manim) read a manifest of quoted
    paths: a single quote, spaces or non-ASCII letters in the --out folder work."""
    import av

    from scenes.render.exact_manim import _concat_manifest_bytes
    from scenes.render.media import concat, video_seconds

    d = tmp_path / name
    d.mkdir()
    parts = _tiny_videos(d)
    concat(parts, d / "joined.mp4")
    with av.open(str(d / "joined.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 6
    with av.open(__import__("io").BytesIO(_concat_manifest_bytes([str(p) for p in parts])),
                 format="concat", options={"safe": "0"}) as c:
        assert sum(1 for _ in c.decode(video=0)) == 6
    assert video_seconds(d / "joined.mp4") is not None
