"""Count a scene's animations cheaply: a manim dry run (nothing drawn, nothing encoded)
that records the run time of every ``play``/``wait`` — the numbers ``-n FIRST,LAST``
counts — so the driver can cut the scene into pieces of equal video time.

Run in a child process (a scene changes manim's global config):

    python -m scenes.render.playcount scenes/attention.py AttentionScene -q h
    RENDER_PLAYS {"class": "AttentionScene", "durations": [1.0, 0.5, ...]}

The driver caches the answer per scene source and course file (:func:`plays_cache_key`);
every whole render (``scenes.render.exact_manim`` with ``$RENDER_PLAYS_OUT``) refreshes it,
so this dry run is needed only the first time a scene is split.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Mapping

MARK = "RENDER_PLAYS "


def count(file: Path, class_name: str, quality: str) -> list[float]:
    """Run times of the scene's animations, in order (a dry run in this process)."""
    from manim import config, tempconfig
    from manim.renderer.cairo_renderer import CairoRenderer

    durations: list[float] = []
    orig = CairoRenderer.play

    def play(self, scene, *args, **kwargs):  # type: ignore[no-untyped-def]
        orig(self, scene, *args, **kwargs)
        durations.append(float(scene.duration))

    name = f"_render_playcount_{file.stem}"
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    sys.path.insert(0, str(file.parent))
    spec.loader.exec_module(mod)
    cls = getattr(mod, class_name)
    names = {"l": "low_quality", "m": "medium_quality", "h": "high_quality",
             "p": "production_quality", "k": "fourk_quality"}
    CairoRenderer.play = play  # type: ignore[method-assign]
    try:
        with tempconfig({"dry_run": True, "quality": names[quality], "disable_caching": True,
                         "verbosity": "ERROR", "progress_bar": "none",
                         "media_dir": str(config.media_dir)}):
            cls().render()
    finally:
        CairoRenderer.play = orig  # type: ignore[method-assign]
    return durations


def plays_cache_key(file: Path, class_name: str, roots: list[Path], course: str | None,
                    env: Mapping[str, str] | None = None) -> str:
    """A digest of everything that decides a scene's animation list: its file, the library
    code under ``roots``, the course config file and the ``GPT_SCENES_*`` settings of the
    render's environment ``env`` (default: this process's), the voice included — a narrated
    scene waits for its speech (not the quality: run times are seconds, so a -ql preview's
    count serves a -qh render).

    >>> len(plays_cache_key(Path(__file__), "X", [], None))
    24
    """
    h = hashlib.sha256(f"{class_name}\0".encode())
    files = [file] + sorted(p for r in roots for p in Path(r).rglob("*.py"))
    if course and course != "none" and Path(course).is_file():
        files.append(Path(course))
    for p in files:
        try:
            h.update(str(p).encode() + b"\0" + p.read_bytes())
        except OSError:
            h.update(b"missing")
    env = os.environ if env is None else env
    for k in sorted(env):
        if k.startswith("GPT_SCENES_") and k != "GPT_SCENES_COURSE":
            h.update(f"{k}={env[k]}".encode())
    return h.hexdigest()[:24]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(allow_abbrev=False, prog="python -m scenes.render.playcount")
    ap.add_argument("file", type=Path)
    ap.add_argument("class_name")
    ap.add_argument("-q", "--quality", default="l")
    a = ap.parse_args(argv)
    from tensors import exit_on_user_error

    with exit_on_user_error("playcount"):
        d = count(a.file.resolve(), a.class_name, a.quality)
        print(MARK + json.dumps({"class": a.class_name, "durations": d}), flush=True)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
