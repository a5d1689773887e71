"""The render driver: a scene rendered as pieces (``-n FIRST,LAST``) and joined by stream
copy is the single-process render frame for frame; Ctrl-C / SIGTERM stop every child
cleanly and the next run is correct; the planning rules' doctests."""
from __future__ import annotations

import doctest
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tiny_scene import write_tiny_course

ROOT = Path(__file__).resolve().parents[1]
RENDER = str(ROOT / "render.sh")
sys.path.insert(0, str(ROOT))

from scenes.kit.subtitles import parse_srt  # noqa: E402
from scenes.render import media, plan, playcount, pool  # noqa: E402


def run(*args: str, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([RENDER, *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "GPT_SCENES_COURSE": ""}, timeout=timeout,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("module", [plan, pool, playcount])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


def test_pieces_are_the_single_process_render_frame_for_frame(tmp_path, tiny_gpt2_dir):
    course = write_tiny_course(tmp_path, tiny_gpt2_dir)
    out = tmp_path / "out"
    whole = run(str(course), "TinyScene", "--split", "1", "--out", str(out), cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr[-3000:]
    a = media.frame_hashes(out / "480p15" / "tiny.mp4")
    cues = parse_srt((out / "480p15" / "tiny.srt").read_text(encoding="utf-8"))
    split = run(str(course), "TinyScene", "--split", "3", "-j", "2", "--out", str(out), cwd=tmp_path)
    assert split.returncode == 0, split.stderr[-3000:]
    # the whole render recorded the run times of its animations: no dry run to cut it
    assert "counting the animations" not in split.stderr
    # three jobs, each drawing a contiguous range of the 3 animations, then one join
    assert "[render] joined 3 pieces of tiny" in split.stderr
    logs = sorted(p.name for p in (out / "480p15" / "logs").glob("tiny.video.p*"))
    assert logs == [f"tiny.video.p{i}of3.log" for i in (1, 2, 3)]
    b = media.frame_hashes(out / "480p15" / "tiny.mp4")
    assert len(a) in (36, 37)  # 2.4 s at 15 fps: the caption read for 1.5 s (+ manim's rounding)
    assert a == b
    assert len(set(a)) > 5  # frames that differ: an animation, not a still
    row = next(ln for ln in split.stdout.splitlines() if ln.startswith("tiny "))
    assert row.split()[4] == str(out / "480p15" / "tiny.mp4")
    assert "3 pieces" in row
    # its subtitles: the caption's cue, at the very same time in the pieces (their clock is
    # the whole render's) — the narrated case: tests/test_render_narration.py
    assert [c.text for c in cues] == ["2 tokens, layer 2"]
    assert parse_srt((out / "480p15" / "tiny.srt").read_text(encoding="utf-8")) == cues
    vtt = (out / "480p15" / "tiny.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT") and vtt.count(" --> ") == 1


SPINNER = '''
"""A scene whose square turns with time (an updater that reads dt) across three beats."""
from manim import Circle, Create, FadeIn, Square

from scenes.kit.scene import GPTScene


class Spinner(GPTScene):
    prompt = "Hello world"
    model = {model!r}
    beats = ("beat_one", "beat_two", "beat_three")

    def beat_one(self):
        self.sq = Square(1.5)
        self.sq.add_updater(lambda m, dt: m.rotate(0.9 * dt))  # its angle integrates time
        self.play(FadeIn(self.sq), run_time=0.8)

    def beat_two(self):
        self.play(Create(Circle(0.5).shift(2 * 1.0 * __import__("manim").LEFT)), run_time=0.8)
        self.wait(0.4)

    def beat_three(self):
        self.play(self.sq.animate.shift(2 * __import__("manim").RIGHT), run_time=0.8)
'''


def test_pieces_after_a_turning_updater_are_the_single_process_render(tmp_path, tiny_gpt2_dir):
    """A fast-forward steps through the drawn frame times when something turns with time
    (a single step would leave the square at another angle in the later pieces)."""
    f = tmp_path / "spinner.py"
    f.write_text(SPINNER.format(model=str(tiny_gpt2_dir)))
    whole = run(str(f), "--split", "1", "--out", str(tmp_path / "whole"), cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr[-3000:]
    split = run(str(f), "--split", "3", "-j", "2", "--out", str(tmp_path / "split"), cwd=tmp_path)
    assert split.returncode == 0, split.stderr[-3000:]
    assert "joined 3 pieces of spinner" in split.stderr
    a = media.frame_hashes(tmp_path / "whole" / "480p15" / "spinner.mp4")
    assert a == media.frame_hashes(tmp_path / "split" / "480p15" / "spinner.mp4")
    assert len(set(a)) > 20            # every frame differs: the square never stops turning


def _children_of(marker: str) -> list[int]:
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if marker in (p / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(p.name))
            except OSError:
                pass
    return pids


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_stops_every_child_one_line_and_the_next_run_is_right(
        tmp_path, tiny_gpt2_dir, sig, code):
    course = write_tiny_course(tmp_path, tiny_gpt2_dir)
    out = tmp_path / "out"
    err = tmp_path / "stderr"
    with open(err, "wb") as fh:
        p = subprocess.Popen([RENDER, str(course), "--split", "2", "-j", "2", "--out", str(out)],
                             stdout=subprocess.DEVNULL, stderr=fh, cwd=tmp_path,
                             env={**os.environ, "GPT_SCENES_COURSE": ""}, start_new_session=True)
    deadline = time.time() + 240
    while "[render] start" not in err.read_text() and time.time() < deadline:
        assert p.poll() is None, err.read_text()[-2000:]
        time.sleep(0.2)
    time.sleep(1.0)
    assert _children_of(str(course)), "no manim child was running"
    p.send_signal(sig)
    assert p.wait(timeout=60) == code
    text = err.read_text()
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
    last = [ln for ln in text.splitlines() if ln.strip()][-1]
    assert last.startswith("render.sh: interrupted (")
    time.sleep(0.5)
    assert _children_of(str(course)) == []  # every manim child (and its encoders) is gone
    assert not (out / "480p15" / "tiny.mp4").exists()  # nothing half-written under the name
    if sig != signal.SIGINT:
        return
    again = run(str(course), "--split", "2", "-j", "2", "--out", str(out), cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "joined 2 pieces of tiny" in again.stderr
    fresh = run(str(course), "--split", "1", "--out", str(tmp_path / "fresh"), cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    for name in ("tiny", "tiny_two"):
        assert (media.frame_hashes(out / "480p15" / f"{name}.mp4")
                == media.frame_hashes(tmp_path / "fresh" / "480p15" / f"{name}.mp4"))
