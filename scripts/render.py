"""Batch renderer behind ./render.sh: every scene (or those named), in parallel, to
predictable names, with a summary table. Run it through ./render.sh (which sets up first),
or, installed, as ``gpt-scenes render``.

    ./render.sh                          all scenes at -ql into out/480p15/<scene>.mp4
    ./render.sh attention -q h           one scene at 1080p60 (in pieces, on every core)
    ./render.sh --stills --gif --lecture also <scene>.png, <scene>.gif and lecture.mp4
    ./render.sh --slides                 manim-slides: out/<q>/slides/<scene>.html + lecture.html
    ./render.sh my_course.py             the scene classes of a course file of your own
    ./render.sh --ray [ADDRESS]          the jobs on a Ray cluster (local without ADDRESS)
    ./render.sh --gallery                assets/gallery/<scene>.png|gif for the README

The code is the package scenes/render/ (see its __init__). Only the standard library is
imported before the options are checked: render.sh runs this file with the system python
first (``--args-only``), so a typo fails in a second, not after a set-up.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scenes.render.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
