"""Sampling and generation from the real model: seeded, reproducible, cached.

Scenes never run a model and never draw random numbers; they ask this module.

>>> from tensors import trace
>>> from tensors.generate import sample, greedy, generate
>>> t = trace("The capital of France is")                        # doctest: +SKIP
>>> sample(t, temperature=1.0, seed=0, n=5)        # ' Paris' = 7042, ' the' = 260  # doctest: +SKIP
array([7042, 7042,  260,  260, 7042])
>>> g = generate("Once upon a time, there was a", steps=6, temperature=0.7, seed=0)  # doctest: +SKIP
>>> g.text                                                       # doctest: +SKIP
'Once upon a time, there was a town called Erebus.'

How a token is drawn (:func:`sample`)
    The distribution is ``p = softmax(logits / T)`` over the whole vocabulary (float64), or,
    with ``top_k``, over the k largest logits only (the others get probability 0 — the usual
    top-k sampling). A ``numpy.random.Generator(PCG64(seed))`` draws ``u ~ U[0, 1)`` and the
    token is the inverse CDF: the first id whose cumulative probability exceeds ``u``.
    Same logits, T, top_k and seed → the same ids, on any machine. Temperature only changes
    the distribution we sample from: the most likely token (:func:`greedy`, the argmax) is
    the same for every T > 0. T ≤ 0 is a :class:`UserError`.

How text grows (:func:`generate`)
    Step i runs the model (through :func:`tensors.trace`, which caches every forward pass)
    on the *text so far*, takes the next-token distribution at the last position, draws one
    token with one shared seeded generator, and appends the token's text. The next step
    re-tokenizes the new text — exactly what happens when you give the model that text.
    A tokenizer may split the grown text differently from "prompt tokens + sampled tokens"
    (e.g. ``' Par'`` + ``'is'`` read back as ``' Paris'``); each :class:`Step` records the
    tokens the model actually read and ``retokenized=True`` when they differ from the ids
    appended so far. Generation stops early at a special token (end of text).
    The result is cached as JSON next to the traces, so a re-render needs neither the
    model nor the tokenizer.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .errors import UserError, note

#: Bump when what :func:`generate` records (or how it samples) changes.
GENERATE_VERSION = 1


# ====================================================================== the distribution
def check_temperature(temperature: Any) -> float:
    """``temperature`` as a float, or a one-line UserError unless it is a positive number."""
    try:
        T = float(temperature)
    except (TypeError, ValueError):
        T = float("nan")
    if not math.isfinite(T) or T <= 0:
        raise UserError(f"temperature {temperature!r} must be a positive number, e.g. 0.7 "
                        "(greedy decoding is the argmax, the limit T → 0)")
    return T


def check_top_k(top_k: Any, vocab: int) -> int | None:
    if top_k is None:
        return None
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or not 1 <= top_k:
        raise UserError(f"top_k {top_k!r} must be a whole number ≥ 1 (or None for the whole "
                        "vocabulary), e.g. 40")
    return int(min(top_k, vocab))


def _logits_of(trace_or_logits: Any, pos: int = -1) -> np.ndarray:
    if hasattr(trace_or_logits, "logits"):
        return np.asarray(trace_or_logits.logits[pos], dtype=np.float64)
    x = np.asarray(trace_or_logits, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected one row of logits [vocab], got shape {x.shape}")
    return x


def distribution(trace_or_logits: Any, temperature: float = 1.0, top_k: int | None = None,
                 pos: int = -1) -> np.ndarray:
    """The distribution :func:`sample` draws from: softmax(logits / T), restricted to the
    ``top_k`` largest logits when given (renormalised). [vocab] float64, sums to 1."""
    T = check_temperature(temperature)
    z = _logits_of(trace_or_logits, pos) / T
    k = check_top_k(top_k, z.shape[0])
    if k is not None and k < z.shape[0]:
        keep = np.argpartition(-z, k - 1)[:k]
        masked = np.full_like(z, -np.inf)
        masked[keep] = z[keep]
        z = masked
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()


def greedy(trace_or_logits: Any, pos: int = -1) -> int:
    """Greedy decoding: the argmax of the logits — the same token for every temperature."""
    return int(np.argmax(_logits_of(trace_or_logits, pos)))


def rng(seed: int) -> np.random.Generator:
    """The generator every draw here uses: numpy's PCG64 seeded with ``seed``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UserError(f"seed {seed!r} must be a whole number ≥ 0, e.g. 0")
    return np.random.Generator(np.random.PCG64(int(seed)))


