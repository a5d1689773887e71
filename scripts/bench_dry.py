#!/usr/bin/env python
"""Dry-run timings of every scene as the prompt grows (``bench_scenes.py --dry``, issue 25).

The parent (:func:`dry_main`) starts one child process per family (and checkout), side by
side; the child (``bench_dry.py child MODEL SCENE,SCENE,... N,N,... LIMIT``, scenes imported
from ``PYTHONPATH``) captures each prompt once and prints one JSON line per scene and length
(CPU seconds, ``time.process_time``):

- ``capture``: the cold ``trace()`` of the prompt (the model's forward pass and saving it),
- ``traces``: every ``trace()`` the scene itself calls while it runs (cache loads, and new
  captures such as an ablation or each step of :func:`tensors.generate.generate`),
- ``dry``: the rest of the dry run (prepare + every beat laid out, animations skipped),
  ``beats``: that time per beat (``prepare`` included), trace time taken out.
"""
from __future__ import annotations

import json
import os
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
class OverBudget(Exception):
    """The CPU seconds of one case ran out (SIGXCPU from RLIMIT_CPU)."""


def _over_budget(*_: Any) -> None:
    raise OverBudget


def child(model: str, scenes: list[str], lengths: list[int], limit: float) -> None:
    """Every scene at every length (shortest first; a scene over budget skips the longer
    ones): one ``BENCH {json}`` line each. One capture per length, shared by the scenes."""
    import importlib
    import resource
    import signal

    from manim import tempconfig

    import tensors
    from scenes.kit.scene import GPTScene
    from tensors import trace

    classes = {}
    for name in scenes:
        mod = importlib.import_module(f"scenes.{name}")
        (classes[name],) = [c for c in vars(mod).values() if isinstance(c, type) and
                            issubclass(c, GPTScene) and c.__module__ == mod.__name__]
    t0 = trace("The", model, quiet=True)          # the model loaded once, not timed
    tok = t0.tokenizer
    clock = {"trace": 0.0}

    def timed_trace(*a: Any, **k: Any) -> Any:
        # the case's CPU limit is for the scene's own work: a capture inside it (an
        # ablation, each step of generate()) runs unlimited and moves the limit on by
        # what it took
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))
        s = time.process_time()
        try:
            return trace(*a, **k)
        finally:
            spent = time.process_time() - s
            clock["trace"] += spent
            if soft != hard:
                resource.setrlimit(resource.RLIMIT_CPU, (soft + int(spent) + 1, hard))

    for m in list(sys.modules.values()):          # every scene module's name for trace()
        if (getattr(m, "__name__", "") or "").startswith("scenes") and \
                getattr(m, "trace", None) is trace:
            m.trace = timed_trace
    tensors.trace = timed_trace
    import tensors.extract                        # what tensors.generate calls for each step
    tensors.extract.trace = timed_trace
    signal.signal(signal.SIGXCPU, _over_budget)
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    over: set[str] = set()
    wanted = {name: sorted({min(n, LIMITS.get(name, n)) for n in lengths}) for name in scenes}
    for n in sorted({m for ms in wanted.values() for m in ms}):
        prompt = prompt_of(tok, n)
        s = time.process_time()
        t = trace(prompt, model, quiet=True)      # cold, unless the other checkout ran it
        capture = time.process_time() - s
        for name in scenes:
            if n in wanted[name] and name not in over:
                row = _one(classes[name], name, prompt, model, n, t.n_pos, capture, clock,
                           limit, hard)
                print("BENCH " + json.dumps(row), flush=True)
                if "timeout" in row:
                    over.add(name)


def _one(cls: type, name: str, prompt: str, model: str, n: int, n_pos: int,
         capture: float | None, clock: dict[str, float], limit: float, hard: int) -> dict:
    """One dry run of scene ``cls`` (CPU-limited to ``limit`` seconds): its row."""
    import resource

    from manim import tempconfig

    beats: dict[str, float] = {}

    class Timed(cls):  # type: ignore[misc, valid-type]
        def prepare(self) -> None:
            s, t0 = time.process_time(), clock["trace"]
            super().prepare()
            beats["prepare"] = time.process_time() - s - (clock["trace"] - t0)

        def run_beat(self, beat: str) -> None:
            s, t0 = time.process_time(), clock["trace"]
            super().run_beat(beat)
            beats[beat] = time.process_time() - s - (clock["trace"] - t0)

    Timed.__name__ = cls.__name__
    Timed.prompt, Timed.model = prompt, model
    clock["trace"] = 0.0
    row: dict[str, Any] = {"scene": name, "n": n, "tokens": n_pos, "capture": capture}
    s = time.process_time()
    # the CPU seconds of this case are limited (a loaded machine stretches wall time)
    resource.setrlimit(resource.RLIMIT_CPU, (int(s + limit) + 1, hard))
    try:
        with tempconfig({"dry_run": True, "disable_caching": True}):
            Timed(skip_animations=True).render()
    except SystemExit:                            # a UserError, said in one line on stderr
        row["refused"] = True
    except OverBudget:
        row["timeout"] = limit
    finally:
        resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))
    row.update(traces=clock["trace"], dry=time.process_time() - s - clock["trace"], beats=beats)
    return row


