#!/usr/bin/env python
"""Dry-run timings of every scene as the prompt grows (``bench_scenes.py --dry``, issue 25).

The parent (:func:`dry_main`) starts one child process per (family, scene[, checkout]); the
child (``bench_dry.py child MODEL SCENE N,N,...``, scenes imported from ``PYTHONPATH``)
prints one JSON line per prompt length:

- ``capture``: the cold ``trace()`` of the prompt (the model's forward pass and saving it),
- ``traces``: every ``trace()`` the scene itself calls while it runs (cache loads, and new
  captures such as an ablation or a generated step),
- ``dry``: the rest of the dry run (prepare + every beat laid out, animations skipped),
  ``beats``: that time per beat (``prepare`` included), trace time taken out.
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Scenes that state a limit on the prompt (a longer one is refused in one line).
LIMITS = {"kv_cache": 7}
#: Real English text (Dickens, *A Tale of Two Cities*, 1859, public domain), repeated and cut
#: to N tokens.
TEXT = ("It was the best of times, it was the worst of times, it was the age of wisdom, it "
        "was the age of foolishness, it was the epoch of belief, it was the epoch of "
        "incredulity, it was the season of Light, it was the season of Darkness, it was the "
        "spring of hope, it was the winter of despair, we had everything before us, we had "
        "nothing before us, we were all going direct to Heaven, we were all going direct the "
        "other way – in short, the period was so far like the present period, that some of its "
        "noisiest authorities insisted on its being received, for good or for evil, in the "
        "superlative degree of comparison only. There were a king with a large jaw and a queen "
        "with a plain face, on the throne of England; there were a king with a large jaw and a "
        "queen with a fair face, on the throne of France. In both countries it was clearer "
        "than crystal to the lords of the State preserves of loaves and fishes, that things in "
        "general were settled for ever. ")


def prompt_of(tok: Any, n: int) -> str:
    """The first ``n`` tokens of :data:`TEXT` (repeated), as text the tokenizer reads back
    as ``n`` tokens when it can (one more or fewer at a merge across the cut otherwise)."""
    ids = tok(TEXT * (1 + n // 150), add_special_tokens=False)["input_ids"]
    for m in (n, n - 1, n + 1):
        s = tok.decode(ids[:m])
        if len(tok(s, add_special_tokens=False)["input_ids"]) == n:
            return s
    return tok.decode(ids[:n])


# ---------------------------------------------------------------------------- the child
def child(model: str, scene_name: str, lengths: list[int]) -> None:
    import importlib

    from manim import tempconfig

    import tensors
    from scenes.kit.scene import GPTScene
    from tensors import trace

    os.environ["GPT_SCENES_CACHE"] = tempfile.mkdtemp(prefix="bench-dry-")
    mod = importlib.import_module(f"scenes.{scene_name}")
    (cls,) = [c for c in vars(mod).values() if isinstance(c, type) and issubclass(c, GPTScene)
              and c.__module__ == mod.__name__]
    t0 = trace("The", model, quiet=True)          # the model loaded once, not timed
    tok = t0.tokenizer
    clock = {"trace": 0.0}

    def timed_trace(*a: Any, **k: Any) -> Any:
        s = time.process_time()
        try:
            return trace(*a, **k)
        finally:
            clock["trace"] += time.process_time() - s

    for m in list(sys.modules.values()):          # every scene module's name for trace()
        if (getattr(m, "__name__", "") or "").startswith("scenes") and \
                getattr(m, "trace", None) is trace:
            m.trace = timed_trace
    tensors.trace = timed_trace

    for n in lengths:
        prompt = prompt_of(tok, n)
        s = time.process_time()
        t = trace(prompt, model, quiet=True)
        capture = time.process_time() - s
        beats: dict[str, float] = {}

        class Timed(cls):  # type: ignore[misc, valid-type]
            def prepare(self) -> None:
                s, t0 = time.process_time(), clock["trace"]
                super().prepare()
                beats["prepare"] = time.process_time() - s - (clock["trace"] - t0)

            def run_beat(self, name: str) -> None:
                s, t0 = time.process_time(), clock["trace"]
                super().run_beat(name)
                beats[name] = time.process_time() - s - (clock["trace"] - t0)

        Timed.__name__ = cls.__name__
        Timed.prompt, Timed.model = prompt, model
        clock["trace"] = 0.0
        row: dict[str, Any] = {"n": n, "tokens": t.n_pos, "capture": capture}
        s = time.process_time()
        try:
            with tempconfig({"dry_run": True, "disable_caching": True}):
                Timed(skip_animations=True).render()
        except SystemExit:                        # a UserError, said in one line on stderr
            row["refused"] = True
        wall = time.process_time() - s
        row.update(traces=clock["trace"], dry=wall - clock["trace"], beats=beats)
        print("BENCH " + json.dumps(row), flush=True)


# ---------------------------------------------------------------------------- the parent
def run_case(tree: Path, model: str, scene: str, lengths: list[int], limit: float,
             ) -> dict[int, dict[str, Any]]:
    """Run one child; the rows it printed by length (a length past ``limit`` seconds is
    ``{"timeout": limit}``, and the longer ones are not run)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
    err = tempfile.TemporaryFile("w+")          # a file: a full pipe would stall the child
    proc = subprocess.Popen([sys.executable, __file__, "child", model, scene,
                             ",".join(map(str, lengths))], stdout=subprocess.PIPE,
                            stderr=err, text=True, env=env, cwd=str(tree))
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout] + [lines.put(None)],
                     daemon=True).start()
    out: dict[int, dict[str, Any]] = {}
    for n in lengths:
        end = time.monotonic() + limit + (60 if not out else 0)   # the first: imports too
        line = ""
        while line is not None and not line.startswith("BENCH "):   # manim prints too
            try:
                line = lines.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                break
        if line is not None and not line.startswith("BENCH "):
            proc.kill()
            out[n] = {"timeout": limit}
            break
        if line is None:
            proc.wait()
            err.seek(0)
            out[n] = {"error": (err.read().strip().splitlines() or ["?"])[-1]}
            break
        out[n] = json.loads(line[6:])
    proc.wait()
    return out