def _draw(p: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw: for each u in [0, 1), the first id whose cumulative probability > u."""
    cdf = np.cumsum(p)
    ids = np.searchsorted(cdf, u * cdf[-1], side="right")
    ids = np.minimum(ids, len(p) - 1)
    # never return a zero-probability id (possible only through float rounding at an edge)
    bad = p[ids] == 0
    if bad.any():
        nz = np.flatnonzero(p)
        ids[bad] = nz[np.minimum(np.searchsorted(nz, ids[bad]), len(nz) - 1)]
    return ids


def sample(trace_or_logits: Any, temperature: float = 1.0, seed: int = 0, n: int = 1,
           top_k: int | None = None, pos: int = -1) -> np.ndarray:
    """``n`` token ids drawn independently from :func:`distribution` with seed ``seed``.

    Reproducible: the same inputs give the same ids. ``trace_or_logits``: a Trace (its
    logits at ``pos``) or one row of logits [vocab].
    """
    p = distribution(trace_or_logits, temperature, top_k, pos)
    g = rng(seed)
    return _draw(p, g.random(int(n))).astype(np.int64)


# ====================================================================== readable tokens
def token_strs(t: Any, ids: Sequence[int]) -> list[str]:
    """Readable pieces for ``ids`` (:meth:`tensors.Trace.token_strs`: the model's
    tokenizer.json, read once per process, no torch)."""
    return t.token_strs([int(i) for i in ids])


def tokenizer(t: Any) -> Any:
    """The model's tokenizer (loaded once per process by :func:`tensors.trace.load_tokenizer`)."""
    return t.tokenizer


def top_tokens(t: Any, k: int = 10, temperature: float = 1.0, top_k: int | None = None,
               pos: int = -1) -> list[tuple[int, str, float]]:
    """The k most likely next tokens of :func:`distribution`: [(id, token, prob), …]."""
    p = distribution(t, temperature, top_k, pos)
    idx = np.argsort(-p, kind="stable")[:k]
    return [(int(i), s, float(p[i])) for i, s in zip(idx, token_strs(t, idx))]


# ====================================================================== generation
@dataclasses.dataclass
class Step:
    """One step of :func:`generate`: what the model read, what it predicted, what was drawn."""

    index: int
    text: str                            # the text the model read at this step
    tokens: list[str]                    # how the model tokenized it
    token_ids: list[int]
    top: list[tuple[int, str, float]]    # the top of the sampling distribution: (id, token, p)
    sampled_id: int
    sampled: str                         # the drawn token, readable
    sampled_prob: float                  # its probability in the sampling distribution
    sampled_rank: int                    # 0 = the most likely token
    greedy_id: int                       # argmax (what greedy decoding would append)
    greedy: str
    retokenized: bool                    # True when tokens != prompt tokens + tokens appended so far
    stop: bool = False                   # the drawn token is a special token: generation ends


@dataclasses.dataclass
class Generation:
    prompt: str
    model: str                           # the model's name
    temperature: float
    seed: int
    top_k: int | None
    steps: list[Step]
    text: str                            # the prompt + every appended token
    info: dict[str, Any]

    @property
    def appended(self) -> list[str]:
        return [s.sampled for s in self.steps if not s.stop]


def generate(prompt: str, model: str = "auto", steps: int = 6, temperature: float = 1.0,
             seed: int = 0, top_k: int | None = None, n_top: int = 5, *,
             device: str | None = None, use_cache: bool = True) -> Generation:
    """Generate ``steps`` tokens after ``prompt`` with the real model (see the module doc).

    Cached: the same (model weights, prompt, steps, T, seed, top_k, n_top) load from a JSON
    file in milliseconds.
    """
    from .extract import trace
    from .resolve import fingerprint, resolve
    from .trace import CAPTURE_VERSION

    T = check_temperature(temperature)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise UserError(f"steps {steps!r} must be a whole number ≥ 1, e.g. 6")
    g = rng(seed)
    ref = resolve(model, quiet=True)
    fp = fingerprint(ref.path)
    key = json.dumps([GENERATE_VERSION, CAPTURE_VERSION, ref.key, fp, prompt, int(steps), T,
                      int(seed), top_k, int(n_top)], ensure_ascii=False)
    folder = _cache_dir()
    path = folder / f"gen-{hashlib.sha256(key.encode()).hexdigest()[:24]}.json" if folder else None
    use_cache = use_cache and path is not None
    if use_cache:
        cached = _read_json(path)
        if cached is not None:
            try:
                return _from_json(cached)
            except (KeyError, TypeError, ValueError):
                note(f"generation cache {path.name} is unreadable; recomputing")

    t = trace(prompt, model, device=device, quiet=True)
    check_top_k(top_k, t.info["vocab_size"])
    tok = tokenizer(t)
    special = set(int(i) for i in getattr(tok, "all_special_ids", []) or [])
    ids = [int(i) for i in t.token_ids]          # prompt ids + every id appended so far
    n_prompt = len(ids)
    text = prompt
    out: list[Step] = []
    for i in range(int(steps)):
        if i > 0:
            t = trace(text, model, device=device, quiet=True)
        p = distribution(t, T, top_k)
        sid = int(_draw(p, g.random(1))[0])
        top_ids = np.argsort(-p, kind="stable")[:n_top]
        strs = token_strs(t, [*top_ids, sid, greedy(t)])
        stop = sid in special
        out.append(Step(
            index=i, text=text, tokens=list(t.tokens), token_ids=[int(x) for x in t.token_ids],
            top=[(int(j), s, float(p[j])) for j, s in zip(top_ids, strs)],
            sampled_id=sid, sampled=strs[-2], sampled_prob=float(p[sid]),
            sampled_rank=int((p > p[sid]).sum()), greedy_id=greedy(t), greedy=strs[-1],
            retokenized=[int(x) for x in t.token_ids] != ids, stop=stop))
        if stop:
            break
        ids.append(sid)
        # the text of all ids decoded together (a piece that is half of a multi-byte
        # character only becomes readable with its other half)
        text = prompt + tok.decode(ids[n_prompt:], skip_special_tokens=False)
    gen = Generation(prompt=prompt, model=t.info["name"], temperature=T, seed=int(seed),
                     top_k=top_k, steps=out, text=text,
                     info={k: t.info[k] for k in ("name", "family", "n_layer", "n_head",
                                                   "d_model", "vocab_size", "norm",
                                                   "tied_embeddings", "fingerprint")})
    if use_cache:
        _write_json(path, _to_json(gen))
    return gen


def _to_json(g: Generation) -> dict[str, Any]:
    d = dataclasses.asdict(g)
    return d


def _from_json(d: dict[str, Any]) -> Generation:
    steps = []
    for s in d["steps"]:
        s = dict(s)
        s["top"] = [(int(a), str(b), float(c)) for a, b, c in s["top"]]
        steps.append(Step(**s))
    return Generation(**{**d, "steps": steps})


# ====================================================================== small JSON cache
def _cache_dir() -> Path | None:
    from .trace_cache import cache_dir

    return cache_dir()


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _write_json(path: Path, obj: Any) -> None:
    """Atomic write (temp file + rename); a read-only cache is not an error."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False)
        os.replace(tmp, path)
    except OSError as e:
        note(f"could not write {path.name} ({e.strerror}); continuing without it")
