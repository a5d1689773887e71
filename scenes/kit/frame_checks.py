"""Legibility *inside* the animations: :func:`check_frames` runs a scene with its animations
skipped, but interpolates every play at :func:`sample_times` (both ends and every ¼ s of
video) and applies all five rules of :mod:`scenes.kit.checks` to each sampled frame (a still
wait is one frame). What is in flight or fading fast is in transition (see
:mod:`scenes.kit.checks`); both ends of every play are at rest.

>>> sample_times(0.9, 0.7)
[0.0, 0.1, 0.35, 0.6, 0.7]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from manim.camera.three_d_camera import ThreeDCamera

from .checks import BeatReport, _rgba, check_scene, scene_under_check, in_view, problems_in, scan, view_of

__all__ = ["check_frames", "FrameReport", "Finding", "sample_times", "SAMPLE_EVERY", "FADE_STEP"]

#: Seconds of video between two frames sampled inside an animation.
SAMPLE_EVERY = 0.25
#: a text or box whose opacity changes at least this much between two samples (¼ s) is
#: fading in or out quickly: in transition, not yet (or no longer) to be read
FADE_STEP = 0.15


def sample_times(start: float, duration: float, every: float = SAMPLE_EVERY) -> list[float]:
    """Times (seconds from the animation's start) to check in an animation that starts
    ``start`` seconds into the video and runs ``duration``: both ends and every multiple of
    ``every`` of video time in between.

    >>> sample_times(0.9, 0.7)
    [0.0, 0.1, 0.35, 0.6, 0.7]
    >>> sample_times(2.0, 0.0)
    [0.0]
    """
    k0, k1 = int(np.floor(start / every)) + 1, int(np.ceil((start + duration) / every)) - 1
    inner = [round(k * every - start, 6) for k in range(k0, k1 + 1)
             if 0 < k * every - start < duration]
    return sorted({0.0, *inner, round(float(duration), 6)})


@dataclass
class Finding:
    t: float          # seconds into the video
    beat: str
    problem: str      # "kind: …"

    @property
    def kind(self) -> str:
        return self.problem.split(":", 1)[0]


class FrameReport(list):
    """The findings of :func:`check_frames` (a list of :class:`Finding`); ``.frames``: how
    many frames were sampled, ``.beats``: the end-of-beat problems (as :func:`check_beats`
    reports them), ``.scene``: the scene that ran (its ``.ledger`` too)."""

    frames: int = 0
    seconds: float = 0.0   # video covered: plays sampled ≤ ``every`` apart, still waits once
    still: float = 0.0     # of which still waits (one frame each)
    scene: Any = None
    beats: dict

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.beats = BeatReport()

    def frames_with(self) -> dict[str, int]:
        """Kind → how many sampled frames have at least one finding of that kind."""
        seen: dict[str, set[float]] = {}
        for f in self:
            seen.setdefault(f.kind, set()).add(f.t)
        return {k: len(v) for k, v in sorted(seen.items())}

    def distinct(self) -> dict[str, int]:
        """Kind → how many different problems (the same one over many frames counts once)."""
        out: dict[str, set[str]] = {}
        for f in self:
            out.setdefault(f.kind, set()).add(f"{f.beat} {f.problem}")
        return {k: len(v) for k, v in sorted(out.items())}

    def summary(self, limit: int = 40) -> str:
        """One line per distinct problem: its first time, how many frames, the beat."""
        first: dict[tuple[str, str], list[float]] = {}
        for f in self:
            first.setdefault((f.beat, f.problem), []).append(f.t)
        rows = sorted(first.items(), key=lambda kv: kv[1][0])
        lines = [f"{ts[0]:6.2f}–{ts[-1]:6.2f} s ({len(set(ts)):3d} frames) {beat}: {p}"
                 for (beat, p), ts in rows[:limit]]
        if len(rows) > limit:
            lines.append(f"… {len(rows) - limit} more")
        return "\n".join(lines)


def check_frames(cls: type, every: float = SAMPLE_EVERY, **knobs: Any) -> FrameReport:
    """Run scene class ``cls`` (a GPTScene) with ``knobs`` and animations skipped, but check
    the frames *inside* every animation (and the end of each beat, as :func:`check_beats`): each play is interpolated at :func:`sample_times`
    (both ends and every ``every`` s of video) and :func:`check_scene` (all five rules) runs
    on each. A wait without updaters is one still frame, checked once. Seconds per scene."""
    report = FrameReport()

    last: dict[int, np.ndarray] = {}            # mobject id → centre at the previous sample
    last_op: dict[int, tuple] = {}              # element id → (fill rgb, opacity) at the previous sample

    def record(scene: Any, t: float, at_rest: bool, first: bool = True,
               animating: frozenset[int] | None = None) -> None:
        report.frames += 1
        beat = str(getattr(scene, "_current_beat", "")).rsplit(".", 1)[-1]
        camera = scene.camera if isinstance(scene.camera, ThreeDCamera) else None
        sc = scan(scene.mobjects, camera)
        now = {id(e.mob): (e.lo + e.hi) / 2 for e in sc.els}
        now.update({id(m): p.reshape(-1, 2).mean(0) for _, p, m in sc.lines if p.size})
        moving = frozenset() if first else frozenset(
            k for k, c in now.items() if k in last and np.abs(c - last[k]).max() > 0.02)
        op = {id(e.mob): _rgba(e.mob) for e in sc.els}
        if not at_rest and not first:
            # a quick change in place (a number cross-fading into its new value, a cell
            # landing or taking its new colour): what fades in or out fast (≥ FADE_STEP per
            # sample, or just appeared half-drawn), and a box changing colour, are in
            # transition, like what is in flight — not read yet, and allowed to cross what
            # they replace. A slow fade must stay readable throughout. A fade that began
            # between this sample and the last (fully drawn then) has an unknown speed yet:
            # the next sample judges it (a slow one is caught there).
            fading = frozenset(k for k, (rgb, o) in op.items() if (
                o < 0.95 and (k not in last_op or abs(o - last_op[k][1]) >= FADE_STEP
                              or last_op[k][1] >= 0.95))
                or (k in last_op and np.abs(rgb - last_op[k][0]).max() > 0.02))
            moving = moving | fading
            animating = None if animating is None else animating | fading
        last.clear()
        last.update(now)
        last_op.clear()
        last_op.update(op)
        sc = in_view(sc, view_of(scene))          # motion above is on the stage, not the screen
        report.extend(Finding(round(t, 3), beat, p)
                      for p in problems_in(sc, full=True, at_rest=at_rest, moving=moving,
                                           animating=animating))

    class Checked(cls):  # type: ignore[misc, valid-type]
        def play_internal(self, skip_rendering: bool = False) -> None:
            dur = float(self.get_run_time(self.animations))
            start = float(self.renderer.time) - dur      # skipping: time is already past it
            ts = sample_times(start, dur, every)
            report.seconds += dur
            mobs = [a.mobject for a in self.animations if getattr(a, "mobject", None) is not None]
            animating = frozenset(id(f) for m in mobs for f in m.get_family())
            for t in ts:
                self.update_to_time(t)
                # at the end every text is at rest; before it, those the animations bring
                # in, draw or fade are not read yet (the others are)
                record(self, start + t, at_rest=t == ts[-1], first=t == 0.0,
                       animating=animating)
            super().play_internal(skip_rendering)

        def end_beat(self, name: str) -> None:
            report.beats[name] = check_scene(self)
            super().end_beat(name)

    with scene_under_check(Checked, cls, knobs) as scene:
        orig = scene.renderer.freeze_current_frame

        def frozen(duration: float) -> None:            # a still wait: one frame
            record(scene, float(scene.renderer.time) - duration, at_rest=True)
            report.seconds += duration
            report.still += duration
            orig(duration)

        scene.renderer.freeze_current_frame = frozen
        scene.render()
    report.scene = scene
    return report
