"""Turn a model spec into a :class:`ModelRef`: where its files are, its family, its cache key.

Accepted specs (``model=`` everywhere, ``--model`` on the command line):

- ``"auto"`` (default): GPT-2 small (``gpt2``) when it is in the local Hugging Face cache
  or the hub answers within :data:`HUB_TIMEOUT_S`; otherwise the bundled offline model.
- a Hugging Face id of the GPT-2 family (``gpt2``, ``distilgpt2``, ``gpt2-medium`` …) or the
  Llama family (``HuggingFaceTB/SmolLM2-135M-Instruct`` …). The bundled model's own id,
  ``HuggingFaceTB/SmolLM2-135M-Instruct``, is the hub's files when they are in the local
  cache or the hub answers, else the bundled copy of that model (its 4-bit GGUF, said in a
  note);
- a local directory holding ``config.json`` and weights of either family;
- the bundled model by a short name: ``smollm2``, ``smollm2-135m``, ``bundled``.

Nothing here loads weights: :func:`fingerprint` hashes the weight files, :func:`config_facts`
reads ``config.json``. Loading is :func:`tensors.models.load`.

>>> resolve("smollm2", quiet=True).name          # doctest: +SKIP
'SmolLM2-135M-Instruct'
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
import urllib.request
from functools import lru_cache
from pathlib import Path

from . import families
from .errors import UserError, note
from .families import FAMILIES
from .fetch import BUNDLED, bundled_dir, bundled_quantization
from .store import home, to_home

#: Short names of the bundled offline model.
BUNDLED_ALIASES = {"smollm2", "smollm2-135m", "smollm2-135m-instruct", "bundled", "offline"}
#: How long ``auto`` waits for the Hugging Face hub before using the bundled model.
HUB_TIMEOUT_S = 2.0


@dataclasses.dataclass(frozen=True)
class ModelRef:
    """A resolved model: where its files are and how to name it.

    ``key`` is the stable identifier used in cache keys (paths inside the cache home are
    written relative to it, so moving the home keeps the keys); ``hint`` is the one-line
    advice printed when the model is not GPT-2 (how to get GPT-2).
    """

    name: str
    path: Path
    family: str
    key: str
    bundled: bool = False
    hint: str = ""


def resolve(spec: str | os.PathLike | None = "auto", *, quiet: bool = False) -> ModelRef:
    """Turn a model spec into a :class:`ModelRef` with files on local disk.

    Raises :class:`UserError` for an unknown id while offline, a directory that is not a
    model, or an unsupported architecture.
    """
    spec = "auto" if spec in (None, "") else str(spec)
    if spec == "auto":
        ref = _resolve_auto()
    elif spec.lower() in BUNDLED_ALIASES:
        ref = _bundled_ref()
    elif os.path.isdir(os.path.expanduser(spec)):
        ref = _dir_ref(Path(spec).expanduser().resolve())
    elif os.path.sep in spec and not _looks_like_hub_id(spec) or os.path.exists(spec):
        raise UserError(f"model path '{spec}' does not exist or is not a directory; pass a "
                        "directory with config.json and weights, a Hugging Face id such as gpt2, "
                        "or 'smollm2' for the bundled model")
    elif spec.lower() == BUNDLED["hf_id"].lower():
        ref = _bundled_id_ref()
    else:
        ref = _hub_ref(spec)
    if not quiet:
        msg = f"model: {ref.name} ({ref.family} family, {ref.path})"
        note(msg + (f" — {ref.hint}" if ref.hint else ""))
    return ref


def _looks_like_hub_id(spec: str) -> bool:
    parts = spec.split("/")
    return len(parts) == 2 and all(parts) and not spec.startswith((".", "/", "~"))


def _resolve_auto() -> ModelRef:
    if _hub_cached("gpt2") or _hub_answers():
        try:
            return _hub_ref("gpt2")
        except UserError:
            pass
    why = "HF_HUB_OFFLINE is set" if _env_offline() else "the hub did not answer"
    hint = (f"GPT-2 is not in the Hugging Face cache and {why}; to use GPT-2, run once with "
            "network access (it is then cached in ~/.cache/huggingface), or pass a local gpt2 "
            "directory as the model (model = \"DIR\" in the course file, or --model DIR for "
            "python -m tensors)")
    return dataclasses.replace(_bundled_ref(), hint=hint)


def _bundled_id_ref() -> ModelRef:
    """``HuggingFaceTB/SmolLM2-135M-Instruct``: the hub's own files when cached or reachable;
    otherwise the bundled copy, which is that model (from its 4-bit GGUF), with a note."""
    hf_id = BUNDLED["hf_id"]
    if _hub_cached(hf_id) or _hub_answers():
        try:
            return _hub_ref(hf_id)
        except UserError:
            pass
    why = "HF_HUB_OFFLINE is set" if _env_offline() else "the hub did not answer"
    return dataclasses.replace(
        _bundled_ref(), hint=f"{hf_id} is not in the Hugging Face cache and {why}: using the "
                             f"bundled copy of that model ({bundled_quantization()})")


def _bundled_ref() -> ModelRef:
    d = bundled_dir()
    if not (d / "config.json").is_file() or not (d / "model.safetensors").is_file():
        raise UserError(f"the bundled model is not installed in {d}; run ./render.sh or "
                        "tests/run.sh once (or: python -m tensors fetch)")
    return ModelRef(name=BUNDLED["name"], path=d, family="llama",
                    key=f"bundled:{BUNDLED['name']}", bundled=True)


def _dir_ref(d: Path) -> ModelRef:
    cfg_path = d / "config.json"
    if not cfg_path.is_file():
        raise UserError(f"'{d}' is not a model directory (no config.json); pass a directory "
                        "saved with save_pretrained, a Hugging Face id, or 'smollm2'")
    weights = [*d.glob("*.safetensors"), *d.glob("*.bin")]
    if not weights:
        raise UserError(f"'{d}' has a config.json but no weights (*.safetensors or *.bin); "
                        "save the model with save_pretrained into it")
    empty = [w.name for w in weights if w.is_file() and w.stat().st_size == 0]
    if empty:
        raise UserError(f"'{d}': weights file {empty[0]} is empty; save the model again with "
                        "save_pretrained" + (" (or: python -m tensors fetch --force)"
                                             if d == bundled_dir().resolve() else ""))
    family = _family_of(cfg_path, str(d))
    name = _name_from_config(cfg_path) or d.name
    return ModelRef(name=name, path=d, family=family, key=f"dir:{to_home(d)}")


def _hub_ref(repo_id: str) -> ModelRef:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    patterns = ["config.json", "generation_config.json", "*.safetensors", "*.json", "*.txt",
                "*.model", "tokenizer*"]
    try:
        if _hub_cached(repo_id):
            path = snapshot_download(repo_id, local_files_only=True, allow_patterns=patterns)
        elif _hub_answers():
            path = snapshot_download(repo_id, allow_patterns=patterns)
        else:
            raise LocalEntryNotFoundError("offline")
    except LocalEntryNotFoundError:
        raise UserError(f"unknown model '{repo_id}' while offline (not in the Hugging Face cache "
                        "and the hub is unreachable); use 'smollm2' (bundled), a local model "
                        "directory, or download it once with network access") from None
    except Exception as e:  # repository not found, gated, bad id …
        raise UserError(f"cannot get model '{repo_id}' from the Hugging Face hub "
                        f"({type(e).__name__}); check the id, or pass a local directory") from None
    d = Path(path)
    family = _family_of(d / "config.json", repo_id)
    return ModelRef(name=repo_id, path=d, family=family, key=f"hf:{repo_id}")


def _read_config(cfg_path: Path) -> dict:
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UserError(f"'{cfg_path}' is not valid JSON; re-save the model with save_pretrained") from None
    if not isinstance(cfg, dict):
        raise UserError(f"'{cfg_path}' is not a model config; re-save the model with save_pretrained")
    return cfg


def _family_of(cfg_path: Path, label: str) -> str:
    mt = _read_config(cfg_path).get("model_type", "")
    if mt not in FAMILIES:
        raise UserError(f"model '{label}' has model_type '{mt}'; gpt-scenes supports the GPT-2 "
                        "family (gpt2, distilgpt2, gpt2-medium/large/xl) and the Llama family")
    return FAMILIES[mt]


def _name_from_config(cfg_path: Path) -> str | None:
    name = _read_config(cfg_path).get("_name_or_path") or ""
    return Path(name).name if isinstance(name, str) and name and not os.path.isabs(name) else None


def _env_offline() -> bool:
    return any(os.environ.get(v, "0").lower() in ("1", "true", "yes")
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


@lru_cache(maxsize=None)
def _hub_cached(repo_id: str) -> bool:
    """True when config.json and a safetensors file of ``repo_id`` are in the local HF cache."""
    from huggingface_hub import try_to_load_from_cache

    cfg = try_to_load_from_cache(repo_id, "config.json")
    weights = try_to_load_from_cache(repo_id, "model.safetensors")
    return isinstance(cfg, str) and isinstance(weights, str)


@lru_cache(maxsize=None)
def _hub_answers() -> bool:
    """Does the Hugging Face hub answer within HUB_TIMEOUT_S? Remembered for 10 minutes."""
    if _env_offline():
        return False
    memo = home() / "state" / "hub-unreachable"
    try:
        if time.time() - memo.stat().st_mtime < 600:
            return False
    except OSError:
        pass
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    try:
        urllib.request.urlopen(f"{endpoint}/api/models/gpt2", timeout=HUB_TIMEOUT_S).close()
        return True
    except Exception:
        try:
            memo.parent.mkdir(parents=True, exist_ok=True)
            memo.touch()
        except OSError:
            pass
        return False


def config_facts(ref: ModelRef) -> dict[str, int]:
    """Facts from the model's config alone (no weights loaded): the family module's ``dims``
    (``n_layer``, ``n_head``, ``n_kv_head``, ``d_model``, ``d_head``, ``d_mlp``, ``n_ctx``),
    ``vocab_size`` and ``gated`` (1 when the MLP has a gate)."""
    from transformers import AutoConfig

    try:
        cfg = AutoConfig.from_pretrained(ref.path)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot read the config of '{ref.path}' ({str(e).splitlines()[0]}); "
                        "re-save the model with save_pretrained") from None
    fam = families.get(ref.family)
    return {**fam.dims(cfg), "vocab_size": int(cfg.vocab_size), "gated": int(fam.GATED)}


#: Remembered full-file digests: path -> (size, mtime_ns, ctime_ns, inode, sha256).
_FILE_SHA: dict[str, tuple[int, int, int, int, str]] = {}


def _digests_path() -> Path:
    return home() / "state" / "file-sha256.json"


def _load_digests() -> dict[str, list]:
    from .store import CacheError, read_json

    try:
        got = read_json(_digests_path())
        return got if isinstance(got, dict) else {}
    except (FileNotFoundError, CacheError):
        return {}


def file_sha256(f: Path, memo: dict[str, list] | None = None) -> tuple[str, bool]:
    """(sha256 of the whole of ``f``, whether it was hashed now). The digest is remembered
    (in this process and in ``<home>/state/file-sha256.json``) against the file's size,
    mtime_ns, ctime_ns and inode: any write to the file changes one of them (ctime cannot be
    set back by a user), so a remembered digest is only reused for the very same bytes."""
    from .store import sha256_file

    st = f.stat()
    stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    key = str(f.resolve())
    got = _FILE_SHA.get(key)
    if got is not None and got[:4] == stamp:
        return got[4], False
    rec = (memo or {}).get(key)
    if isinstance(rec, list) and len(rec) == 5 and tuple(rec[:4]) == stamp and isinstance(rec[4], str):
        _FILE_SHA[key] = (*stamp, rec[4])
        return rec[4], False
    digest = sha256_file(f)
    _FILE_SHA[key] = (*stamp, digest)
    return digest, True


def fingerprint(path: Path) -> str:
    """The fingerprint of a model's weights, without loading them: sha256 over config.json
    and, for every weight file, its name and the sha256 of its whole content — any changed
    byte of any weights file gives another fingerprint (so other traces and weights cache).

    A file is hashed in full the first time it is seen (about 0.3 s per 100 MB here); its
    digest is then remembered against its size, mtime_ns, ctime_ns and inode
    (:func:`file_sha256`), so a warm start only stats the files.
    """
    h = hashlib.sha256()
    files = sorted([*path.glob("*.safetensors"), *path.glob("*.bin")])
    cfg = path / "config.json"
    memo: dict[str, list] | None = None
    hashed = False
    try:
        h.update(cfg.read_bytes() if cfg.exists() else b"")
        for f in files:
            key = str(f.resolve())
            if memo is None and key not in _FILE_SHA:
                memo = _load_digests()
            digest, now = file_sha256(f, memo)
            hashed |= now
            h.update(f"{f.name}\0{f.stat().st_size}\0{digest}\0".encode())
    except OSError as e:
        raise UserError(f"cannot read the model files in '{path}' ({e.strerror}); check their "
                        "permissions") from None
    if hashed:
        _save_digests(memo or _load_digests())
    return h.hexdigest()[:16]


def _save_digests(memo: dict[str, list]) -> None:
    """Merge this process's digests into the remembered ones (files gone are dropped)."""
    from .store import write_json

    merged = {k: v for k, v in memo.items() if os.path.exists(k)}
    merged.update({k: list(v) for k, v in _FILE_SHA.items()})
    try:
        write_json(_digests_path(), merged)
    except (OSError, UserError):
        pass  # only a warm-start speed-up; the next run hashes again
