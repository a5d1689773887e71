"""``python -m scenes.render.exact_manim render ...``: manim's own command line, with one
change that makes a fast-forwarded animation leave the scene exactly as a drawn one does.

When manim skips an animation (``-n FIRST,LAST`` before FIRST, ``-s`` stills, a cache hit)
it advances time in one step of ``run_time``, while a drawn animation advances in frame
steps ``0, 1/fps, …`` (ending one frame short of ``run_time``) and then runs the updaters
once more with ``dt = 0``. Time-based updaters (``begin_ambient_camera_rotation``, anything
using ``dt``) therefore drift: a piece that starts after a fast-forward would show the
camera a few degrees off. Here a skipped animation steps through the same times as a drawn
one whenever something on screen has such an updater — updating the mobjects, drawing and
encoding nothing — so every piece starts from the very state of the whole render (and a
``-s`` still has no drift either); without one, manim's single step reaches the same state. The scene clock
(``scene.time``, which subtitle cues read) also moves as in the drawn path — by the frames
drawn, not by the run time — so a piece's ``.srt`` has the whole render's times. And a
piece (``-n``) keeps the sounds added while it fast-forwards (manim drops them), so the
soundtrack Manim leaves beside the last piece (``<scene>.wav``) is the whole render's, the
same calls in the same order at the same times: the driver muxes it into the joined video.

With ``$RENDER_PLAYS_OUT`` set, a render that runs to the scene's end (not stopped by
``-n …,LAST``) also writes the run time of every animation there (JSON), which is what the
driver needs to cut the scene into pieces next time without a dry run.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
from manim import config
from manim.manager import Manager
from manim.renderer.cairo_renderer import CairoRenderer
from manim.scene.scene import Scene

_progression = Scene.get_time_progression
_play_internal = Scene.play_internal
_freeze = CairoRenderer.freeze_current_frame
_play = CairoRenderer.play


def _get_time_progression(self: Scene, run_time: float, description: str = "",
                          n_iterations: int | None = None,
                          override_skip_animations: bool = False) -> Any:
    # the drawn path's times (np.arange(0, run_time, 1/fps)) when skipping, if anything on
    # screen moves with time; else manim's one step to the end (the same end state: an
    # animation's frame is a function of its progress, an updater without dt of the state)
    stepped = not self.renderer.skip_animations or _moves_with_time(self)
    return _progression(self, run_time, description, n_iterations,
                        override_skip_animations=stepped or override_skip_animations)


def _moves_with_time(scene: Scene) -> bool:
    """Whether the scene or a mobject on it has an updater that reads ``dt`` (a turning
    camera, anything integrating time): its state depends on every step, not only the end."""
    return bool(scene.updaters) or any(m.has_time_based_updater()
                                       for m in scene.get_mobject_family_members())


def _drawn_seconds(run_time: float, fps: float, frozen: bool) -> float:
    """How far the drawn path moves the scene clock, computed as manim draws: a frozen
    ``wait`` adds ``int(run_time / dt)`` frames at once (``num_frames * dt``); an animation
    one ``dt`` per time of ``np.arange(0, run_time, dt)``.

    >>> _drawn_seconds(0.5, 15, False), _drawn_seconds(0.5, 15, True)    # 8 frames, 7 frames
    (0.5333333333333333, 0.4666666666666667)
    """
    return _drawn_time(0.0, run_time, fps, frozen)


def _drawn_time(start: float, run_time: float, fps: float, frozen: bool) -> float:
    """The clock after a drawn play that started at ``start``, bit for bit: the same float
    additions as CairoRenderer.add_frame. (Adding ``drawn - run_time`` to a clock that a
    skip had moved by ``run_time`` is a few ulps off; a wait timed from the clock could then
    round to one frame less: a re-run that took cached partial movies ended a frame early,
    427 frames and last cue 28.466 s instead of 428 and 28.533 s.)

    >>> t = _drawn_time(1 / 3, 2.0, 15, False)
    >>> t == sum([1 / 15] * 30, 1 / 3), t == 1 / 3 + 2.0
    (True, False)
    """
    dt = 1 / fps
    if frozen:
        return start + int(run_time / dt) * dt
    t = start
    for _ in range(len(np.arange(0, run_time, dt))):
        t += 1 * dt
    return t


def _clock_as_drawn(self: Scene, frozen: bool) -> None:
    """A skipped play (fast-forwarded, or a cache hit) moved the clock by its run time; move
    it as a drawn one would, from where the play started, so ``scene.time`` (subtitle cues,
    sounds, waits timed to them) in a piece or a re-run is the whole fresh render's time."""
    r = self.renderer
    start = getattr(r, "_time_before_play", None)
    if start is None:
        r.time += _drawn_seconds(self.duration, r.camera.frame_rate, frozen) - self.duration
    else:
        r.time = _drawn_time(start, self.duration, r.camera.frame_rate, frozen)


