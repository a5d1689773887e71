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

How a token is drawn: :mod:`tensors.sampling` (the one softmax; seeded inverse-CDF draws).

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
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .errors import UserError, note
from .store import CacheError, read_json, write_json
from .sampling import (check_temperature, check_top_k, distribution, draw, greedy,  # noqa: F401
                       rng, sample)

#: Bump when what :func:`generate` records (or how it samples) changes.
GENERATE_VERSION = 2


# ====================================================================== readable tokens
def token_strs(t: Any, ids: Sequence[int]) -> list[str]:
    """Readable pieces for ``ids`` (:meth:`tensors.Trace.token_strs`: the model's
    tokenizer.json, read once per process, no torch)."""
    return t.token_strs([int(i) for i in ids])


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
        try:
            got = _from_json(read_json(path))
            if (got.prompt, got.temperature, got.seed, got.top_k, got.info.get("fingerprint")) \
                    == (prompt, T, int(seed), top_k, fp) and len(got.steps) <= int(steps):
                return got
            note(f"generation cache {path.name} holds another run; recomputing")
        except FileNotFoundError:
            pass
        except (CacheError, KeyError, TypeError, ValueError) as e:
            note(f"generation cache {path.name} is unreadable ({e}); recomputing")

    t = trace(prompt, model, device=device, quiet=True)
    check_top_k(top_k, t.info["vocab_size"])
    tok = t.tokenizer
    special = set(int(i) for i in getattr(tok, "all_special_ids", []) or [])
    ids = [int(i) for i in t.token_ids]          # prompt ids + every id appended so far
    n_prompt = len(ids)
    text = prompt
    out: list[Step] = []
    for i in range(int(steps)):
        if i > 0:
            t = trace(text, model, device=device, quiet=True)
        p = distribution(t, T, top_k)
        sid = int(draw(p, g.random(1))[0])
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
        try:
            write_json(path, dataclasses.asdict(gen))
        except OSError as e:  # a read-only cache is not an error (a full disk is: UserError)
            note(f"could not write {path.name} ({e.strerror or type(e).__name__}); continuing without it")
    return gen


def _from_json(d: dict[str, Any]) -> Generation:
    steps = []
    for s in d["steps"]:
        s = dict(s)
        s["top"] = [(int(a), str(b), float(c)) for a, b, c in s["top"]]
        steps.append(Step(**s))
    return Generation(**{**d, "steps": steps})


# ====================================================================== the JSON cache (tensors.store)
def _cache_dir() -> Path | None:
    from .trace_cache import cache_dir

    return cache_dir()