# ---------------------------------------------------------------------------- the parent
def run_child(tree: Path, model: str, scenes: list[str], lengths: list[int], limit: float,
              cache: str, log: Any) -> dict[tuple[str, int], dict[str, Any]]:
    """Run one child (scenes from ``tree``); its rows by (scene, length)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", "GPT_SCENES_CACHE": cache}
    with tempfile.TemporaryFile("w+") as err:     # a file: a full pipe would stall the child
        proc = subprocess.Popen([sys.executable, __file__, "child", model, ",".join(scenes),
                                 ",".join(map(str, lengths)), str(limit)], stdout=subprocess.PIPE,
                                stderr=err, text=True, env=env, cwd=str(tree))
        out: dict[tuple[str, int], dict[str, Any]] = {}
        for line in proc.stdout:                  # manim prints too: only BENCH lines
            if line.startswith("BENCH "):
                r = json.loads(line[6:])
                out[r["scene"], r["n"]] = r
                log(r)
        if proc.wait() != 0:
            err.seek(0)
            log({"error": (err.read().strip().splitlines() or ["?"])[-1]})
    return out


def cell(r: dict[str, Any] | None) -> str:
    if r is None:
        return "-"
    if "timeout" in r:
        return f">{r['timeout']:.0f}"
    if r.get("refused"):
        return "refused"
    return f"{r['dry']:.1f}"


def dry_main(scenes: list[str], lengths: list[int], families: list[str], compare: str | None,
             limit: float) -> None:
    """Time every scene (children run side by side: one per family and checkout), then print
    the table: CPU seconds beyond the capture, before → after with ``compare``."""
    trees = [("after", ROOT)] + ([("before", Path(compare).resolve())] if compare else [])
    models = {"smollm2": "smollm2"}
    if "gpt2" in families:
        from tensors.shaped import gpt2_shaped

        models["gpt2"] = str(gpt2_shaped(Path(tempfile.mkdtemp(prefix="bench-gpt2-")) / "m",
                                         n_positions=1024))
    lock = threading.Lock()
    results: dict[tuple[str, str], dict[tuple[str, int], dict[str, Any]]] = {}

    def work(fam: str, label: str, tree: Path) -> None:
        def log(r: dict[str, Any]) -> None:
            with lock:
                if "error" in r:
                    print(f"{fam} {label}: child failed: {r['error']}", flush=True)
                    return
                print(f"{fam:8s} {label:6s} {r['scene']:20s} {r['n']:5d} tokens: {cell(r):>7s} s "
                      f"(traces {r['traces']:.1f} s; " + ", ".join(
                          f"{k.removeprefix('beat_')} {v:.1f}" for k, v in r["beats"].items())
                      + ")", flush=True)
        results[fam, label] = run_child(tree, models[fam], scenes, lengths, limit,
                                        tempfile.mkdtemp(prefix=f"bench-dry-{fam}-{label}-"), log)

    threads = [threading.Thread(target=work, args=(fam, label, tree))
               for fam in families for label, tree in trees]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    print("\nDry run (prepare + lay out every beat, animations skipped), CPU seconds beyond "
          "the capture; " + ("before → after; " if compare else "") +
          "columns: prompt tokens (or the scene's limit, in brackets)")
    for fam in families:
        print(f"\n{fam}: scene | " + " | ".join(str(n) for n in lengths))
        for scene in scenes:
            cols, seen = [], set()
            for n in lengths:
                m = min(n, LIMITS.get(scene, n))
                if m in seen:                      # past the scene's limit: shown once
                    cols.append("")
                    continue
                seen.add(m)
                a = cell(results[fam, "after"].get((scene, m)))
                b = cell(results[fam, "before"].get((scene, m))) if compare else None
                cols.append((f"{b} → {a}" if compare else a) + (f" ({m})" if m != n else ""))
            print(f"{scene} | " + " | ".join(cols))
        caps = {r["n"]: r["capture"] for r in results[fam, "after"].values() if r.get("capture")}
        print(f"{fam}: capture (CPU s, cold or from the other checkout's cache) by length: "
              + ", ".join(f"{n}: {c:.1f}" for n, c in sorted(caps.items())))


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "child":
        child(sys.argv[2], sys.argv[3].split(","), [int(x) for x in sys.argv[4].split(",")],
              float(sys.argv[5]))
    else:
        raise SystemExit("usage: bench_scenes.py --dry (this file is its helper)")