def cell(r: dict[str, Any] | None) -> str:
    if r is None:
        return "-"
    if "timeout" in r:
        return f">{r['timeout']:.0f}"
    if "error" in r:
        return "error"
    if r.get("refused"):
        return "refused"
    return f"{r['dry']:.1f}"


def dry_main(scenes: list[str], lengths: list[int], families: list[str], compare: str | None,
             limit: float) -> None:
    trees = [("after", ROOT)] + ([("before", Path(compare).resolve())] if compare else [])
    models = {"smollm2": "smollm2"}
    if "gpt2" in families:
        from tensors.shaped import gpt2_shaped

        models["gpt2"] = str(gpt2_shaped(Path(tempfile.mkdtemp(prefix="bench-gpt2-")) / "m",
                                         n_positions=1024))
    results: dict[tuple[str, str, str], dict[int, dict[str, Any]]] = {}
    for fam in families:
        for scene in scenes:
            ns = sorted({min(n, LIMITS.get(scene, n)) for n in lengths})
            for label, tree in reversed(trees):            # before first, then after
                r = results[fam, scene, label] = run_case(tree, models[fam], scene, ns, limit)
                print(f"{fam:8s} {scene:20s} {label:6s} " + "  ".join(
                    f"{n}: {cell(r.get(n))} s (capture {r[n].get('capture', 0):.1f}, "
                    f"traces {r[n].get('traces', 0):.1f})" if n in r else f"{n}: -"
                    for n in ns), flush=True)
    print("\nDry run (prepare + lay out every beat, animations skipped), seconds beyond the "
          "capture; " + ("before → after; " if compare else "") +
          "columns: prompt tokens (or the scene's limit)")
    for fam in families:
        print(f"\n{fam}: scene | " + " | ".join(str(n) for n in lengths) + " | capture at the longest")
        for scene in scenes:
            ns = sorted({min(n, LIMITS.get(scene, n)) for n in lengths})
            cols, seen = [], set()
            for n in lengths:
                m = min(n, LIMITS.get(scene, n))
                if m in seen:                      # past the scene's limit: shown once
                    cols.append("")
                    continue
                seen.add(m)
                a = cell(results[fam, scene, "after"].get(m))
                b = cell(results[fam, scene, "before"].get(m)) if compare else None
                tag = f" ({m})" if m != n else ""
                cols.append((f"{b} → {a}" if compare else a) + tag)
            last = results[fam, scene, "after"].get(max(ns), {})
            cap = f"{last['capture']:.1f} s" if "capture" in last else "-"
            print(f"{scene} | " + " | ".join(cols) + f" | {cap}")
    print("\nPer beat at the longest prompt run (after):")
    for fam in families:
        for scene in scenes:
            r = results[fam, scene, "after"]
            done = [n for n in r if "beats" in r[n]]
            if done:
                n = max(done)
                print(f"  {fam} {scene} ({n}): " + ", ".join(
                    f"{k.removeprefix('beat_')} {v:.2f}" for k, v in r[n]["beats"].items()))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "child":
        child(sys.argv[2], sys.argv[3], [int(x) for x in sys.argv[4].split(",")])
    else:
        raise SystemExit("usage: bench_scenes.py --dry (this file is its helper)")
