#!/usr/bin/env python
"""Benchmark the model side (prints figures; nothing here is a pass/fail test).

    .venv/bin/python scripts/bench.py            # CPU figures
    .venv/bin/python scripts/bench.py --device cuda --lengths 16 64 256 1024

Figures: model load cold (fresh process: imports + from_pretrained) and warm (same process,
files in the page cache), capture of N tokens excluding load (bundled SmolLM2-135M and a
GPT-2-small-shaped model with random weights), warm-cache trace load.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def words(n_tokens: int) -> str:
    base = ("the quick brown fox jumps over the lazy dog while a fluffy blue creature roamed "
            "the verdant forest and the capital of France is Paris ").split()
    return " ".join(base[i % len(base)] for i in range(n_tokens))


def prompt_of(tok, n: int) -> str:
    text = words(n * 2)
    ids = tok(text)["input_ids"][:n]
    return tok.decode(ids)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--lengths", type=int, nargs="+", default=[16, 32, 64])
    args = ap.parse_args()
    os.environ["GPT_SCENES_CACHE"] = tempfile.mkdtemp(prefix="bench-traces-")
    import torch

    from tensors import models, trace
    from tensors.trace import ARRAY_FIELDS
    from tensors.capture import run_capture

    torch.set_num_threads(os.cpu_count() or 1)
    print(f"device={args.device} threads={torch.get_num_threads()} torch={torch.__version__}")

    code = ("import time;t=time.perf_counter();from tensors import models;"
            "r=models.resolve('smollm2',quiet=True);models.load(r,'cpu');"
            "print(time.perf_counter()-t)")
    cold = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                cwd=Path(__file__).resolve().parents[1]).stdout.strip())
    ref = models.resolve("smollm2", quiet=True)
    models.load(ref, args.device)
    models._LOADED.clear()
    warm, _ = timed(lambda: models.load(ref, args.device), repeat=1)
    print(f"bundled SmolLM2-135M load: cold {cold:.2f} s (fresh process, incl. imports), warm {warm:.2f} s")

    def bench_capture(label: str, ref) -> None:
        model, tok, dev = models.load(ref, args.device)
        for n in args.lengths:
            p = prompt_of(tok, n)
            run_capture(model, tok, ref.family, p, dev)  # warm-up
            if dev.startswith("cuda"):
                torch.cuda.synchronize()
            t, (arrays, ids) = timed(lambda: run_capture(model, tok, ref.family, p, dev))
            mb = sum(a.nbytes for a in arrays.values()) / 1e6
            print(f"{label}: capture {len(ids):5d} tokens on {dev}: {t * 1000:8.1f} ms "
                  f"(host arrays {mb:,.0f} MB)")

    bench_capture("SmolLM2-135M", ref)
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    d = Path(tempfile.mkdtemp(prefix="bench-gpt2-"))
    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(attn_implementation="eager")).save_pretrained(d)
    AutoTokenizer.from_pretrained(models.gpt2_tokenizer_dir()).save_pretrained(d)
    bench_capture("GPT-2-small-shaped (random weights)", models.resolve(str(d), quiet=True))

    model, tok, _ = models.load(ref, args.device)
    p = prompt_of(tok, 16)
    t = trace(p, "smollm2", quiet=True, device=args.device)
    size = t.cache_path.stat().st_size
    fields = sorted(((getattr(t, f).nbytes, f) for f in ARRAY_FIELDS if getattr(t, f) is not None),
                    reverse=True)
    print(f"trace cache file (16 tokens, SmolLM2): {size / 1e6:.1f} MB; largest arrays: "
          + ", ".join(f"{f} {n / 1e6:.1f} MB" for n, f in fields[:5]))
    times = []
    for _ in range(10):
        t0 = time.perf_counter()
        trace(p, "smollm2", quiet=True)
        times.append(time.perf_counter() - t0)
    print(f"warm-cache trace load (16 tokens, SmolLM2): best {min(times) * 1000:.1f} ms, "
          f"median {statistics.median(times) * 1000:.1f} ms (goal < 50 ms)")

if __name__ == "__main__":
    main()
