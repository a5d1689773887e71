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

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import note
from .lazy import PerLayer
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
                                 "token_ids": [int(i) for i in np.asarray(t.token_ids)],
                                 "capture_version": CAPTURE_VERSION})


#: Arrays at least this big are read per first-axis index (a layer, or a position's logits)
#: on access instead of when the trace is loaded.
LAZY_BYTES = 1 << 20


def load_trace(path: Path, expect: dict[str, Any] | None = None) -> Trace:
    """The cached trace in ``path``; :class:`CacheError` (a ValueError, with the reason)
    when the entry is unusable, FileNotFoundError when there is none.

    ``expect``: what was asked (:func:`request`); the entry is used only when its stored
    prompt, model identity, weights fingerprint, capture settings (ablations) and — when
    given — token ids equal it (:func:`check_request`), else :class:`CacheError` naming
    the first difference. A file's name is no proof of what is in it.

    Opening checks the header (a few ms). Arrays of :data:`LAZY_BYTES` or more are
    :class:`~tensors.lazy.PerLayer` views read per layer (per position for ``logits``) when a
    scene asks, each MiB block digest-checked when first read; a damaged block found then
    is noted in one line and the whole trace is recomputed (never a wrong number)."""
    if not Path(path).exists():
        raise FileNotFoundError(path)
    f = CheckedFile(path)
    meta = f.meta
    if meta.get("capture_version") != CAPTURE_VERSION:
        raise CacheError(f"capture version {meta.get('capture_version')} != {CAPTURE_VERSION}")
    missing = [n for n in ARRAY_FIELDS if n not in f.names and n not in OPTIONAL_FIELDS]
    if missing:
        raise CacheError(f"missing arrays {missing}")
    if expect is not None:
        if "token_ids" in expect and "token_ids" not in meta and "token_ids" in f.names:
            meta = {**meta, "token_ids": f.get("token_ids").tolist()}   # files before v1 of this
        check_request(meta, expect)
    try:
        info = {**meta["info"], "model_path": str(from_home(meta["info"]["model_path"]))}
        reader = _Reader(f, meta["prompt"], info)
        fields: dict[str, Any] = {n: reader.array(n) if n in f.names else None for n in ARRAY_FIELDS}
        return Trace(prompt=meta["prompt"], tokens=meta["tokens"], info=info,
                     cache_path=Path(path), from_cache=True, **fields)
    except OSError as e:
        raise CacheError(f"unreadable ({e.strerror or type(e).__name__})") from None
    except (KeyError, TypeError) as e:
        raise CacheError(f"metadata lacks {e}") from None


def request(prompt: str | None, model_key: str, fingerprint: str, ablations: list[Any],
            token_ids: list[int] | None = None) -> dict[str, Any]:
    """What a trace is asked for, as :func:`load_trace` checks it against a cache entry."""
    want: dict[str, Any] = {"prompt": prompt, "model_key": model_key, "fingerprint": fingerprint,
                            "ablations": json.loads(json.dumps(list(ablations)))}
    if token_ids is not None:
        want["token_ids"] = [int(i) for i in token_ids]
    return want


def _short(x: Any) -> str:
    s = repr(x)
    return s if len(s) <= 60 else s[:57] + "..."


def check_request(meta: dict[str, Any], want: dict[str, Any]) -> None:
    """:class:`CacheError` unless the stored ``meta`` of a trace file is the trace ``want``
    (:func:`request`) asks for: prompt, model key, fingerprint, ablations, token ids."""
    info = meta.get("info") if isinstance(meta.get("info"), dict) else {}
    stored = {"prompt": meta.get("prompt"), "model_key": info.get("model_key"),
              "fingerprint": info.get("fingerprint"), "ablations": info.get("ablations", [])}
    for name in ("prompt", "model_key", "fingerprint", "ablations"):
        if name == "prompt" and want[name] is None:
            continue  # a run from token ids: the ids are checked below
        if stored[name] != want[name]:
            raise CacheError(f"it holds another run: {name} {_short(stored[name])}, asked "
                             f"{_short(want[name])}")
    if "token_ids" in want:
        ids = meta.get("token_ids")
        if ids is None or [int(i) for i in ids] != want["token_ids"]:
            raise CacheError(f"it holds other token ids {_short(ids)}, asked {_short(want['token_ids'])}")


class _Reader:
    """Reads one cache file's arrays; the first damaged block found recomputes the trace
    (one note) and every later read is served from the fresh one."""

    def __init__(self, f: CheckedFile, prompt: str, info: dict[str, Any]):
        self.f, self.prompt, self.info = f, prompt, info
        self.fresh: Trace | None = None

    def array(self, name: str) -> Any:
        shape = self.f.shape(name)
        if len(shape) < 2 or 4 * int(np.prod(shape)) < LAZY_BYTES:
            return self.f.get(name)                 # small: read (and checked) now
        return PerLayer(shape[0], shape[1:], self.f.dtype(name), lambda i: self.part(name, i))

    def part(self, name: str, i: int) -> np.ndarray:
        if self.fresh is None:
            try:
                return self.f.get(name, i)
            except CacheError as e:
                note(f"cache entry {self.f.path.name} is stale or corrupt ({e}); recomputing")
                self.fresh = _recompute(self.f.path, self.prompt, self.info)
        return np.asarray(getattr(self.fresh, name)[i])


#: How a damaged entry is computed again, ``(prompt, info) -> Trace``: set by
#: :mod:`tensors.extract`, which imports this module (this module never imports it).
recompute_hook: Callable[[str, dict[str, Any]], Trace] | None = None


def _recompute(path: Path, prompt: str, info: dict[str, Any]) -> Trace:
    """The trace ``info`` describes, computed again (the damaged file removed first)."""
    with contextlib.suppress(OSError):
        Path(path).unlink()
    if recompute_hook is None:  # only tensors.trace_cache imported: nothing can recompute
        raise CacheError(f"{Path(path).name} is damaged; import tensors to recompute it")
    return recompute_hook(prompt, info)
