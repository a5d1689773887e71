"""Issue 22, a render run again into the same folder is the fresh render: the scene clock of a
skipped play (a piece's fast-forward, or a cache hit of manim's partial movies on a re-run)
moves exactly — bit for bit — as the drawn play moves it (render_driver.exact_manim), so
waits and cues timed from the clock land on the same frames. (Before: a second
``./render.sh tokenization -ql --split 2`` into the same folder gave 427 frames, last cue
28.466 s; a fresh one 428, 28.533 s.)"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

#: Run times of the tokenization scene's plays (as recorded) and others that are not whole
#: frames: where a clock moved by ``+ run_time`` then ``+ (drawn - run_time)`` is ulps off.
DURATIONS = [5.571428571428571, 3.5523809523809513, 0.4, 1 / 3, 2.2, 0.7333333333333333, 1.0]


def _times(tmp_path: Path, media: str, skip: bool, patched: bool, monkeypatch) -> list[float]:
    from manim import Circle, Create, FadeOut, Scene, tempconfig

    from scenes.render import exact_manim as X

    if patched:
        from manim.renderer.cairo_renderer import CairoRenderer

        monkeypatch.setattr(Scene, "play_internal", X._play_internal_exact)
        monkeypatch.setattr(CairoRenderer, "freeze_current_frame", X._freeze_exact)
        if hasattr(X, "_play_noting_start"):   # (absent before the fix: the test then fails)
            monkeypatch.setattr(CairoRenderer, "play", X._play_noting_start)
    seen: list[float] = []

    class Clocked(Scene):
        def construct(self):
            for i, d in enumerate(DURATIONS):
                c = Circle(radius=0.2 + 0.1 * i)
                self.play(Create(c), run_time=d)
                seen.append(self.renderer.time)
                self.wait(d / 3)                       # a frozen frame
                seen.append(self.renderer.time)
                self.play(FadeOut(c), run_time=0.2)
                seen.append(self.renderer.time)

    with tempconfig({"media_dir": str(tmp_path / media), "quality": "low_quality",
                     "pixel_width": 64, "pixel_height": 36, "frame_rate": 15,
                     "disable_caching": False, "format": "mp4", "dry_run": False}):
        Clocked(skip_animations=skip).render()
    return seen


def test_a_cache_hit_moves_the_clock_exactly_as_drawing(tmp_path, monkeypatch):
    drawn = _times(tmp_path, "m", skip=False, patched=True, monkeypatch=monkeypatch)
    cached = _times(tmp_path, "m", skip=False, patched=True, monkeypatch=monkeypatch)  # all hits
    assert cached == drawn                               # bit for bit, every play and wait


def test_a_fast_forward_moves_the_clock_exactly_as_drawing(tmp_path, monkeypatch):
    drawn = _times(tmp_path, "a", skip=False, patched=True, monkeypatch=monkeypatch)
    skipped = _times(tmp_path, "b", skip=True, patched=True, monkeypatch=monkeypatch)
    assert skipped == drawn
