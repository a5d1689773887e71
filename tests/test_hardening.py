"""Issue 11, model side: damaged/unwritable caches, a full disk, a moved cache home, devices
the machine cannot use, broken model folders, prompts that do not fit. Each fault gives one
line (a note and the right numbers, or an error and exit 2), never a traceback or a wrong
number. Every test uses its own GPT_SCENES_HOME (the shared one is never touched)."""
from __future__ import annotations

import errno
import shutil
from pathlib import Path

import numpy as np
import pytest

from tensors import UserError, models, store, trace
from tensors.cli import main
from tensors.fetch import bundled_dir
from tensors.weights_cache import weights_path

PROMPT = "the cat sat on the mat"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("GPT_SCENES_HOME", str(h))
    return h


def one_note(err: str, word: str) -> None:
    lines = [l for l in err.splitlines() if word in l]
    assert len(lines) == 1 and "Traceback" not in err, err


def cli(args: list[str], capsys) -> tuple[int, list[str]]:
    """Run ``python -m tensors`` in-process: (exit code, stderr lines that are not notes)."""
    with pytest.raises(SystemExit) as e:
        main(args)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return e.value.code, [l for l in err.splitlines() if not l.startswith("[gpt-scenes]")]


# ------------------------------------------------------------------ the trace cache
def test_flipped_bit_in_the_trace_header_is_recomputed(tiny_gpt2_dir, home, capsys):
    t1 = trace(PROMPT, str(tiny_gpt2_dir))
    raw = bytearray(t1.cache_path.read_bytes())
    i = raw.index(b"\\\" mat\\\"")                        # the token " mat" in the JSON metadata
    raw[i + 5] ^= 0x20                                    # " mat" -> " mAt"
    t1.cache_path.write_bytes(bytes(raw))
    capsys.readouterr()
    t2 = trace(PROMPT, str(tiny_gpt2_dir))
    one_note(capsys.readouterr().err, "corrupt")
    assert not t2.from_cache and t2.tokens == t1.tokens and t2.tokens[-1] == " mat"
    t3 = trace(PROMPT, str(tiny_gpt2_dir))                # rewritten whole
    assert t3.from_cache and t3.tokens == t1.tokens


def test_moving_the_home_keeps_traces_valid(tmp_path, monkeypatch, capsys):
    """Entries store paths relative to GPT_SCENES_HOME: after moving it they still load."""
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "models").mkdir(parents=True)
    (a / "models" / bundled_dir().name).symlink_to(bundled_dir())    # read-only use of the real model
    monkeypatch.delenv("GPT_SCENES_CACHE")
    monkeypatch.setenv("GPT_SCENES_HOME", str(a))
    t1 = trace("The capital of France is", "smollm2")
    assert t1.cache_path.parent == a / "traces"
    w1 = t1.W_E(t1.token_ids)
    a.rename(b)
    monkeypatch.setenv("GPT_SCENES_HOME", str(b))
    monkeypatch.setattr(models, "load", lambda *a, **k: pytest.fail("model loaded after the move"))
    t2 = trace("The capital of France is", "smollm2")
    assert t2.from_cache and t2.cache_path.parent == b / "traces"
    assert Path(t2.info["model_path"]).parent == b / "models"
    assert t2.encode(" Paris") == t1.encode(" Paris")                  # tokenizer from the new place
    np.testing.assert_array_equal(t2.W_E(t2.token_ids), w1)          # weights cache from the new place
    assert "corrupt" not in capsys.readouterr().err


