#!/usr/bin/env python
"""Whole-course render benchmark: wall time / total video duration for the story scenes,
rendered by the ./render.sh driver in several ways, side by side in one run (prints
figures; no pass/fail).

    .venv/bin/python scripts/bench_render.py                 # every story scene, -qh, modes a b c
    .venv/bin/python scripts/bench_render.py attention -q l  # a subset, a quick check
    .venv/bin/python scripts/bench_render.py --modes a b     # without Ray

Modes (each renders into a fresh folder, so manim's cache never helps):
    d  ./render.sh's own defaults (what a lecturer runs)
    a  one process per scene, -j J                 (--split 1)
    b  scenes split into pieces, -j J              (--split P)
    c  the same pieces on a local Ray instance     (--ray --split P)
    1  one scene at a time, no encoder overlap     (-j 1 --split 1 --max-inflight-encoders 1)
    0  mode a with manim's own held frames (RGBA→YUV per repeated frame): the baseline of
       scenes/kit/encoding.py's convert-once

After the modes, the **encode floor**: the first mode's scene videos decoded and encoded
again with the render's own x264 settings (manim's VideoSegmentEncoder, the same spec),
nothing drawn, on as many processes (-j) as the render; printed as floor / video and each
mode's wall / floor. The decode is timed on its own in a first pass and taken off, so the
floor is the encoding alone (identical frames are handed over as one repeated frame, as the
renderer does).

``--tree DIR`` renders with another checkout's driver (e.g. a worktree of the commit before a
change): the same modes and floor, printed beside this tree's, in the same run.

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
ENCODER = "preset ultrafast, manim's defaults"
SKIP_DIRS = {".media", "pieces", "slides", "partial_movie_files"}
TOTAL = re.compile(r"^total\s+([\d.]+)\s+([\d.]+)\s+wall ([\d.]+) s", re.M)


def modes(jobs: int, pieces: int) -> dict[str, tuple[str, list[str]]]:
    return {
        "d": ("./render.sh's defaults", []),
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


def scene_videos(out: Path) -> list[Path]:
    """The scene videos a render wrote under ``out`` (not pieces, slides or the lecture)."""
    return sorted(p for p in out.rglob("*.mp4")
                  if not SKIP_DIRS.intersection(p.relative_to(out).parts) and p.stem != "lecture")


def _floor_one(args: tuple[str, bool, bool]) -> int:
    """Decode one video to RGBA frames and, with ``encode``, encode them again with the
    render's x264 settings (manim's VideoSegmentEncoder, the same spec). ``held``: a run of
    identical frames is handed over as one frame repeated, converted to YUV once (as
    scenes.kit.encoding does in a render); otherwise every frame is converted and encoded.
    Returns the number of frames."""
    import av
    import numpy as np
    from manim import config
    from manim._config.video_encoder import VideoEncoderSpec, _DEFAULT_OPTIONS
    from manim.scene.video_segment_encoder import VideoSegmentEncoder

    from scenes.kit.encoding import ENCODER_PRESET, convert_held_frames_once

    convert_held_frames_once()
    path, encode, held_once = Path(args[0]), args[1], args[2]
    n = 0
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp, av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        enc = None
        if encode:
            opts = {**dict(_DEFAULT_OPTIONS["libx264"]), **dict(config.video_encoder_options),
                    "preset": ENCODER_PRESET}
            spec = VideoEncoderSpec(
                container_format="mp4", codec="libx264", pixel_format="yuv420p",
                width=s.codec_context.width, height=s.codec_context.height,
                frame_rate=s.average_rate, options=tuple(sorted(opts.items())))
            enc = VideoSegmentEncoder(target=Path(tmp) / path.name, spec=spec)
        held, reps = None, 0
        for frame in c.decode(s):
            rgba = np.ascontiguousarray(frame.to_ndarray(format="rgba"))
            n += 1
            if held_once and held is not None and np.array_equal(rgba, held):
                reps += 1
                continue
            if enc is not None and held is not None:
                enc.write_frame(held, repeat=reps)
            held, reps = rgba, 1
        if enc is not None:
            if held is not None:
                enc.write_frame(held, repeat=reps)
            enc.finish()
    return n


def encode_floor(videos: list[Path], jobs: int, held: bool = False) -> tuple[float, int]:
    """Seconds to encode every frame of ``videos`` again with the render's x264 settings, on
    ``jobs`` processes as the render uses, and the number of frames: the wall time of a
    decode-and-encode pass minus that of a decode-only pass (the floor is the encoding)."""
    from concurrent.futures import ProcessPoolExecutor

    def run(encode: bool) -> tuple[float, int]:
        t0 = time.perf_counter()
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            n = sum(pool.map(_floor_one, [(str(v), encode, held) for v in videos]))
        return time.perf_counter() - t0, n

    decode, n = run(False)
    both, _ = run(True)
    return max(both - decode, 0.0), n


def main() -> int:
    ap = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    ap.add_argument("scenes", nargs="*", help="scene ids (default: every story scene)")
    ap.add_argument("-q", "--quality", default="h", choices=list("lmhpk"))
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--pieces", type=int, default=2, help="pieces per scene in modes b and c")
    ap.add_argument("--modes", nargs="+", default=["a", "b", "c"], choices=["d", "a", "b", "c", "1", "0"])
    ap.add_argument("--tree", type=Path, help="also render with this checkout's driver (a baseline)")
    ap.add_argument("--no-floor", action="store_true", help="skip the encode floor")
    ap.add_argument("--per-scene", action="store_true",
                    help="print the driver's table (render s / video s per scene) for each mode; "
                         "with mode 1 (one scene at a time) each row is that scene alone")
    ap.add_argument("--floor", choices=["every", "held"], default="every",
                    help="every: every frame converted and encoded (the floor issue 21 measured); "
                         "held: identical frames handed over once, as a render does (lower)")
    ap.add_argument("--floor-of", type=Path, nargs="+", metavar="DIR",
                    help="only the encode floor of the scene videos already in DIR (no render)")
    args = ap.parse_args()
    if args.floor_of:
        from scenes.render.media import video_seconds
        for d in args.floor_of:
            videos = scene_videos(d)
            video = sum(video_seconds(v) or 0 for v in videos)
            floor, frames = encode_floor(videos, args.jobs, held=args.floor == "held")
            print(f"{d}: {len(videos)} videos, {video:.1f} s, {frames} frames; floor ({args.floor}) "
                  f"{floor:.1f} s = {floor / video:.2f} × video", flush=True)
        return 0
    if args.tree and not (args.tree / "scripts" / "render.py").is_file():
        print(f"--tree {args.tree}: no scripts/render.py there (give a gpt-scenes checkout)",
              file=sys.stderr)
        return 2
    if "c" in args.modes:
        try:
            import ray  # noqa: F401
        except ImportError:
            print("ray is not installed (.venv/bin/python -m pip install -r requirements-ray.txt);"
                  " mode c skipped", file=sys.stderr)
            args.modes = [m for m in args.modes if m != "c"]
    warm(args.scenes)
    table = modes(args.jobs, args.pieces)
    trees = [("this", ROOT)] + ([("base", args.tree.resolve())] if args.tree else [])
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        for tag, tree in trees:
            env0 = dict(os.environ, PYTHONPATH=str(tree))
            for m in args.modes:
                label, opts = table[m]
                out = Path(tmp) / tag / m
                first_plays = Path(tmp) / tag / args.modes[0] / ".media" / "plays"
                if m != args.modes[0] and first_plays.is_dir():
                    shutil.copytree(first_plays, out / ".media" / "plays")
                cmd = [sys.executable, str(tree / "scripts" / "render.py"), *args.scenes,
                       "-q", args.quality, "--out", str(out), *opts]
                env = dict(env0, **({"GPT_SCENES_HELD_FRAMES": "manim"} if m == "0" else {}))
                t0 = time.perf_counter()
                r = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                   env=env, cwd=tree)
                wall = time.perf_counter() - t0
                hit = TOTAL.search(r.stdout)
                if r.returncode != 0 or not hit:
                    print(f"{tag} mode {m} failed (exit {r.returncode}):\n{r.stderr[-2000:]}",
                          file=sys.stderr)
                    return 1
                video = float(hit.group(1))
                rows.append((tag, m, label, video, wall))
                if args.per_scene:                # the driver's own table: one row per scene
                    table_txt = r.stdout[r.stdout.find("scene "):hit.end()]
                    print(table_txt, flush=True)
                print(f"{tag} {m}  {label:40s} video {video:7.1f} s  wall {wall:7.1f} s  "
                      f"wall/video {wall / video:.2f}", flush=True)
            if not args.no_floor:
                videos = scene_videos(Path(tmp) / tag / args.modes[0])
                floor, frames = encode_floor(videos, args.jobs, held=args.floor == "held")
                video = rows[-len(args.modes)][3]
                rows.append((tag, "floor", f"encode floor, {args.floor} ({frames} frames, x264 {ENCODER})",
                             video, floor))
                print(f"{tag} floor  {frames} frames encoded again: {floor:.1f} s "
                      f"({floor / video:.2f} × video)", flush=True)
    print(f"\n-q{args.quality}, {len(args.scenes) or 'all'} scene(s), {os.cpu_count()} CPU(s)")
    print(f"{'tree':<5}{'mode':<6}{'':58s} {'video_s':>8} {'wall_s':>8} {'wall/video':>11}"
          f" {'wall/floor':>11}")
    floors = {tag: w for tag, m, _, _, w in rows if m == "floor"}
    for tag, m, label, video, wall in rows:
        ratio = f"{wall / floors[tag]:11.2f}" if tag in floors and m != "floor" else f"{'':11s}"
        print(f"{tag:<5}{m:<6}{label:58s} {video:8.1f} {wall:8.1f} {wall / video:11.2f} {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
