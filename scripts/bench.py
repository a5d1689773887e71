#!/usr/bin/env python
"""Benchmark the model side (prints figures; nothing here is a pass/fail test).

    .venv/bin/python scripts/bench.py            # CPU figures
    .venv/bin/python scripts/bench.py --device cuda --lengths 16 64 256 1024

    .venv/bin/python scripts/bench.py --memory 64 256 1024   # long prompts only

Figures: model load cold (fresh process: imports + from_pretrained) and warm (same process,
files in the page cache), capture of N tokens excluding load (bundled SmolLM2-135M and a
GPT-2-small-shaped model with random weights), warm-cache trace load and cache file size
(16 tokens). ``--memory``: for each length, in a fresh process each, the model's plain
forward pass and the capture (best of 3, interleaved, and their ratio), peak RSS, cache file
size, then (another fresh process) the warm load, one layer's pattern
(``t.pattern[n_layer // 2]``: wall and CPU time of the first in the process, and the best of
three more layers) and load + pattern; and whether the model's full context fits the budget.
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


CAPTURE_CHILD = """
import os, resource, sys, time, torch
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, os.path.join(sys.argv[1], "scripts"))
from bench import prompt_of
from tensors import models, trace
from tensors.capture import run_capture
from tensors.resolve import resolve
n, dev = int(sys.argv[2]), sys.argv[3]
ref = resolve("smollm2", quiet=True)
model, tok, dev = models.load(ref, dev)
p = prompt_of(tok, n)
x = torch.tensor([tok(p)["input_ids"]], device=dev)
sync = torch.cuda.synchronize if dev.startswith("cuda") else (lambda: None)
with torch.inference_mode():
    model(x, use_cache=False); sync()
plain, cap = [], []
for _ in range(3):              # interleaved, best of 3 each: robust to a shared machine
    with torch.inference_mode():
        t0 = time.perf_counter(); model(x, use_cache=False); sync(); plain.append(time.perf_counter() - t0)
    t0 = time.perf_counter(); arrays, ids = run_capture(model, tok, ref.family, p, dev)
    cap.append(time.perf_counter() - t0)
    del arrays
plain, cap = min(plain), min(cap)
t0 = time.perf_counter(); t = trace(p, "smollm2", quiet=True, device=dev)
total = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
print(f"{len(ids)} {plain:.3f} {cap:.3f} {total:.3f} {rss:.2f} {t.cache_path.stat().st_size / 1e6:.0f}")
"""

LOAD_CHILD = """
import resource, sys, time
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[1] + "/scripts")
from bench import prompt_of
from tensors import trace
from tensors.trace import load_tokenizer
from tensors.fetch import bundled_dir
tok = load_tokenizer(bundled_dir())
p = prompt_of(tok, int(sys.argv[2]))
t0 = time.perf_counter(); t = trace(p, "smollm2", quiet=True); load = time.perf_counter() - t0
assert t.from_cache
layer = t.info["n_layer"] // 2
def pattern(i):
    c0 = time.process_time(); t0 = time.perf_counter(); t.pattern[i]
    return time.perf_counter() - t0, time.process_time() - c0
one, cpu = pattern(layer)                                    # the first one in this process
best = min(pattern(layer + k)[0] for k in (1, 2, 3))         # three other layers, best
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
print(f"{load:.3f} {one:.3f} {cpu:.3f} {best:.3f} {rss:.2f}")
"""


def memory_figures(lengths: list[int], device: str) -> None:
    """Each length in fresh processes (peak RSS is per process)."""
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ}
    print("tokens | plain forward | capture (hooks, no save) | trace() incl. save | peak RSS | "
          "cache file | warm load | one layer's pattern (CPU time; best of 3 more layers) | "
          "warm load + pattern | RSS after load")
    for n in lengths:
        r = subprocess.run([sys.executable, "-c", CAPTURE_CHILD, root, str(n), device],
                           capture_output=True, text=True, env=env)
        if r.returncode != 0:
            print(f"{n:6d} | failed: {(r.stderr.strip().splitlines() or ['?'])[-1]}")
            continue
        got, plain, cap, total, rss, mb = r.stdout.split()
        r2 = subprocess.run([sys.executable, "-c", LOAD_CHILD, root, str(n)], capture_output=True,
                            text=True, env=env)
        if r2.returncode != 0:
            print(f"{n:6d} | warm load failed: {(r2.stderr.strip().splitlines() or ['?'])[-1]}")
            continue
        load, one, cpu, best, rss2 = r2.stdout.split()
        print(f"{int(got):6d} | {float(plain):8.2f} s | {float(cap):6.2f} s "
              f"({float(cap) / float(plain):.2f}x plain) | {float(total):6.2f} s | {float(rss):5.2f} GB | "
              f"{int(mb):5d} MB | {float(load) * 1000:7.0f} ms | {float(one) * 1000:5.0f} ms "
              f"({float(cpu) * 1000:.0f} ms; {float(best) * 1000:.0f} ms) | "
              f"{(float(load) + float(one)) * 1000:5.0f} ms | {rss2} GB")
    from tensors.budget import RUNTIME_BYTES, capture_bytes, memory_budget
    from tensors.extract import _weights_bytes
    from tensors.resolve import config_facts, resolve

    ref = resolve("smollm2", quiet=True)
    facts = config_facts(ref)
    base = RUNTIME_BYTES + _weights_bytes(ref.path)
    print("budget estimate (runtime + weights + capture_bytes): " + ", ".join(
        f"{n}: {(base + capture_bytes(facts, n)) / 1e9:.2f} GB" for n in lengths))
    need = base + capture_bytes(facts, facts["n_ctx"])
    budget = memory_budget()
    print(f"full context ({facts['n_ctx']} tokens): needs about {need / 1e9:.1f} GB; budget "
          f"{budget / 1e9:.1f} GB -> {'fits' if need <= budget else 'refused up front (one line)'}")


def main() -> None:
    ap = argparse.ArgumentParser(allow_abbrev=False)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--lengths", type=int, nargs="+", default=[16, 32, 64])
    ap.add_argument("--memory", type=int, nargs="*", help="long-prompt memory figures only")
    args = ap.parse_args()
    os.environ["GPT_SCENES_CACHE"] = tempfile.mkdtemp(prefix="bench-traces-")
    if args.memory is not None:
        memory_figures(args.memory or [64, 256, 1024], args.device)
        return
    import torch

    from tensors import models, trace
    from tensors.capture import run_capture
    from tensors.fetch import gpt2_tokenizer_dir
    from tensors.resolve import resolve
    from tensors.trace import ARRAY_FIELDS

    torch.set_num_threads(os.cpu_count() or 1)
    print(f"device={args.device} threads={torch.get_num_threads()} torch={torch.__version__}")

    code = ("import time;t=time.perf_counter();from tensors import models, resolve;"
            "r=resolve.resolve('smollm2',quiet=True);models.load(r,'cpu');"
            "print(time.perf_counter()-t)")
    cold = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                cwd=Path(__file__).resolve().parents[1]).stdout.strip())
    ref = resolve("smollm2", quiet=True)
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
    AutoTokenizer.from_pretrained(gpt2_tokenizer_dir()).save_pretrained(d)
    bench_capture("GPT-2-small-shaped (random weights)", resolve(str(d), quiet=True))

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
