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
from typing import Sequence

from . import ablation, models
from .ablation import Ablation
from .budget import check_fits
from .device import explicit_device, pick_device
from .errors import UserError, note
from .fetch import QUANTIZATION_KEY, bundled_quantization
from .resolve import ModelRef, config_facts, fingerprint, resolve
from .store import CacheError
from .trace import ARRAY_FIELDS, Trace, load_tokenizer
from .trace_cache import cache_path, load_trace, request, save_trace
from .weights_cache import ensure_weights


def trace(prompt: str, model: str | os.PathLike | None = "auto", *, device: str | None = None,
          use_cache: bool = True, quiet: bool = False,
          ablate: Ablation | Sequence[Ablation] | None = None) -> Trace:
    """Run ``prompt`` through ``model`` (see :func:`tensors.resolve.resolve`) and capture a Trace.

    A second call with the same model, weights and prompt loads from the cache without
    loading the model. ``device``: None picks cuda > mps > cpu (see :mod:`tensors.device`).
    ``ablate``: run with neurons, heads or whole blocks knocked out
    (:class:`tensors.ablation.Ablation`); the Trace is then that of the changed run, cached
    under its own key, and ``info["ablations"]`` lists what was changed (``[]`` for a plain run).

    >>> t = trace("The Colosseum is in the city of", "smollm2",
    ...           ablate=[Ablation("mlp", layer=3)])              # doctest: +SKIP
    """
    if not isinstance(prompt, str) or not prompt.strip():
        raise UserError("the prompt is empty; pass some text, e.g. --prompt 'The capital of France is'")
    ablations = ablation.normalise(ablate)
    if explicit_device(device):
        pick_device(device)  # a device this machine cannot use is an error even on a cache hit
    ref = resolve(model, quiet=quiet)
    fp = fingerprint(ref.path)
    path = cache_path(ref.key, fp, prompt, ablation.key_of(ablations)) if use_cache else None
    if path is not None:
        try:
            return load_trace(path, request(prompt, ref.key, fp, [a.to_json() for a in ablations]))
        except FileNotFoundError:
            pass
        except CacheError as e:
            note(f"cache entry {path.name} is stale or corrupt ({e}); recomputing")
    facts, n_pos = check_prompt_fits(ref, prompt)
    ablation.check(ablations, facts, n_pos, ref.name)
    t0 = time.perf_counter()
    mdl, tok, dev = models.load(ref, device)
    from .capture import model_info, readable_tokens, run_capture

    info = model_info(mdl, ref.family)
    edit = ablation.make_edit(ablations, info["d_head"]) if ablations else None
    arrays, ids = run_capture(mdl, tok, ref.family, prompt, dev, edit)
    info.update(name=ref.name, model_key=ref.key, model_path=str(ref.path), fingerprint=fp,
                device=dev, bundled=ref.bundled, quantization=_quantization(ref),
                ablations=[a.to_json() for a in ablations])
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
