"""Issue 22, caches bound to what was asked: a trace file is used only when its stored
prompt, model, weights fingerprint and capture settings equal the request; the weights
fingerprint covers every byte of every weights file (remembered against size, mtime_ns,
ctime_ns and inode so that a warm start only stats the files). Every test uses its own
GPT_SCENES_HOME and trace cache."""
from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from tensors import resolve as R
from tensors import store, trace
from tensors.weights_cache import weights_path

PROMPT, OTHER = "the cat sat on the mat", "Once upon a time there"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("GPT_SCENES_HOME", str(h))
    R._FILE_SHA.clear()
    return h


def notes(err: str, word: str) -> list[str]:
    assert "Traceback" not in err, err
    return [l for l in err.splitlines() if word in l]


def test_trace_of_another_prompt_under_the_requested_name_is_recomputed(tiny_gpt2_dir, home, capsys):
    asked = trace(PROMPT, str(tiny_gpt2_dir))
    other = trace(OTHER, str(tiny_gpt2_dir))
    shutil.copyfile(other.cache_path, asked.cache_path)          # a valid file, of another prompt
    capsys.readouterr()
    t = trace(PROMPT, str(tiny_gpt2_dir))
    lines = notes(capsys.readouterr().err, "another run")
    assert len(lines) == 1 and "prompt" in lines[0] and "recomputing" in lines[0], lines
    assert not t.from_cache and t.prompt == PROMPT and t.tokens == asked.tokens
    again = trace(PROMPT, str(tiny_gpt2_dir))                    # the right file written back
    assert again.from_cache and again.tokens == asked.tokens


def test_trace_of_another_model_under_the_requested_name_is_recomputed(tiny_gpt2_dir, tiny_llama_dir,
                                                                       home, capsys):
    asked = trace(PROMPT, str(tiny_gpt2_dir))
    other = trace(PROMPT, str(tiny_llama_dir))                  # same prompt, another model
    shutil.copyfile(other.cache_path, asked.cache_path)
    capsys.readouterr()
    t = trace(PROMPT, str(tiny_gpt2_dir))
    lines = notes(capsys.readouterr().err, "another run")
    assert len(lines) == 1 and "model_key" in lines[0], lines
    assert not t.from_cache and t.info["family"] == "gpt2"
    np.testing.assert_array_equal(t.logits_last, asked.logits_last)


def test_check_request_names_each_difference():
    from tensors.store import CacheError
    from tensors.trace_cache import check_request, request

    meta = {"prompt": "a", "token_ids": [1, 2], "info": {"model_key": "m", "fingerprint": "f",
                                                         "ablations": []}}
    check_request(meta, request("a", "m", "f", [], [1, 2]))           # the same run: used
    for want, word in [(request("b", "m", "f", []), "prompt"), (request("a", "n", "f", []), "model_key"),
                       (request("a", "m", "g", []), "fingerprint"),
                       (request("a", "m", "f", [{"kind": "mlp", "layer": 0}]), "ablations"),
                       (request("a", "m", "f", [], [1, 3]), "token ids")]:
        with pytest.raises(CacheError, match=word):
            check_request(meta, want)


def _edit_embedding_rows(model_dir: Path, rows: list[int]) -> None:
    """Change ``rows`` of the token embedding in the safetensors file in place (same size),
    then set the file's mtime back: only the content (and the ctime) tell."""
    f = model_dir / "model.safetensors"
    st = f.stat()
    with open(f, "r+b") as fh:
        n = struct.unpack("<Q", fh.read(8))[0]
        header = json.loads(fh.read(n))
        name = next(k for k in header if k.endswith("wte.weight") or k.endswith("embed_tokens.weight"))
        assert header[name]["dtype"] == "F32"
        width = header[name]["shape"][1]
        lo = 8 + n + header[name]["data_offsets"][0]
        for r in rows:
            fh.seek(lo + 4 * width * r)
            row = np.frombuffer(fh.read(4 * width), np.float32)
            fh.seek(lo + 4 * width * r)
            fh.write((row + 0.5).astype(np.float32).tobytes())
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert f.stat().st_size == st.st_size


