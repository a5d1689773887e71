"""The weights cache: a model's canonical matrices (:mod:`tensors.weights`) in one checked
safetensors file per weights fingerprint, ``<home>/weights/<fingerprint>.v<WEIGHTS_VERSION>.safetensors``
(its contents: the table in :mod:`tensors.weights`, the zero-filled biases in ``meta``).

Written by the first capture of a model; opened by :func:`open_weights` without loading
the model. Opening checks the header's sha256 (under a millisecond); each MiB of data is
checked the first time it is read. A flipped bit anywhere — found on open or in the
middle of a read — is reported in one line and the file is rebuilt from the model; the
damaged bytes are never returned. A file that
cannot be written (read-only home, full disk, a file where the folder should be) is
reported in one line; the matrices are then read from the loaded model instead.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from . import models
from .errors import note
from .resolve import ModelRef, resolve
from .store import CacheError, home, sweep_stale_temps, write_checked
from .weights import Weights, extract_weights


#: Bump when the layout or the set of stored matrices changes (the file name carries it, so an
#: older file is never misread). v3: MLP matrices, norm parameters, zero_filled, checked file.
WEIGHTS_VERSION = 3


def weights_path(fingerprint: str) -> Path:
    """Where the matrices of the weights with this fingerprint are cached."""
    return home() / "weights" / f"{fingerprint}.v{WEIGHTS_VERSION}.safetensors"


class _SelfRepairing(Weights):
    """Weights whose reads rebuild the file from the model when a damaged block turns up."""

    info: dict[str, Any]

    def get(self, name: str, index: Any = None) -> Any:
        try:
            return super().get(name, index)
        except CacheError as e:
            note(f"weights cache {self.path.name} is damaged ({e}); rebuilding it from the model")
            fresh = _rebuild(self.info)
            self._f, self._arrays, self.names = fresh._f, fresh._arrays, fresh.names
            return super().get(name, index)


_OPEN: dict[tuple[str, int, int, int], Weights] = {}
#: Matrices whose cache file could not be written (by its path), kept in memory for this process.
_IN_MEMORY: dict[str, Weights] = {}


def _stat_key(p: Path) -> tuple[str, int, int, int] | None:
    try:
        st = p.stat()
    except OSError:
        return None
    return (str(p), st.st_size, st.st_mtime_ns, st.st_ino)


def _open(p: Path, info: dict[str, Any] | None = None) -> Weights:
    """The :class:`Weights` of ``p``, one per process while the file is unchanged."""
    key = _stat_key(p)
    if key is None:
        raise CacheError("missing")
    if key not in _OPEN:
        w = _SelfRepairing(p)
        w.info = info or {}
        _OPEN[key] = w
    if info is not None:
        _OPEN[key].info = info
    return _OPEN[key]


def ensure_weights(model: Any, ref: ModelRef, fingerprint: str) -> dict[str, Any] | None:
    """Write the cache file for a loaded ``model`` unless a usable one exists.

    Returns the extracted matrices when they could not be written (the caller keeps them
    in memory), else None. A full disk raises :class:`~tensors.UserError`.
    """
    p = weights_path(fingerprint)
    if str(p) in _IN_MEMORY:
        return None
    if p.exists():
        try:
            _open(p)
            return None
        except CacheError as e:
            note(f"weights cache {p.name} is damaged ({e}); rewriting it")
    return _write(model, ref, p)


def _write(model: Any, ref: ModelRef, p: Path) -> dict[str, Any] | None:
    n = sweep_stale_temps()   # a weights cache half-written by a killed run (500 MB): gone
    if n:
        note(f"removed {n} temporary file(s) left in {home()} by interrupted runs")
    tensors, zero_filled = extract_weights(model, ref.family)
    meta = {"model_key": ref.key, "family": ref.family, "zero_filled": zero_filled}
    try:
        write_checked(p, tensors, meta)
    except OSError as e:
        note(f"could not write the weights cache {p} ({e.strerror or type(e).__name__}); "
             "keeping the matrices in memory instead")
        _IN_MEMORY[str(p)] = Weights.from_arrays(tensors, meta)
        return tensors
    return None


def open_weights(info: dict[str, Any]) -> Weights:
    """The :class:`Weights` of the model a Trace's ``info`` describes; the file is (re)made
    from the model when missing or damaged (one note when damaged)."""
    p = weights_path(info["fingerprint"])
    if str(p) in _IN_MEMORY:
        return _IN_MEMORY[str(p)]
    try:
        return _open(p, info)
    except CacheError as e:
        if p.exists():
            note(f"weights cache {p.name} is damaged ({e}); rebuilding it from the model")
    return _rebuild(info)


def _rebuild(info: dict[str, Any]) -> Weights:
    p = weights_path(info["fingerprint"])
    ref = resolve(info["model_path"], quiet=True)
    model, _, _ = models.load(ref)
    kept = _write(model, ref, p)
    return _open(p, info) if kept is None else _IN_MEMORY[str(p)]