def _play_noting_start(self: CairoRenderer, scene: Scene, *args: Any, **kwargs: Any) -> None:
    self._time_before_play = self.time
    try:
        _play(self, scene, *args, **kwargs)
    finally:
        self._time_before_play = None


def _play_internal_exact(self: Scene, skip_rendering: bool = False) -> None:
    if self.renderer.skip_animations:
        _clock_as_drawn(self, frozen=False)  # before the animations' clean-up reads the time
    _play_internal(self, skip_rendering)
    if self.renderer.skip_animations:
        self.update_mobjects(0)  # what the drawn path does after finishing its animations


def _freeze_exact(self: CairoRenderer, duration: float) -> None:
    if self.skip_animations:
        start = getattr(self, "_time_before_play", None)
        dt = 1 / self.camera.frame_rate
        self.time = (start if start is not None else self.time - duration) + int(duration / dt) * dt
    _freeze(self, duration)


def _add_sound_even_when_skipping(self: Manager, sound_file: str, time_offset: float = 0,
                                  gain: float | None = None, **kwargs: Any) -> None:
    # manim drops a sound added while it skips; a piece keeps it, at the scene time
    self.file_writer.add_sound(sound_file, self.time + time_offset, gain, **kwargs)


def _record_plays(path: Path) -> None:
    """Write the scene's animation run times to ``path`` when a render reaches its end."""
    durations: list[float] = []
    play, render = CairoRenderer.play, Scene.render

    def recording_play(self, scene, *args, **kwargs):  # type: ignore[no-untyped-def]
        play(self, scene, *args, **kwargs)
        durations.append(float(scene.duration))

    def recording_render(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        durations.clear()
        result = render(self, *args, **kwargs)
        if config.upto_animation_number in (None, -1, float("inf")) and durations:  # to the end
            tmp = path.with_name(f"{path.name}.{os.getpid()}.part")
            tmp.write_text(json.dumps({"durations": durations}))
            os.replace(tmp, path)
        return result

    CairoRenderer.play = recording_play  # type: ignore[method-assign]
    Scene.render = recording_render  # type: ignore[method-assign]


def _concat_manifest_bytes(input_files: list[str]) -> bytes:
    """Manim's concat manifest with every path quoted for FFmpeg (manim 0.22 writes a folder
    name with a single quote unescaped: the join fails with FileNotFoundError '<none>')."""
    from .media import concat_quote

    return ("# This file records the segment order used by Manim.\n"
            + "".join(f"file {concat_quote(Path(f))}\n" for f in input_files)).encode("utf-8")


def main() -> None:
    from manim.scene.scene_file_writer import SceneFileWriter

    SceneFileWriter._concat_manifest_bytes = staticmethod(_concat_manifest_bytes)  # type: ignore[method-assign]
    Scene.get_time_progression = _get_time_progression  # type: ignore[method-assign]
    Scene.play_internal = _play_internal_exact  # type: ignore[method-assign]
    CairoRenderer.freeze_current_frame = _freeze_exact  # type: ignore[method-assign]
    CairoRenderer.play = _play_noting_start  # type: ignore[method-assign]
    if "-n" in sys.argv:  # a piece: its soundtrack is the whole scene's (see the module doc)
        Manager.add_sound = _add_sound_even_when_skipping  # type: ignore[method-assign]
    if os.environ.get("RENDER_PLAYS_OUT"):
        _record_plays(Path(os.environ["RENDER_PLAYS_OUT"]))
    from manim.__main__ import main as manim_main

    sys.argv[0] = "manim"
    manim_main()


if __name__ == "__main__":
    main()
