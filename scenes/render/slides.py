"""``./render.sh --slides``: after manim-slides rendered each scene (a slide per beat), convert
them to reveal.js HTML — slides/<scene>.html for each and slides/lecture.html for all, loading
reveal.js from a copy in slides/ (no CDN: the folder works offline). Each deck links to its
scene's interactive page (html/<scene>.html, ``--html``) and the lecture's deck to the pages'
index, whichever is written first (:func:`scenes.kit.pages.links.relink`)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .pool import say
from .summary import Row


def convert_slides(todo: list, rows: dict[str, Row], slides_dir: Path, env: dict[str, str],
                   slides_name, options: list[str] = ()) -> list[Path]:  # noqa: ANN001
    """``options``: ``manim-slides convert`` options, e.g. the local reveal.js copy
    (:func:`scenes.kit.revealjs.convert_options`: the HTML works without internet)."""
    done = [e for e in todo if rows[e.id].video is not None]
    html: list[Path] = []
    targets = [([slides_name(e.cls)], slides_dir / f"{e.id}.html", rows[e.id]) for e in done]
    if len(done) > 1:
        targets.append(([slides_name(e.cls) for e in done], slides_dir / "lecture.html", None))
    for classes, dst, row in targets:
        cmd = [sys.executable, "-m", "manim_slides", "convert", "--folder", str(slides_dir),
               *options, *classes, str(dst)]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if r.returncode != 0 or not dst.is_file():
            msg = (r.stderr or r.stdout).strip().splitlines()
            err = f"slides html: {msg[-1] if msg else 'failed'}"
            if row is not None:
                row.errors.append(err)
            else:
                say(err)
            continue
        html.append(dst)
        if row is not None:
            row.extras.append(dst)
        say(f"slides {dst}")
    from scenes.kit.pages.links import relink

    relink(slides_dir.parent)  # the decks link to the interactive pages (when written)
    return html
