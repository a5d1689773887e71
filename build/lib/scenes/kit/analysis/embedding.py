"""Embedding-space rules (pure numpy on real vectors): vector sources, PCA, analogies, directions.

Everything here computes on real vectors: the model's own embedding rows (through the
Trace) or, as a labelled alternative, classic word2vec vectors (:mod:`tensors.word2vec`).

>>> import numpy as np
>>> X = np.array([[1., 0, 0, 0], [0, 2, 0, 0], [0, 0, 3, 0], [0, 0, 0, 0]])
>>> P = pca3(X)
>>> np.allclose(P.coords @ P.components + P.mean, X)      # 4 points, rank 3: exact
True
>>> round(float(P.explained.sum()), 6)
1.0
"""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np

from tensors import UserError


# ====================================================================== vector sources
class Vectors:
    """Where word vectors come from. ``key(word)`` maps a course author's word to an entry;
    ``vec`` gives its vector; ``cosines`` compares a vector to every entry."""

    #: Shown on screen ("SmolLM2-135M-Instruct token embeddings" / "word2vec …").
    title: str = ""
    #: "tokens" or "words" (what the vocabulary is made of, for captions).
    unit: str = "tokens"
    dim: int = 0
    size: int = 0

    def key(self, word: str, knob: str = "words") -> int:
        raise NotImplementedError

    def label(self, key: int) -> str:
        raise NotImplementedError

    def vec(self, key: int) -> np.ndarray:
        raise NotImplementedError

    def cosines(self, v: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def vecs(self, keys: Sequence[int]) -> np.ndarray:
        return np.stack([self.vec(k) for k in keys]) if len(keys) else np.zeros((0, self.dim))


class ModelVectors(Vectors):
    """The model's token embedding rows E(token) = W_E[id] (read from the Trace's weights)."""

    unit = "tokens"

    def __init__(self, t: Any):
        self.t = t
        self.dim = int(t.info["d_model"])
        self.size = int(t.info["vocab_size"])
        self.title = f"{t.info['name']} token embeddings"
        self.tok = t
        self._strs: dict[int, str] = {}

    def key(self, word: str, knob: str = "words") -> int:
        """The token id for ``word``. A bare word is looked up as it appears mid-sentence
        (with its leading space, ``"king"`` → ``" king"``) if that is one token, else as
        written. Several tokens → UserError naming the word and its pieces."""
        cands = [word] if word.startswith(" ") else [" " + word, word]
        for c in cands:
            ids = self.tok.encode(c)
            if len(ids) == 1:
                self._strs[ids[0]] = self.tok.token_strs(ids)[0]
                return int(ids[0])
        ids = self.tok.encode(cands[0])
        pieces = " + ".join(repr(s) for s in self.tok.token_strs(ids))
        raise UserError(f"{knob}: {word!r} is {len(ids)} tokens in {self.t.info['name']} "
                        f"({pieces}); choose words that are a single token")

    def label(self, key: int) -> str:
        if key not in self._strs:
            self._strs[key] = self.tok.token_strs([key])[0]
        return self._strs[key]

    def labels(self, keys: Sequence[int]) -> list[str]:
        missing = [k for k in keys if k not in self._strs]
        if missing:
            self._strs.update(zip(missing, self.tok.token_strs(missing)))
        return [self._strs[k] for k in keys]

    def vec(self, key: int) -> np.ndarray:
        return self.t.W_E([key])[0].astype(np.float64)

    def cosines(self, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=np.float32)
        return self.t.weights.W_E_unit @ (v / max(float(np.linalg.norm(v)), 1e-12))


class Word2VecVectors(Vectors):
    """Classic word2vec vectors (GoogleNews, Bolukbasi et al.'s 26,423-word subset)."""

    unit = "words"

    def __init__(self, wv: Any):
        self.wv = wv
        self.dim = int(wv.vectors.shape[1])
        self.size = int(wv.vectors.shape[0])
        self.title = f"word2vec (GoogleNews, {self.size:,} words × {self.dim})"

    def key(self, word: str, knob: str = "words") -> int:
        w = word.strip()
        idx = self.wv.index.get(w)
        if idx is None:
            idx = self.wv.index.get(w.lower())
        if idx is None:
            raise UserError(f"{knob}: {w!r} is not among the {self.size:,} word2vec words "
                            "(lowercase, no proper nouns); choose another word")
        return int(idx)

    def label(self, key: int) -> str:
        return self.wv.words[key]

    def labels(self, keys: Sequence[int]) -> list[str]:
        return [self.wv.words[k] for k in keys]

    def vec(self, key: int) -> np.ndarray:
        return self.wv.vectors[key].astype(np.float64)

    def cosines(self, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=np.float32)
        return self.wv.unit @ (v / max(float(np.linalg.norm(v)), 1e-12))


def vector_source(t: Any, vectors: str) -> Vectors:
    if vectors == "model":
        return ModelVectors(t)
    if vectors == "word2vec":
        from tensors.word2vec import load_word2vec

        return Word2VecVectors(load_word2vec())
    raise UserError(f"vectors = {vectors!r}: use \"model\" (this model's embeddings) or \"word2vec\"")


# ====================================================================== PCA
@dataclasses.dataclass
class PCA3:
    coords: np.ndarray      # [n, 3] projections of the centred points
    components: np.ndarray  # [3, d] unit directions
    mean: np.ndarray        # [d]
    explained: np.ndarray   # [3] fraction of the points' variance along each component

    def project(self, v: np.ndarray) -> np.ndarray:
        return (np.asarray(v, dtype=np.float64) - self.mean) @ self.components.T


def pca3(X: np.ndarray) -> PCA3:
    """Principal components of the rows of X (centred on their mean), 3 of them.

    Signs are fixed so that each component's largest-|loading| point is positive
    (deterministic pictures). Fewer than 3 independent directions → zero columns."""
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(0)
    Xc = X - mean
    _, S, Vt = np.linalg.svd(Xc, full_matrices=False)
    k = min(3, Vt.shape[0])
    comps = np.zeros((3, X.shape[1]))
    comps[:k] = Vt[:k]
    coords = Xc @ comps.T
    for j in range(3):
        i = int(np.argmax(np.abs(coords[:, j])))
        if coords[i, j] < 0:
            comps[j] *= -1
            coords[:, j] *= -1
    total = float((S ** 2).sum())
    ev = np.zeros(3)
    ev[:k] = (S[:k] ** 2) / total if total > 0 else 0.0
    return PCA3(coords, comps, mean, ev)


# ====================================================================== analogies
@dataclasses.dataclass
class Analogy:
    a: str
    b: str
    c: str
    expected: str | None
    keys: tuple[int, int, int]
    vec: np.ndarray                        # E(a) − E(b) + E(c)
    top: list[tuple[int, int, str, float]]  # (rank, key, label, cosine), best first
    expected_key: int | None = None
    expected_rank: int | None = None       # 1-based over the whole vocabulary
    expected_cos: float | None = None
    size: int = 0

    def is_input(self, key: int) -> bool:
        return key in self.keys


def analogy(src: Vectors, a: str, b: str, c: str, expected: str | None = None,
            k: int = 6, exclude_inputs: bool = False, knob: str = "analogies") -> Analogy:
    """E(a) − E(b) + E(c) and its nearest entries by cosine over the whole vocabulary.

    Ranks are over everything (the inputs too, unless ``exclude_inputs``): nothing is
    nudged; the expected answer's true rank is reported wherever it lands."""
    ka, kb, kc = (src.key(w, knob) for w in (a, b, c))
    v = src.vec(ka) - src.vec(kb) + src.vec(kc)
    cos = np.asarray(src.cosines(v), dtype=np.float64)
    if exclude_inputs:
        cos = cos.copy()
        cos[[ka, kb, kc]] = -np.inf
    idx = np.argpartition(-cos, k)[:k]
    idx = idx[np.argsort(-cos[idx], kind="stable")]
    labels = src.labels([int(i) for i in idx])
    top = [(r + 1, int(i), s, float(cos[i])) for r, (i, s) in enumerate(zip(idx, labels))]
    out = Analogy(a, b, c, expected, (ka, kb, kc), v, top, size=src.size)
    if expected:
        ke = src.key(expected, knob)
        out.expected_key = ke
        out.expected_cos = float(cos[ke])
        out.expected_rank = int((cos > cos[ke]).sum()) + 1
    return out


# ====================================================================== directions
@dataclasses.dataclass
class Direction:
    name: str
    unit: np.ndarray                 # [d] unit vector: mean of the defining differences
    pairs: list[tuple[str, str]]     # defining pairs (from, to)
    tested: list[tuple[str, str, float, float]]  # held-out (from, to, score_from, score_to)

    @property
    def n_agree(self) -> int:
        """How many held-out pairs score higher at ``to`` than at ``from``."""
        return sum(1 for _, _, s0, s1 in self.tested if s1 > s0)


def direction(src: Vectors, name: str, pairs: Sequence[Sequence[str]],
              tests: Sequence[Sequence[str]], knob: str = "directions") -> Direction:
    """A direction = the mean of E(to) − E(from) over ``pairs``, normalised; held-out
    ``tests`` pairs are scored by the dot product with it."""
    if not pairs:
        raise UserError(f"{knob}: direction {name!r} needs at least one (from, to) pair")
    diffs = []
    for p in pairs:
        if len(p) != 2:
            raise UserError(f"{knob}: {name!r}: each pair is (from, to); got {tuple(p)!r}")
        diffs.append(src.vec(src.key(p[1], knob)) - src.vec(src.key(p[0], knob)))
    d = np.mean(diffs, axis=0)
    n = float(np.linalg.norm(d))
    if n == 0:
        raise UserError(f"{knob}: direction {name!r} is zero (its pairs cancel out); choose other pairs")
    u = d / n
    tested = []
    for p in tests:
        if len(p) != 2:
            raise UserError(f"{knob}: {name!r}: each test pair is (from, to); got {tuple(p)!r}")
        k0, k1 = src.key(p[0], knob), src.key(p[1], knob)
        tested.append((p[0], p[1], float(src.vec(k0) @ u), float(src.vec(k1) @ u)))
    return Direction(name, u, [tuple(p) for p in pairs], tested)
