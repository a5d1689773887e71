"""The trace cache: one checked safetensors file per (model, weights, prompt, capture version).

Files live in :func:`cache_dir` (``$GPT_SCENES_CACHE`` or ``<home>/traces``) and are written
with :func:`tensors.store.write_checked`: the arrays as tensors, the prompt, tokens and model
facts as JSON in the header, and sha256 digests over every byte (header included). A file
that is damaged, truncated, of another version or unreadable is :class:`~tensors.store.CacheError`
(the caller notes it in one line and recomputes). Paths inside the cache home are stored
relative to it, so moving ``GPT_SCENES_HOME`` keeps every entry valid. No pickle anywhere.

>>> len(cache_key("bundled:SmolLM2-135M-Instruct", "0123abcd", "The capital of France is"))
24
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import note
from .store import FORMAT, CacheError, CheckedFile, from_home, home, remove_stale_temps, to_home, write_checked
from .trace import ARRAY_FIELDS, CAPTURE_VERSION, OPTIONAL_FIELDS, Trace

_DIRS: dict[str, Path | None] = {}


def cache_dir() -> Path | None:
    """``$GPT_SCENES_CACHE`` or ``<home>/traces``; a temp folder (with a note) when that is
    not writable, None (no cache) when neither is. Checked once per process per folder."""
    want = Path(os.environ.get("GPT_SCENES_CACHE") or home() / "traces").expanduser()
    key = str(want)
    if key not in _DIRS:
        fallback = Path(tempfile.gettempdir()) / "gpt-scenes-traces"
        _DIRS[key] = None
        for i, d in enumerate((want, fallback)):
            try:
                d.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=d):
                    pass
            except OSError as e:
                note(f"trace cache folder {d} is not writable ({e.strerror or type(e).__name__})"
                     + (f"; using {fallback} (set GPT_SCENES_CACHE to choose)" if i == 0
                        else "; running without a trace cache"))
                continue
            remove_stale_temps(d)
            _DIRS[key] = d
            break
    return _DIRS[key]


def cache_key(model_key: str, fingerprint: str, prompt: str) -> str:
    """The file name stem of a trace: sha256 of everything the trace depends on."""
    blob = json.dumps([model_key, fingerprint, prompt, CAPTURE_VERSION, FORMAT], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def cache_path(model_key: str, fingerprint: str, prompt: str, ablation_key: str = "") -> Path | None:
    """Where the trace of (model, weights, prompt) is cached; None when there is no cache.

    ``ablation_key`` (:func:`tensors.ablation.key_of`) names a changed run: its own file."""
    d = cache_dir()
    if d is None:
        return None
    suffix = f"-ablate-{ablation_key}" if ablation_key else ""
    return d / f"{cache_key(model_key, fingerprint, prompt)}{suffix}.safetensors"


def save_trace(t: Trace, path: Path) -> None:
    """Write ``t`` to ``path`` atomically (see :func:`tensors.store.write_checked`)."""
    arrays = {f: getattr(t, f) for f in ARRAY_FIELDS if getattr(t, f) is not None}
    info = {**t.info, "model_path": to_home(t.info["model_path"])}
    write_checked(path, arrays, {"prompt": t.prompt, "tokens": t.tokens, "info": info,
                                 "capture_version": CAPTURE_VERSION})


def load_trace(path: Path) -> Trace:
    """The cached trace in ``path``; :class:`CacheError` (a ValueError, with the reason)
    when the entry is unusable, FileNotFoundError when there is none."""
    if not Path(path).exists():
        raise FileNotFoundError(path)
    f = CheckedFile(path)
    meta = f.meta
    if meta.get("capture_version") != CAPTURE_VERSION:
        raise CacheError(f"capture version {meta.get('capture_version')} != {CAPTURE_VERSION}")
    missing = [n for n in ARRAY_FIELDS if n not in f.names and n not in OPTIONAL_FIELDS]
    if missing:
        raise CacheError(f"missing arrays {missing}")
    try:
        fields: dict[str, np.ndarray | None] = {n: f.get(n) if n in f.names else None for n in ARRAY_FIELDS}
        info = {**meta["info"], "model_path": str(from_home(meta["info"]["model_path"]))}
        return Trace(prompt=meta["prompt"], tokens=meta["tokens"], info=info,
                     cache_path=Path(path), from_cache=True, **fields)
    except OSError as e:
        raise CacheError(f"unreadable ({e.strerror or type(e).__name__})") from None
    except (KeyError, TypeError) as e:
        raise CacheError(f"metadata lacks {e}") from None