# ------------------------------------------------------------------ the weights cache
def reference_W_E(model_dir: Path) -> np.ndarray:
    from tensors.resolve import resolve

    m, _, _ = models.load(resolve(str(model_dir), quiet=True), "cpu")
    return m.get_input_embeddings().weight.detach().numpy()


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty"])
def test_damaged_weights_cache_is_rebuilt_never_shown(damage, tiny_gpt2_dir, home, capsys):
    t = trace(PROMPT, str(tiny_gpt2_dir))
    p = weights_path(t.info["fingerprint"])
    raw = bytearray(p.read_bytes())
    if damage == "flip":
        raw[len(raw) - 4 * 64 * 3 - 1] ^= 0x40                        # a bit inside the data
    p.write_bytes({"flip": bytes(raw), "truncate": bytes(raw[:len(raw) // 2]), "empty": b""}[damage])
    capsys.readouterr()
    t2 = trace(PROMPT, str(tiny_gpt2_dir))                            # a cache hit; weights on access
    np.testing.assert_array_equal(t2.W_E(), reference_W_E(tiny_gpt2_dir))
    one_note(capsys.readouterr().err, "weights cache")
    t3 = trace(PROMPT, str(tiny_gpt2_dir))
    np.testing.assert_array_equal(t3.weights.get("W_Q", (1, 2)), t2.weights.get("W_Q", (1, 2)))
    assert capsys.readouterr().err.count("weights cache") == 0        # rebuilt whole


def test_unwritable_weights_cache_is_bypassed(tiny_gpt2_dir, home, capsys):
    home.mkdir()
    (home / "weights").write_text("a file where the folder should be")
    t = trace(PROMPT, str(tiny_gpt2_dir))
    np.testing.assert_array_equal(t.W_E(t.token_ids), reference_W_E(tiny_gpt2_dir)[t.token_ids])
    one_note(capsys.readouterr().err, "could not write the weights cache")


def test_read_only_cache_is_bypassed(tiny_gpt2_dir, home, monkeypatch, capsys):
    """A read-only file system (faked: tests run as root, for whom chmod does not stop writes)."""
    real_open = open

    def read_only(path, mode="r", *a, **k):
        if "w" in mode:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, mode, *a, **k)

    monkeypatch.setattr(store, "open", read_only, raising=False)
    t = trace(PROMPT, str(tiny_gpt2_dir))
    np.testing.assert_array_equal(t.W_E(t.token_ids), reference_W_E(tiny_gpt2_dir)[t.token_ids])
    err = capsys.readouterr().err
    one_note(err, "could not write the weights cache")
    one_note(err, "could not write the trace cache")
    assert t.cache_path is None and not [p for p in home.rglob("*") if p.is_file()]


def test_full_disk_is_one_line_exit_2_nothing_written(tiny_gpt2_dir, home, tmp_path, monkeypatch, capsys):
    real_open = open

    def full(path, mode="r", *a, **k):
        f = real_open(path, mode, *a, **k)
        if "w" in mode:
            def write(_b):
                raise OSError(errno.ENOSPC, "No space left on device")
            f.write = write
        return f

    monkeypatch.setattr(store, "open", full, raising=False)
    code, lines = cli(["extract", "--prompt", PROMPT, "--model", str(tiny_gpt2_dir)], capsys)
    assert code == 2 and len(lines) == 1 and "the disk is full" in lines[0], lines
    written = [p for p in tmp_path.rglob("*") if p.is_file() and "tiny" not in str(p)]
    assert written == [], written


# ------------------------------------------------------------------ devices and model folders
@pytest.mark.parametrize("how", ["--device tpu", "--device mps", "--device cuda:7", "env bogus"])
def test_devices_this_machine_cannot_use(how, tiny_gpt2_dir, monkeypatch, capsys):
    import torch

    args = ["extract", "--prompt", PROMPT, "--model", str(tiny_gpt2_dir)]
    if how.startswith("env"):
        monkeypatch.setenv("GPT_SCENES_DEVICE", how.split()[1])
    else:
        args += how.split()
    if "cuda" in how and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    code, lines = cli(args, capsys)
    assert code == 2 and len(lines) == 1 and "not one this machine can use" in lines[0], lines
    assert "cpu" in lines[0]                                          # says what it can use


@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage"])
def test_model_folder_with_damaged_weights(damage, tiny_gpt2_dir, tmp_path, capsys):
    d = tmp_path / "model"
    shutil.copytree(tiny_gpt2_dir, d)
    w = d / "model.safetensors"
    w.write_bytes({"empty": b"", "truncated": w.read_bytes()[:5000], "garbage": b"\x07" * 4096}[damage])
    code, lines = cli(["extract", "--prompt", PROMPT, "--model", str(d)], capsys)
    assert code == 2 and len(lines) == 1, lines
    assert str(d) in lines[0] and ("empty" in lines[0] or "damaged" in lines[0]), lines


# ------------------------------------------------------------------ prompts that do not fit
def test_prompt_longer_than_the_context(tiny_gpt2_dir, capsys):
    code, lines = cli(["extract", "--prompt", "x " * 300, "--model", str(tiny_gpt2_dir)], capsys)
    assert code == 2 and len(lines) == 1 and "context is 128" in lines[0], lines


def test_memory_budget_refuses_up_front_saying_how_many_tokens_fit(tiny_gpt2_dir, monkeypatch, capsys):
    from tensors.budget import RUNTIME_BYTES, capture_bytes, check_fits, memory_budget
    from tensors.extract import _weights_bytes
    from tensors.resolve import config_facts, resolve

    ref = resolve(str(tiny_gpt2_dir), quiet=True)
    facts, wb = config_facts(ref), _weights_bytes(ref.path)
    monkeypatch.setattr(models, "load", lambda *a, **k: pytest.fail("model loaded before the check"))
    budget_gb = (RUNTIME_BYTES + wb + capture_bytes(facts, 60)) / 1e9          # room for ~60 tokens
    monkeypatch.setenv("GPT_SCENES_MEMORY_GB", f"{budget_gb:.6f}")
    code, lines = cli(["extract", "--prompt", "word " * 100, "--model", str(tiny_gpt2_dir)], capsys)
    assert code == 2 and len(lines) == 1 and "GPT_SCENES_MEMORY_GB" in lines[0], lines
    fit = int(lines[0].split("at most ")[1].split()[0])
    assert 0 < fit < 100
    check_fits(facts, fit, wb)                                        # the number said does fit
    with pytest.raises(UserError):
        check_fits(facts, fit + 1, wb)
    for bad in ("abc", "-1", "nan", "inf", "0"):
        monkeypatch.setenv("GPT_SCENES_MEMORY_GB", bad)
        with pytest.raises(UserError, match="positive number of gigabytes"):
            memory_budget()
