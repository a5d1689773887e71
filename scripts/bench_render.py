#!/usr/bin/env python
"""Whole-course render benchmark: wall time / total video duration for the story scenes,
rendered by the ./render.sh driver in several ways, side by side in one run (prints
figures; no pass/fail).

    .venv/bin/python scripts/bench_render.py                 # every story scene, -qh, modes a b c
    .venv/bin/python scripts/bench_render.py attention -q l  # a subset, a quick check
    .venv/bin/python scripts/bench_render.py --modes a b     # without Ray

Modes (each renders into a fresh folder, so manim's cache never helps):
    a  one process per scene, -j J                 (--split 1)
    b  scenes split into pieces, -j J              (--split P)
    c  the same pieces on a local Ray instance     (--ray --split P)
    1  one scene at a time, no encoder overlap     (-j 1 --split 1 --max-inflight-encoders 1)
    0  mode a with manim's own held frames (RGBA→YUV per repeated frame): the baseline of
       scenes/kit/encoding.py's convert-once

The traces are computed before the first mode (a lecturer re-rendering has them cached),
and the animation run times recorded by the first mode's renders are given to the later
modes (as a re-render has them: cutting a scene then needs no dry run; the first-ever
split of a scene adds one, timed in the driver's log as "counted in").
Figures taken while other work runs on the machine are inflated: compare rows of one run.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DRIVER = ROOT / "scripts" / "render.py"
TOTAL = re.compile(r"^total\s+([\d.]+)\s+([\d.]+)\s+wall ([\d.]+) s", re.M)


def modes(jobs: int, pieces: int) -> dict[str, tuple[str, list[str]]]:
    return {
        "a": (f"one process per scene, -j {jobs}", ["-j", str(jobs), "--split", "1"]),
        "b": (f"split into {pieces} pieces, -j {jobs}", ["-j", str(jobs), "--split", str(pieces)]),
        "c": (f"local Ray, {pieces} pieces, {jobs} CPUs", ["--ray", "-j", str(jobs), "--split", str(pieces)]),
        "1": ("one scene at a time, no encoder overlap",
              ["-j", "1", "--split", "1", "--max-inflight-encoders", "1"]),
        "0": (f"a, manim's held frames (baseline), -j {jobs}", ["-j", str(jobs), "--split", "1"]),
    }


def warm(scenes: list[str]) -> None:
    """Compute the story scenes' traces once (the default course)."""
    sys.path.insert(0, str(ROOT))
    from scenes.render import scenes_api as S

    cfg, _ = S.find_config()
    course = S.load_course(cfg) if cfg else S.Course(None, {}, "none")
    entries, _ = S.discover([], all_classes=True)
    story = [e for e in entries if Path(e.file).parent == S.SCENES_DIR]
    todo = S.select(story, scenes) if scenes else S.select(story, [])
    S.warm_traces(course, entries, [e.class_name for e in todo])


def main() -> int:
    ap = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    ap.add_argument("scenes", nargs="*", help="scene ids (default: every story scene)")
    ap.add_argument("-q", "--quality", default="h", choices=list("lmhpk"))
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--pieces", type=int, default=2, help="pieces per scene in modes b and c")
    ap.add_argument("--modes", nargs="+", default=["a", "b", "c"], choices=["a", "b", "c", "1", "0"])
    args = ap.parse_args()
    if "c" in args.modes:
        try:
            import ray  # noqa: F401
        except ImportError:
            print("ray is not installed (.venv/bin/python -m pip install -r requirements-ray.txt);"
                  " mode c skipped", file=sys.stderr)
            args.modes = [m for m in args.modes if m != "c"]
    warm(args.scenes)
    table = modes(args.jobs, args.pieces)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        for m in args.modes:
            label, opts = table[m]
            out = Path(tmp) / m
            first_plays = Path(tmp) / args.modes[0] / ".media" / "plays"
            if m != args.modes[0] and first_plays.is_dir():
                shutil.copytree(first_plays, out / ".media" / "plays")
            cmd = [sys.executable, str(DRIVER), *args.scenes, "-q", args.quality, "--out", str(out), *opts]
            t0 = time.perf_counter()
            env = dict(os.environ, **({"GPT_SCENES_HELD_FRAMES": "manim"} if m == "0" else {}))
            r = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env)
            wall = time.perf_counter() - t0
            hit = TOTAL.search(r.stdout)
            if r.returncode != 0 or not hit:
                print(f"mode {m} failed (exit {r.returncode}):\n{r.stderr[-2000:]}", file=sys.stderr)
                return 1
            video = float(hit.group(1))
            rows.append((m, label, video, wall))
            print(f"{m}  {label:40s} video {video:7.1f} s  wall {wall:7.1f} s  "
                  f"wall/video {wall / video:.2f}", flush=True)
    print(f"\n-q{args.quality}, {len(args.scenes) or 'all'} scene(s), {os.cpu_count()} CPU(s)")
    print(f"{'mode':<5}{'':40s} {'video_s':>8} {'wall_s':>8} {'wall/video':>11}")
    for m, label, video, wall in rows:
        print(f"{m:<5}{label:40s} {video:8.1f} {wall:8.1f} {wall / video:11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
