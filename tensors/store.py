"""Where gpt-scenes keeps its files, the one way it writes them, and files that cannot lie.

- :func:`home` — the root of every cache (``$GPT_SCENES_HOME`` or ``~/.cache/gpt-scenes``);
  :func:`to_home` / :func:`from_home` store paths *relative* to it, so moving the folder
  keeps every cache entry valid.
- :func:`atomic_write` — THE write of the package: a temp file next to the target, renamed
  into place only when complete. A full disk is a :class:`~tensors.UserError` (one line,
  exit 2) with nothing half-written; any other ``OSError`` (read-only folder, a file where
  a folder should be) is raised for the caller, who bypasses the cache with a note.
- :func:`write_checked` / :class:`CheckedFile` — safetensors files whose every byte is
  covered by sha256: the header (JSON metadata included) by one digest checked on open,
  the tensor data by one digest per MiB block, checked the first time a block is read
  (so reading one layer of a big file hashes about that layer, not the whole file), and
  the file size by the header. Any mismatch is :class:`CacheError` with the reason.
- :func:`staging` — temporary folders for downloads in one known place
  (``<home>/staging``); a folder left by a killed process is removed by the next run.

>>> import tempfile, numpy as np
>>> p = Path(tempfile.mkdtemp()) / "x.safetensors"
>>> write_checked(p, {"W": np.arange(6, dtype=np.float32).reshape(2, 3)}, {"note": "hi"})
>>> f = CheckedFile(p)
>>> f.meta, f.get("W", 1).tolist()
({'note': 'hi'}, [3.0, 4.0, 5.0])
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import shutil
from pathlib import Path
from typing import IO, Any, Iterator, Mapping

import numpy as np

from .errors import UserError, note

#: Written into every checked file; a file of another format version is recomputed.
FORMAT = "gpt-scenes-checked/1"
#: Bytes of tensor data covered by one block digest.
BLOCK = 1 << 20
_DIGEST_HEX = 16          # sha256 truncated to 64 bits per data block
_HEADER_KEY = "header_sha256"
_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
           "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
_CODES = {np.dtype(v): k for k, v in _DTYPES.items()}
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


class CacheError(ValueError):
    """A cache file that must not be used (damaged, truncated, other version); the message
    is the reason, for a one-line note before the entry is recomputed."""


# ====================================================================== home and paths
def home() -> Path:
    """Root of gpt-scenes' caches: ``$GPT_SCENES_HOME`` or ``~/.cache/gpt-scenes``."""
    env = os.environ.get("GPT_SCENES_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gpt-scenes"


def to_home(path: str | os.PathLike) -> str:
    """``path`` as stored in a cache entry: relative to :func:`home` when inside it (written
    ``~home/<rel>``), else absolute.

    >>> os.environ["GPT_SCENES_HOME"] = "/data/gs"
    >>> to_home("/data/gs/models/M"), to_home("/opt/m")
    ('~home/models/M', '/opt/m')
    >>> str(from_home("~home/models/M"))
    '/data/gs/models/M'
    >>> del os.environ["GPT_SCENES_HOME"]
    """
    p = Path(path)
    try:
        return "~home/" + p.relative_to(home()).as_posix()
    except ValueError:
        return str(p)


def from_home(stored: str) -> Path:
    """Inverse of :func:`to_home` under the current home."""
    return home() / stored[len("~home/"):] if stored.startswith("~home/") else Path(stored)


def disk_full(e: BaseException) -> bool:
    return isinstance(e, OSError) and e.errno in _DISK_FULL


def disk_full_error(path: Path) -> UserError:
    """The one line for a full disk (``ENOSPC``/``EDQUOT``) while writing ``path``."""
    try:
        free = f"{shutil.disk_usage(path.parent).free / 1e6:,.0f} MB free"
    except OSError:
        free = "free space unknown"
    return UserError(f"the disk is full: could not write {path} ({free}); nothing was half-"
                     "written — free some space, or set GPT_SCENES_HOME (and GPT_SCENES_CACHE) "
                     "to a folder on a disk with room")


def writable_folder(folder: str | os.PathLike, what: str) -> None:
    """A one-line :class:`UserError` unless ``folder`` is, or can be made, a folder this
    process can write in: checked on its nearest existing ancestor (a file there, a
    read-only filesystem or folder). Nothing is created.

    >>> writable_folder("/dev/null/o", "--out /dev/null/o")
    Traceback (most recent call last):
    tensors.errors.UserError: --out /dev/null/o: /dev/null is a file, not a folder; pass a folder you can write to
    """
    p = Path(folder).expanduser().absolute()
    while True:
        try:
            st = p.stat()
            break
        except (FileNotFoundError, NotADirectoryError):
            p = p.parent
        except OSError as e:  # a symlink loop, a name too long …
            raise UserError(f"{what}: {p} cannot be used ({e.strerror}); pass a folder you "
                            "can write to") from None
    import stat as _stat

    if not _stat.S_ISDIR(st.st_mode):
        raise UserError(f"{what}: {p} is a file, not a folder; pass a folder you can write to")
    try:
        ro = bool(os.statvfs(p).f_flag & os.ST_RDONLY)
    except OSError:
        ro = False
    if ro or not os.access(p, os.W_OK | os.X_OK):
        raise UserError(f"{what}: {p} is read-only; pass a folder you can write to")


# ====================================================================== atomic write
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp.{os.getpid()}")


def remove_stale_temps(folder: Path) -> int:
    """Remove temp files (``.<name>.tmp.<pid>``) whose writing process is gone; how many."""
    n = 0
    try:
        for p in folder.glob(".*.tmp.*"):
            pid = p.name.rsplit(".", 1)[-1]
            if pid.isdigit() and not _pid_alive(int(pid)):
                with contextlib.suppress(OSError):
                    p.unlink() if p.is_file() else shutil.rmtree(p)
                    n += 1
    except OSError:
        pass
    return n


_SWEPT: set[str] = set()


def sweep_stale_temps(root: str | os.PathLike | None = None) -> int:
    """:func:`remove_stale_temps` in ``root`` (default :func:`home`) and every folder under it
    (symlinks not followed), once per process and root: a run killed with ``kill -9`` while
    writing (a 500 MB weights cache, a video) leaves ``.<name>.tmp.<pid>``; the next run
    removes it. Returns how many were removed."""
    top = Path(root).expanduser() if root is not None else home()
    key = str(top.absolute())
    if key in _SWEPT:
        return 0
    _SWEPT.add(key)
    n = 0
    for folder, dirs, files in os.walk(top):
        if any(".tmp." in x for x in (*dirs, *files)):
            n += remove_stale_temps(Path(folder))
        dirs[:] = [d for d in dirs if ".tmp." not in d]
    return n


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Write ``path`` whole or not at all: yields a file object on a temp file in the same
    folder, renamed over ``path`` when the block ends without an exception.

    A full disk raises :class:`UserError` (one line, exit 2); other ``OSError`` s (read-only
    folder, a file where a folder should be) propagate. The temp file never survives.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "a" / "b.txt"
    >>> with atomic_write(p, "w") as f:
    ...     _ = f.write("whole")
    >>> p.read_text(), [q.name for q in p.parent.iterdir()]
    ('whole', ['b.txt'])
    """
    path = Path(path)
    tmp = _tmp_name(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
        os.replace(tmp, path)
    except OSError as e:
        if disk_full(e):
            raise disk_full_error(path) from None
        raise
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """A JSON cache file with a sha256 of its content (see :func:`read_json`); atomic."""
    body = json.dumps(obj, ensure_ascii=False, sort_keys=True)
    doc = json.dumps({"sha256": hashlib.sha256(body.encode()).hexdigest(), "data": body},
                     ensure_ascii=False)
    with atomic_write(path, "w") as f:
        f.write(doc)


def read_json(path: str | os.PathLike) -> Any:
    """The object :func:`write_json` wrote; :class:`CacheError` if missing parts, damaged or
    unreadable (FileNotFoundError propagates: a miss is not damage)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        body = doc["data"]
        ok = hashlib.sha256(body.encode()).hexdigest() == doc["sha256"]
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise CacheError(f"unreadable ({type(e).__name__})") from None
    if not ok:
        raise CacheError("content digest mismatch")
    return json.loads(body)


# ====================================================================== checked safetensors
def _arrays(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for k in sorted(arrays):
        a = np.require(arrays[k], requirements="C")
        if a.dtype not in _CODES:
            raise TypeError(f"{k}: dtype {a.dtype} is not storable")
        out[k] = a
    return out


def _block_digests(arrays: Mapping[str, np.ndarray]) -> str:
    """sha256/64 of each BLOCK of the concatenated bytes of ``arrays`` (in order), as hex."""
    out, h, filled = [], hashlib.sha256(), 0
    for a in arrays.values():
        mv = memoryview(a.reshape(-1)).cast("B") if a.size else memoryview(b"")
        i = 0
        while i < len(mv):
            take = min(BLOCK - filled, len(mv) - i)
            h.update(mv[i:i + take])
            i, filled = i + take, filled + take
            if filled == BLOCK:
                out.append(h.hexdigest()[:_DIGEST_HEX])
                h, filled = hashlib.sha256(), 0
    if filled:
        out.append(h.hexdigest()[:_DIGEST_HEX])
    return "".join(out)


def _header(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> bytes:
    tensors, off = {}, 0
    for k, a in arrays.items():
        tensors[k] = {"dtype": _CODES[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
    md = {"format": FORMAT, "meta": json.dumps(meta, ensure_ascii=False),
          "blocks": _block_digests(arrays), _HEADER_KEY: "0" * 64}
    raw = json.dumps({"__metadata__": md, **tensors}, ensure_ascii=False, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)                       # safetensors aligns the data to 8 bytes
    return raw.replace(_marker("0" * 64), _marker(hashlib.sha256(raw).hexdigest()))


def _marker(digest: str) -> bytes:
    return f'"{_HEADER_KEY}":"{digest}"'.encode()


def write_checked(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
    """Write ``arrays`` and the JSON-able ``meta`` as a checked safetensors file, atomically.

    The file is plain safetensors (``safetensors.safe_open`` reads it); ``meta`` is in its
    header under ``meta``. Raises like :func:`atomic_write`.
    """
    arrays = _arrays(arrays)
    head = _header(arrays, meta)
    with atomic_write(path) as f:
        f.write(len(head).to_bytes(8, "little"))
        f.write(head)
        for a in arrays.values():
            if a.size:
                f.write(memoryview(a.reshape(-1)).cast("B"))


class CheckedFile:
    """A file written by :func:`write_checked`, opened and checked lazily.

    Opening reads and checks the header (its digest, the format, the file size): a few
    microseconds. :meth:`get` memory-maps the data and checks the digest of every block
    it reads the first time it reads it. Any failure is :class:`CacheError`.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            with open(self.path, "rb") as f:
                n = int.from_bytes(f.read(8), "little")
                size = os.fstat(f.fileno()).st_size
                if not 2 <= n <= min(size - 8, 64 << 20):
                    raise CacheError(f"bad header length (file of {size} bytes)")
                raw = f.read(n)
        except OSError as e:
            raise CacheError(f"unreadable ({e.strerror or type(e).__name__})") from None
        try:
            header = json.loads(raw)
            md = header.pop("__metadata__")
            want = md[_HEADER_KEY]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise CacheError("header is not a gpt-scenes checked file") from None
        if raw.count(_marker(want)) != 1 or \
                hashlib.sha256(raw.replace(_marker(want), _marker("0" * 64))).hexdigest() != want:
            raise CacheError("header digest mismatch")
        if md.get("format") != FORMAT:
            raise CacheError(f"format {md.get('format')!r}, expected {FORMAT!r}")
        try:
            self.meta: dict[str, Any] = json.loads(md["meta"])
            self._specs = {k: (_DTYPES[v["dtype"]], tuple(v["shape"]), *v["data_offsets"])
                           for k, v in header.items()}
        except (ValueError, KeyError, TypeError):
            raise CacheError("header lists a tensor it cannot describe") from None
        self._data_len = max((s[3] for s in self._specs.values()), default=0)
        if size != 8 + n + self._data_len:
            raise CacheError(f"size {size} bytes, the header says {8 + n + self._data_len} (truncated?)")
        blocks = md.get("blocks", "")
        self._blocks = [blocks[i:i + _DIGEST_HEX] for i in range(0, len(blocks), _DIGEST_HEX)]
        if len(self._blocks) != math.ceil(self._data_len / BLOCK):
            raise CacheError("block digests do not cover the data")
        self._checked = bytearray(len(self._blocks))
        self._offset = 8 + n
        self._mm: np.ndarray | None = None

    @property
    def names(self) -> set[str]:
        return set(self._specs)

    def shape(self, name: str) -> tuple[int, ...]:
        return self._specs[name][1]

    def dtype(self, name: str) -> np.dtype:
        return np.dtype(self._specs[name][0])

    def _data(self) -> np.ndarray:
        if self._mm is None:
            self._mm = np.memmap(self.path, dtype=np.uint8, mode="r", offset=self._offset,
                                 shape=(self._data_len,)) if self._data_len else np.empty(0, np.uint8)
        return self._mm

    def _check(self, lo: int, hi: int) -> None:
        """Check the digests of the data blocks that bytes [lo, hi) fall in."""
        data = self._data()
        for b in range(lo // BLOCK, -(-hi // BLOCK)):
            if not self._checked[b]:
                got = hashlib.sha256(data[b * BLOCK:(b + 1) * BLOCK]).hexdigest()[:_DIGEST_HEX]
                if got != self._blocks[b]:
                    raise CacheError(f"content digest mismatch (data block {b})")
                self._checked[b] = 1

    def get(self, name: str, index: Any = None) -> np.ndarray:
        """``tensor[index]`` (the whole tensor when ``index`` is None), as an array of its
        own, after checking the blocks it was read from."""
        if name not in self._specs:
            raise KeyError(name)
        dtype, shape, lo, hi = self._specs[name]
        full = self._data()[lo:hi].view(dtype).reshape(shape)
        if index is None:
            self._check(lo, hi)
            return np.array(full)
        part = full[index]
        if isinstance(part, np.ndarray) and part.size and np.may_share_memory(part, full):
            self._check(*_extent(part, self._data()))
        else:  # fancy index (a copy) or a scalar: check the whole tensor
            self._check(lo, hi)
        return np.array(part)

    def check_all(self) -> None:
        """Check every block (what loading every tensor would check)."""
        self._check(0, self._data_len)


def _extent(view: np.ndarray, base: np.ndarray) -> tuple[int, int]:
    """The byte range [lo, hi) of ``base`` that the strided ``view`` of it touches."""
    start = view.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    lo = start + sum((n - 1) * s for n, s in zip(view.shape, view.strides) if s < 0)
    hi = start + sum((n - 1) * s for n, s in zip(view.shape, view.strides) if s > 0) + view.itemsize
    return lo, hi


# ====================================================================== staging folders
def staging_root() -> Path:
    return home() / "staging"


@contextlib.contextmanager
def staging(what: str) -> Iterator[Path]:
    """A fresh folder ``<home>/staging/.<what>.tmp.<pid>`` for a download, removed when the
    block ends (also on Ctrl-C). Folders left by killed runs are removed on entry."""
    root = staging_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        if disk_full(e):
            raise disk_full_error(root) from None
        raise UserError(f"cannot create {root} ({e.strerror}); set GPT_SCENES_HOME to a "
                        "writable folder") from None
    n = remove_stale_temps(root)
    if n:
        note(f"removed {n} folder(s) left in {root} by interrupted downloads")
    d = root / f".{what}.tmp.{os.getpid()}"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir()
    try:
        yield d
    except OSError as e:
        if disk_full(e):
            raise disk_full_error(d) from None
        raise
    finally:
        shutil.rmtree(d, ignore_errors=True)


def sha256_file(path: str | os.PathLike) -> str:
    """sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def replace_dir(staging_dir: Path, out: Path) -> None:
    """Move a finished folder into place; the old one is removed only after the new one is
    whole (a crash in between leaves ``<out>.old``, removed by the next call)."""
    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        os.replace(out, old)
    try:
        os.replace(staging_dir, out)
    except OSError:  # another filesystem
        shutil.move(str(staging_dir), str(out))
    shutil.rmtree(old, ignore_errors=True)
