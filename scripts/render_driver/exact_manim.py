"""``python -m render_driver.exact_manim render ...``: manim's own command line, with one
change that makes a fast-forwarded animation leave the scene exactly as a drawn one does.

When manim skips an animation (``-n FIRST,LAST`` before FIRST, ``-s`` stills, a cache hit)
it advances time in one step of ``run_time``, while a drawn animation advances in frame
steps ``0, 1/fps, …`` (ending one frame short of ``run_time``) and then runs the updaters
once more with ``dt = 0``. Time-based updaters (``begin_ambient_camera_rotation``, anything
using ``dt``) therefore drift: a piece that starts after a fast-forward would show the
camera a few degrees off. Here a skipped animation steps through the same times as a drawn
one — updating the mobjects, drawing and encoding nothing — so every piece starts from the
very state of the whole render, and a still is the video's last frame.
"""
from __future__ import annotations

import sys
from typing import Any

from manim.scene.scene import Scene

_progression = Scene.get_time_progression
_play_internal = Scene.play_internal


def _get_time_progression(self: Scene, run_time: float, description: str = "",
                          n_iterations: int | None = None,
                          override_skip_animations: bool = False) -> Any:
    # the drawn path's times (np.arange(0, run_time, 1/fps)) whether skipping or not
    return _progression(self, run_time, description, n_iterations, override_skip_animations=True)


def _play_internal_exact(self: Scene, skip_rendering: bool = False) -> None:
    _play_internal(self, skip_rendering)
    if self.renderer.skip_animations:
        self.update_mobjects(0)  # what the drawn path does after finishing its animations


def main() -> None:
    Scene.get_time_progression = _get_time_progression  # type: ignore[method-assign]
    Scene.play_internal = _play_internal_exact  # type: ignore[method-assign]
    from manim.__main__ import main as manim_main

    sys.argv[0] = "manim"
    manim_main()


if __name__ == "__main__":
    main()