def test_five_embedding_rows_edited_in_place_change_the_fingerprint(tiny_gpt2_dir, home, tmp_path, capsys):
    d = tmp_path / "model"
    shutil.copytree(tiny_gpt2_dir, d)
    t1 = trace(PROMPT, str(d))
    fp1, w1 = t1.info["fingerprint"], t1.W_E(t1.token_ids)
    ids = sorted(set(int(i) for i in t1.token_ids))[:5]
    _edit_embedding_rows(d, ids)                                   # "fine-tuned and saved in place"
    t2 = trace(PROMPT, str(d))
    assert t2.info["fingerprint"] != fp1 and not t2.from_cache     # a new trace, not the old one
    assert weights_path(t2.info["fingerprint"]) != weights_path(fp1)
    want = w1 + 0.5 * np.isin(np.asarray(t1.token_ids), ids)[:, None]
    np.testing.assert_allclose(t2.W_E(t2.token_ids), want, rtol=0, atol=1e-6)   # new weights cache
    assert not np.array_equal(t2.logits_last, t1.logits_last)


def test_a_warm_start_only_stats_the_files(tiny_gpt2_dir, home, monkeypatch):
    calls = []
    real = store.sha256_file
    monkeypatch.setattr(store, "sha256_file", lambda p: calls.append(p) or real(p))
    fp = R.fingerprint(tiny_gpt2_dir)
    assert len(calls) == 1                                          # full hash on first sight
    R._FILE_SHA.clear()                                             # a new process
    assert R.fingerprint(tiny_gpt2_dir) == fp and len(calls) == 1   # remembered on disk
    (home / "state" / "file-sha256.json").write_text("{damaged")
    R._FILE_SHA.clear()
    assert R.fingerprint(tiny_gpt2_dir) == fp and len(calls) == 2   # a damaged memo: hash again
    with open(tiny_gpt2_dir / "model.safetensors", "rb") as fh:
        whole = __import__("hashlib").sha256(fh.read()).hexdigest()
    assert whole in (home / "state" / "file-sha256.json").read_text()


# ------------------------------------------------------------------ temp files of killed runs
def _killed_while_writing(path: Path) -> Path:
    """Start writing ``path`` the package's one way (atomic_write) in another process and
    kill -9 it mid-write; the temp file it leaves."""
    import subprocess
    import sys

    code = ("import os, signal, sys\nfrom tensors.store import atomic_write\n"
            "with atomic_write(sys.argv[1]) as f:\n"
            "    f.write(b'x' * 100000); f.flush(); os.kill(os.getpid(), signal.SIGKILL)\n")
    r = subprocess.run([sys.executable, "-c", code, str(path)], env={**os.environ},
                       capture_output=True, timeout=120)
    assert r.returncode == -9, r.stderr
    left = list(path.parent.glob(f".{path.name}.tmp.*"))
    assert len(left) == 1 and not path.exists()
    return left[0]


def test_kill_9_while_the_weights_cache_is_written_leaves_nothing_after_the_next_run(
        tiny_gpt2_dir, home, capsys):
    left = _killed_while_writing(home / "weights" / "0123456789abcdef.v3.safetensors")
    trace(PROMPT, str(tiny_gpt2_dir))                               # the next run writes weights
    assert not left.exists()
    assert len(notes(capsys.readouterr().err, "temporary file")) == 1


def test_stale_temps_are_swept_from_every_folder_but_a_live_writer_s_are_kept(tmp_path):
    out = tmp_path / "out with 'quote' é"
    dead = _killed_while_writing(out / "480p15" / "logs" / "tokenization.mp4")
    live = out / ".media" / f".x.mp4.tmp.{os.getpid()}"              # this process: alive
    live.parent.mkdir(parents=True)
    live.write_text("still being written")
    assert store.sweep_stale_temps(out) == 1
    assert not dead.exists() and live.exists()
    assert store.sweep_stale_temps(out) == 0                         # once per process
