#!/usr/bin/env python
"""Render-speed benchmark: render time / video duration per scene (prints figures, no pass/fail).

    .venv/bin/python scripts/bench_scenes.py                     # every scene, -ql and -qh
    .venv/bin/python scripts/bench_scenes.py attention -q l      # one scene, one quality
    .venv/bin/python scripts/bench_scenes.py attention -q l --prompt-tokens 8 64

The trace cache is warmed first (one render), so figures are rendering only, as a lecturer
re-rendering sees them; the first-ever render adds the model capture (see scripts/bench.py).
--prompt-tokens renders the attention-style scene with prompts of N tokens through a
temporary course config (``[<scene>] prompt = ...``) to show how render time grows.

``--dry`` (issue 25) times instead the scene's own work as the prompt grows: a dry run
(``dry_run``, animations skipped: every beat prepared and laid out, nothing drawn), per
scene, for both families — the bundled SmolLM2 and a GPT-2-shaped model built from its
config with the real GPT-2 tokenizer (:func:`tensors.shaped.gpt2_shaped`, context 1,024) —
at prompts of 1, 12, 40, 200 and 1,000 tokens of English text (or the scene's stated
limit). Each (family, scene) runs in a fresh process with its own empty trace cache; the
model capture (every ``trace()`` call, including a second run such as an ablation) is
timed apart from the rest. Figures are CPU seconds of the process (``time.process_time``):
on a quiet machine about the wall time; on a loaded one the wall time stretches, they don't::

    .venv/bin/python scripts/bench_scenes.py --dry                     # every scene
    .venv/bin/python scripts/bench_scenes.py --dry mlp --tokens 200 1000 --family smollm2
    .venv/bin/python scripts/bench_scenes.py --dry --compare /work/main  # before → after

``--compare TREE`` runs each case also with the scenes of another checkout (``PYTHONPATH``),
back to back, so that the two columns are measured under the same load. ``--limit S``:
a case whose own work (its captures not counted) takes more CPU seconds is stopped and
shown as ``>S``; longer prompts are then skipped.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scenes.render.media import video_seconds  # noqa: E402
from scenes.kit.course.discover import STORY_ORDER as STORY  # noqa: E402
from bench_dry import dry_main  # noqa: E402
QUALITY = {"l": "-ql", "m": "-qm", "h": "-qh", "p": "-qp", "k": "-qk"}


def render(scene: str, q: str, media: Path, env: dict[str, str]) -> tuple[float, Path]:
    cmd = [sys.executable, "-m", "manim", "render", QUALITY[q], "--disable_caching",
           "--media_dir", str(media), "--progress_bar", "none", str(ROOT / "scenes" / f"{scene}.py")]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{scene}: render failed:\n{r.stderr[-2000:]}")
    videos = sorted(media.rglob("*.mp4"), key=lambda p: p.stat().st_mtime)
    videos = [v for v in videos if "partial_movie_files" not in v.parts]
    return dt, videos[-1]


def prompt_with(n: int) -> str:
    words = ("a fluffy blue creature roamed the verdant forest while the quick brown fox "
             "jumped over the lazy dog near the old stone bridge").split()
    return " ".join(words[i % len(words)] for i in range(n))


def main() -> None:
    ap = argparse.ArgumentParser(allow_abbrev=False)
    ap.add_argument("scenes", nargs="*")
    ap.add_argument("-q", "--quality", nargs="+", default=["l", "h"], choices=list(QUALITY))
    ap.add_argument("--prompt-tokens", type=int, nargs="*", default=[])
    ap.add_argument("--dry", action="store_true", help="dry-run timings (see the module doc)")
    ap.add_argument("--tokens", type=int, nargs="+", default=[1, 12, 40, 200, 1000])
    ap.add_argument("--family", nargs="+", default=["smollm2", "gpt2"], choices=["smollm2", "gpt2"])
    ap.add_argument("--compare", help="another checkout: its scenes are timed too, side by side")
    ap.add_argument("--limit", type=float, default=120.0, help="CPU seconds per case, its captures not counted (--dry)")
    args = ap.parse_args()
    if args.dry:
        dry_main(args.scenes or [s for s in STORY if (ROOT / "scenes" / f"{s}.py").exists()],
                 args.tokens, args.family, args.compare, args.limit)
        return
    scenes = args.scenes or [s for s in STORY if (ROOT / "scenes" / f"{s}.py").exists()]
    env = {**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")}
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-scenes-") as tmp:
        variants: list[tuple[str, str, dict[str, str]]] = []
        for s in scenes:
            if args.prompt_tokens:
                for n in args.prompt_tokens:
                    cfg = Path(tmp) / f"{s}-{n}.toml"
                    cfg.write_text(f'[{s}]\nprompt = "{prompt_with(n)}"\n')
                    variants.append((s, f"{s} ({n} words)", {**env, "GPT_SCENES_COURSE": str(cfg)}))
            else:
                variants.append((s, s, env))
        for s, label, e in variants:
            render(s, "l", Path(tmp) / "warm", e)  # warm the trace cache
            for q in args.quality:
                dt, video = render(s, q, Path(tmp) / f"{label}-{q}".replace(" ", "_"), e)
                vs = video_seconds(video) or 0.0
                rows.append((label, QUALITY[q], vs, dt, dt / vs if vs else float("nan")))
                print(f"{label:28s} {QUALITY[q]}  video {vs:6.1f} s  render {dt:7.1f} s  "
                      f"ratio {rows[-1][4]:.2f}", flush=True)
    print("\nscene                        quality  video_s  render_s  render/video")
    for label, q, vs, dt, ratio in rows:
        print(f"{label:28s} {q:7s} {vs:8.1f} {dt:9.1f} {ratio:13.2f}")


if __name__ == "__main__":
    main()
