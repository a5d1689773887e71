"""``trace()``: a prompt through a model, as a :class:`~tensors.Trace` — from the cache when it
can, else from one real forward pass (then cached).

Order of work, so that a mistake costs nothing: the prompt is checked, the model spec
resolved, the cache looked up (a hit loads neither the model nor torch); on a miss the
prompt is tokenized and checked against the context and the memory budget
(:mod:`tensors.budget`) before the model is loaded.

>>> from tensors import trace
>>> t = trace("The capital of France is", model="smollm2")    # doctest: +SKIP
>>> t.top_next(1)                                             # doctest: +SKIP
[(' Paris', 0.77...)]
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Sequence

from . import ablation, models
from .ablation import Ablation
from .budget import check_fits
from .device import explicit_device, pick_device
from .errors import UserError, note
from .fetch import QUANTIZATION_KEY, bundled_quantization
from .resolve import ModelRef, config_facts, fingerprint, resolve
from .store import CacheError
from .trace import ARRAY_FIELDS, Trace, load_tokenizer
from . import trace_cache
from .trace_cache import cache_path, load_trace, request, save_trace
from .weights_cache import ensure_weights


def trace(prompt: str | Sequence[str] | None = None, model: str | os.PathLike | None = "auto", *,
          ids: Sequence[int] | Sequence[Sequence[int]] | None = None,
          device: str | None = None, use_cache: bool = True, quiet: bool = False,
          ablate: Ablation | Sequence[Ablation] | None = None) -> "Trace | list[Trace]":
    """Run ``prompt`` through ``model`` (see :func:`tensors.resolve.resolve`) and capture a Trace.

    A second call with the same model, weights and prompt loads from the cache without
    loading the model. ``device``: None picks cuda > mps > cpu (see :mod:`tensors.device`).
    ``ablate``: run with neurons, heads or whole blocks knocked out
    (:class:`tensors.ablation.Ablation`); the Trace is then that of the changed run, cached
    under its own key, and ``info["ablations"]`` lists what was changed (``[]`` for a plain run).

    ``ids``: token ids instead of text, used exactly (no tokenizing, no special token added)
    — e.g. a random sequence repeated twice, for induction heads; cached under the ids (a
    text prompt that tokenizes to the same ids has its own entry). ``t.prompt`` is then the
    ids decoded, ``info["input_ids"]`` the ids. Get the tokenizer without loading the model
    with :func:`tokenizer`.

    A batch — a list of prompts, or a list of id lists — returns a list of Traces, one per
    item, each cached as if traced alone (one forward pass each; the model is loaded once).

    >>> t = trace("The Colosseum is in the city of", "smollm2",
    ...           ablate=[Ablation("mlp", layer=3)])              # doctest: +SKIP
    >>> import numpy as np
    >>> rnd = [int(i) for i in np.random.default_rng(0).integers(1000, 5000, 20)]
    >>> t = trace(ids=rnd * 2, model="smollm2")                   # doctest: +SKIP
    >>> a, b = trace(["The cat sat", "The dog ran"], "smollm2")   # doctest: +SKIP
    """
    if ids is not None:
        if prompt is not None:
            raise UserError("pass a prompt or ids=[...], not both")
        ids_list = list(ids)
        if ids_list and all(isinstance(x, (list, tuple)) or hasattr(x, "__len__") and
                            not isinstance(x, (str, bytes)) for x in ids_list):
            return [trace(model=model, ids=list(x), device=device, use_cache=use_cache,
                          quiet=quiet, ablate=ablate) for x in ids_list]
        return _trace_one(None, _check_ids(ids_list), model, device, use_cache, quiet, ablate)
    if isinstance(prompt, (list, tuple)):
        if not prompt:
            raise UserError("the batch of prompts is empty; pass at least one prompt")
        return [trace(p, model, device=device, use_cache=use_cache, quiet=quiet, ablate=ablate)
                for p in prompt]
    return _trace_one(prompt, None, model, device, use_cache, quiet, ablate)


def _check_ids(ids: list) -> list[int]:
    try:
        out = [int(i) for i in ids]
    except (TypeError, ValueError):
        raise UserError(f"ids must be whole numbers (token ids); got {ids[:5]!r}…") from None
    if not out:
        raise UserError("ids is empty; pass at least one token id")
    if any(i != x for i, x in zip(out, ids) if isinstance(x, float)):
        raise UserError("ids must be whole numbers (token ids), not fractions")
    return out


def _trace_one(prompt: str | None, ids: list[int] | None, model, device, use_cache: bool,
               quiet: bool, ablate) -> Trace:  # noqa: ANN001
    if ids is None and (not isinstance(prompt, str) or not prompt.strip()):
        raise UserError("the prompt is empty; pass some text, e.g. --prompt 'The capital of France is'")
    ablations = ablation.normalise(ablate)
    if explicit_device(device):
        pick_device(device)  # a device this machine cannot use is an error even on a cache hit
    ref = resolve(model, quiet=quiet)
    fp = fingerprint(ref.path)
    key_text = prompt if ids is None else ids_key(ids)
    path = cache_path(ref.key, fp, key_text, ablation.key_of(ablations)) if use_cache else None
    if path is not None:
        try:
            return load_trace(path, request(prompt, ref.key, fp, [a.to_json() for a in ablations],
                                            token_ids=ids))
        except FileNotFoundError:
            pass
        except CacheError as e:
            note(f"cache entry {path.name} is stale or corrupt ({e}); recomputing")
    if ids is None:
        facts, n_pos = check_prompt_fits(ref, prompt)
    else:
        facts, n_pos = check_ids_fit(ref, ids)
        prompt = load_tokenizer(ref.path).decode(ids)
    ablation.check(ablations, facts, n_pos, ref.name)
    t0 = time.perf_counter()
    mdl, tok, dev = models.load(ref, device)
    from .capture import model_info, readable_tokens, run_capture

    info = model_info(mdl, ref.family)
    edit = ablation.make_edit(ablations, info["d_head"]) if ablations else None
    arrays, ids = run_capture(mdl, tok, ref.family, prompt, dev, edit, ids=ids)
    info.update(name=ref.name, model_key=ref.key, model_path=str(ref.path), fingerprint=fp,
                device=dev, bundled=ref.bundled, quantization=_quantization(ref),
                ablations=[a.to_json() for a in ablations])
    if key_text is not prompt:
        info["input_ids"] = list(ids)
    t = Trace(prompt=prompt, tokens=readable_tokens(tok, ids), info=info,
              **{f: arrays.get(f) for f in ARRAY_FIELDS})
    ensure_weights(mdl, ref, fp)
    if path is not None:
        try:
            save_trace(t, path)
            t.cache_path = path
        except OSError as e:
            note(f"could not write the trace cache {path} ({e.strerror or type(e).__name__}); "
                 "continuing without it")
    if not quiet:
        note(f"captured {t.n_pos} tokens on {dev} in {time.perf_counter() - t0:.2f} s")
    return t


def ids_key(ids: Sequence[int]) -> str:
    """The cache key text of a run from token ids (never equal to a text prompt's: a NUL).

    >>> ids_key([464, 3797])
    '\\x00ids:464,3797'
    """
    return "\0ids:" + ",".join(str(int(i)) for i in ids)


def tokenizer(model: str | os.PathLike | None = "auto") -> Any:
    """The model's tokenizer (Hugging Face), without loading the model — to build token ids
    for :func:`trace` (``tokenizer("smollm2").encode(" the")``)."""
    return load_tokenizer(resolve(model, quiet=True).path)


def check_ids_fit(ref: ModelRef, ids: list[int]) -> tuple[dict[str, int], int]:
    """Like :func:`check_prompt_fits` for token ids: each in the vocabulary, the sequence
    within the context and the memory budget."""
    facts = config_facts(ref)
    vocab = int(facts.get("vocab_size") or 0)
    bad = [i for i in ids if i < 0 or (vocab and i >= vocab)]
    if bad:
        raise UserError(f"token id {bad[0]} is not in {ref.name}'s vocabulary (0 to {vocab - 1})")
    check_fits(facts, len(ids), _weights_bytes(ref.path), ref.name)
    return facts, len(ids)


def _retrace(prompt: str, info: dict) -> Trace:
    """The trace ``info`` describes, computed again (see :mod:`tensors.trace_cache`)."""
    key = info.get("model_key", "")
    spec = ("smollm2" if key.startswith("bundled:") else key[3:] if key.startswith("hf:")
            else info["model_path"])
    abl = ablation.from_info(info)
    if info.get("input_ids"):
        return trace(model=spec, ids=info["input_ids"], quiet=True, ablate=abl)
    return trace(prompt, spec, quiet=True, ablate=abl)


def check_prompt_fits(ref: ModelRef, prompt: str) -> tuple[dict[str, int], int]:
    """Tokenize ``prompt`` (no model load) and check it against the model's context and the
    memory budget (:func:`tensors.budget.check_fits`, the one place both are checked);
    (the model's config facts, the number of tokens), or :class:`UserError` saying how many fit."""
    n = len(load_tokenizer(ref.path)(prompt)["input_ids"])
    facts = config_facts(ref)
    check_fits(facts, n, _weights_bytes(ref.path), ref.name)
    return facts, n


def _quantization(ref: ModelRef) -> str | None:
    """How the weights were stored before we loaded them, when not plain floats: the model
    folder's ``config.json`` key ``gpt_scenes_quantization`` (written by :mod:`tensors.fetch`);
    for a bundled model fetched before that key existed, its GGUF file's type; a Hugging Face
    ``quantization_config``'s method; None for plain float weights."""
    try:
        cfg = json.loads((ref.path / "config.json").read_text())
    except (OSError, ValueError):
        cfg = {}
    if not isinstance(cfg, dict):
        cfg = {}
    if cfg.get(QUANTIZATION_KEY):
        return str(cfg[QUANTIZATION_KEY])
    if ref.bundled:
        return bundled_quantization()
    qc = cfg.get("quantization_config")
    return str(qc.get("quant_method", "quantized")) if isinstance(qc, dict) else None


def _weights_bytes(d: Path) -> int:
    """fp32 bytes of the model's weights, from its files' sizes and stored dtype."""
    try:
        dtype = json.loads((d / "config.json").read_text()).get("torch_dtype") or "float32"
    except (OSError, ValueError, AttributeError):
        dtype = "float32"
    scale = 2 if dtype in ("float16", "bfloat16") else 1
    return scale * sum(f.stat().st_size for f in [*d.glob("*.safetensors"), *d.glob("*.bin")])


trace_cache.recompute_hook = _retrace  # trace_cache never imports this module (no circle)
