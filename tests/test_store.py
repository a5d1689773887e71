"""tensors.store: checked files cover every byte, writes are whole or absent, a full disk is
one line, staging folders of killed runs are removed."""
from __future__ import annotations

import errno
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

from tensors import UserError, store
from tensors.store import BLOCK, CacheError, CheckedFile, atomic_write, write_checked


def small(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    arrays = {"tokens": np.arange(7, dtype=np.int64), "W": np.linspace(-1, 1, 60, dtype=np.float32).reshape(6, 10)}
    p = tmp_path / "small.safetensors"
    write_checked(p, arrays, {"prompt": "The capital of France is", "tokens": [" capital"], "n_layer": 30})
    return p, arrays


def flipped(p: Path, i: int, bit: int = 0) -> None:
    b = bytearray(p.read_bytes())
    b[i] ^= 1 << bit
    p.write_bytes(bytes(b))


def test_roundtrip_and_plain_safetensors(tmp_path):
    p, arrays = small(tmp_path)
    f = CheckedFile(p)
    assert f.meta["tokens"] == [" capital"] and f.names == set(arrays)
    for k, a in arrays.items():
        np.testing.assert_array_equal(f.get(k), a)
    np.testing.assert_array_equal(f.get("W", (slice(1, 3), slice(None, None, -2))), arrays["W"][1:3, ::-2])
    np.testing.assert_array_equal(f.get("W", [5, 0]), arrays["W"][[5, 0]])
    with safe_open(str(p), framework="numpy") as s:  # still an ordinary safetensors file
        assert set(s.keys()) == set(arrays)
        np.testing.assert_array_equal(s.get_tensor("W"), arrays["W"])


def test_one_flipped_bit_anywhere_in_the_file_is_caught(tmp_path):
    """Every byte of a small file (length prefix, JSON header with the metadata, padding,
    data), one bit each: opening and reading it all raises CacheError — never other values."""
    p, arrays = small(tmp_path)
    good = p.read_bytes()
    for i in range(len(good)):
        p.write_bytes(good)
        flipped(p, i, bit=i % 8)
        with pytest.raises(CacheError):
            f = CheckedFile(p)
            f.check_all()
            for k in arrays:
                f.get(k)


def test_truncated_or_grown_files_are_caught(tmp_path):
    p, _ = small(tmp_path)
    good = p.read_bytes()
    for n in [0, 3, 8, 20, len(good) // 2, len(good) - 1]:
        p.write_bytes(good[:n])
        with pytest.raises(CacheError):
            CheckedFile(p)
    p.write_bytes(good + b"\0")
    with pytest.raises(CacheError, match="size"):
        CheckedFile(p)
    p.write_bytes(b"not a safetensors file")
    with pytest.raises(CacheError):
        CheckedFile(p)


def test_reading_a_slice_checks_only_its_blocks(tmp_path):
    a = np.arange(4 * BLOCK // 4, dtype=np.float32).reshape(4, -1)  # one row = one block
    p = tmp_path / "big.safetensors"
    write_checked(p, {"A": a}, {})
    data_start = CheckedFile(p)._offset
    flipped(p, data_start + 3 * BLOCK + 5)            # damage row 3 only
    f = CheckedFile(p)                                # the header is fine
    np.testing.assert_array_equal(f.get("A", 0), a[0])
    np.testing.assert_array_equal(f.get("A", (slice(1, 3), slice(0, 9))), a[1:3, :9])
    assert list(f._checked) == [1, 1, 1, 0]
    with pytest.raises(CacheError, match="block 3"):
        f.get("A", 3)
    with pytest.raises(CacheError):
        f.get("A")


class _FullDisk(io.RawIOBase):
    """A file whose writes fail with ENOSPC after ``room`` bytes, as a full disk does."""

    def __init__(self, real, room: int):
        self.real, self.room = real, room

    def write(self, b) -> int:
        n = len(memoryview(b))
        if n > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= n
        return self.real.write(b)

    def close(self) -> None:
        self.real.close()
        super().close()


@pytest.fixture
def full_disk(monkeypatch):
    """Every file opened for writing by tensors.store fills up after 100 bytes."""
    real_open = open

    def fake_open(path, mode="r", *a, **k):
        f = real_open(path, mode, *a, **k)
        return _FullDisk(f, 100) if "w" in mode else f

    monkeypatch.setattr(store, "open", fake_open, raising=False)


def test_full_disk_is_one_line_and_nothing_half_written(tmp_path, full_disk):
    p = tmp_path / "t.safetensors"
    with pytest.raises(UserError, match=r"^the disk is full: could not write .*t\.safetensors") as e:
        write_checked(p, {"W": np.zeros((100, 100), np.float32)}, {})
    assert "\n" not in str(e.value)
    assert list(tmp_path.iterdir()) == []             # no file, no temp file


def test_other_write_errors_propagate_and_leave_nothing(tmp_path):
    p = tmp_path / "x.txt"
    with pytest.raises(OSError):
        with atomic_write(p, "w") as f:
            f.write("half")
            raise OSError(errno.EROFS, "Read-only file system")
    assert list(tmp_path.iterdir()) == []
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError):                      # a file where the folder should be
        with atomic_write(blocker / "sub" / "y.txt", "w") as f:
            f.write("never")
    p.write_text("old")
    with pytest.raises(RuntimeError):                 # any failure keeps the old file whole
        with atomic_write(p, "w") as f:
            f.write("new")
            raise RuntimeError("killed")
    assert p.read_text() == "old" and sorted(x.name for x in tmp_path.iterdir()) == ["file", "x.txt"]


def test_json_cache_is_checked(tmp_path):
    p = tmp_path / "g.json"
    store.write_json(p, {"text": "The capital of France is Paris", "p": 0.77})
    assert store.read_json(p) == {"text": "The capital of France is Paris", "p": 0.77}
    p.write_text(p.read_text().replace("Paris", "Parus"))
    with pytest.raises(CacheError, match="digest"):
        store.read_json(p)
    p.write_text("{")
    with pytest.raises(CacheError):
        store.read_json(p)


def test_paths_are_stored_relative_to_home(tmp_path, monkeypatch):
    monkeypatch.setenv("GPT_SCENES_HOME", str(tmp_path / "a"))
    stored = store.to_home(tmp_path / "a" / "models" / "M")
    assert stored == "~home/models/M" and store.to_home("/opt/m") == "/opt/m"
    monkeypatch.setenv("GPT_SCENES_HOME", str(tmp_path / "b"))
    assert store.from_home(stored) == tmp_path / "b" / "models" / "M"


def test_killed_download_is_cleaned_by_the_next_run(tmp_path, monkeypatch):
    monkeypatch.setenv("GPT_SCENES_HOME", str(tmp_path))
    code = ("import time\nfrom tensors.store import staging\n"
            "with staging('bundled-model') as d:\n"
            "    (d / 'part.gguf').write_bytes(bytes(10**6)); print(d, flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    left = Path(proc.stdout.readline().strip())
    os.kill(proc.pid, signal.SIGKILL)                 # no cleanup can run
    proc.wait()
    assert left.is_dir() and (left / "part.gguf").exists()
    with store.staging("gpt2-tokenizer") as d:
        assert d.is_dir() and not left.exists()       # the next fetch removed it
    assert not d.exists() and list(store.staging_root().iterdir()) == []
