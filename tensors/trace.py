"""The Trace: every quantity a scene shows, from one real forward pass, cached on disk.

>>> from tensors import trace
>>> t = trace("The capital of France is", model="smollm2")    # doctest: +SKIP
>>> t.tokens                                                  # doctest: +SKIP
['The', ' capital', ' of', ' France', ' is']
>>> t.top_next(3)                                             # doctest: +SKIP
[(' Paris', 0.77...), (' the', 0.06...), (' London', 0.01...)]

:func:`tensors.trace` (in :mod:`tensors.extract`) makes Traces; :mod:`tensors.trace_cache`
stores them.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .weights import Weights
from .weights_cache import open_weights

#: Bump when what is captured (or how) changes: old cache entries are then recomputed.
CAPTURE_VERSION = 1
ARRAY_FIELDS = ("token_ids", "embed", "pos_embed", "resid", "q", "k", "v", "scores", "pattern",
                "head_out", "attn_out", "final", "logits")


@dataclasses.dataclass
class Trace:
    """One prompt through one model. Shapes (TransformerLens style):

    - ``tokens``: list[str] [pos] — the model's own pieces, readable (``' the'``)
    - ``token_ids``: [pos] int
    - ``embed``: [pos, d_model] — rows of W_E for the tokens (a lookup, not a matmul)
    - ``pos_embed``: [pos, d_model] learned positions (GPT-2), or None (RoPE models)
    - ``resid``: [layer+1, pos, d_model] — residual stream before block 0 and after each block
    - ``q``, ``k``, ``v``: [layer, head, pos, d_head] — q and k exactly as they enter the
      dot product (after the rotary rotation for RoPE); for grouped-query models k and v
      are expanded to the query heads: head h reads kv head ``h // (n_head // n_kv_head)``
    - ``scores``: [layer, head, query_pos, key_pos] — q·k * attn_scale, masked cells = -inf
    - ``pattern``: [layer, head, query_pos, key_pos] — softmax of scores over key_pos
    - ``head_out``: [layer, head, pos, d_model] — each head's write into the residual stream
      (z @ W_O, without the output bias ``b_O``, which is added once per layer)
    - ``attn_out``: [layer, pos, d_model] — the attention block's output = sum of heads + b_O
    - ``final``: [pos, d_model] — after the final norm
    - ``logits``: [pos, vocab] — ``final @ W_U.T``
    - ``info``: dict of model facts read from the model (see :func:`tensors.capture.model_info`)
      plus ``name``, ``model_key``, ``model_path``, ``fingerprint``, ``device``, ``prompt``.
    """

    prompt: str
    tokens: list[str]
    token_ids: np.ndarray
    embed: np.ndarray
    pos_embed: np.ndarray | None
    resid: np.ndarray
    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    scores: np.ndarray
    pattern: np.ndarray
    head_out: np.ndarray
    attn_out: np.ndarray
    final: np.ndarray
    logits: np.ndarray
    info: dict[str, Any]
    cache_path: Path | None = None
    from_cache: bool = False

    # ------------------------------------------------------------------ small conveniences
    @property
    def n_pos(self) -> int:
        return len(self.tokens)

    def probs(self, pos: int = -1, temperature: float = 1.0) -> np.ndarray:
        """Next-token distribution at ``pos``: softmax(logits[pos] / T), [vocab] float64."""
        from .capture import softmax_np

        return softmax_np(self.logits[pos], temperature)

    def top_next(self, k: int = 5, pos: int = -1, temperature: float = 1.0) -> list[tuple[str, float]]:
        """The k most likely next tokens after position ``pos``: [(token, prob), …]."""
        p = self.probs(pos, temperature)
        idx = np.argsort(-p)[:k]
        return [(s, float(p[i])) for s, i in zip(self.token_strs(idx), idx)]

    def kv_head_of(self, head: int) -> int:
        """Which key/value head query head ``head`` reads (grouped-query attention)."""
        return head // (self.info["n_head"] // self.info["n_kv_head"])

    def check_layer_head(self, layer: int | None = None, head: int | None = None) -> None:
        """UserError (one line, the valid range) unless layer/head exist in this model."""
        from .capture import check_layer_head

        check_layer_head(self.info, layer, head)

    # ------------------------------------------------------------------ whole-matrix queries
    @property
    def weights(self) -> Weights:
        """The model's canonical matrices, memory-mapped (no model load). See tensors.weights."""
        if getattr(self, "_weights", None) is None:
            self._weights = open_weights(self.info)
        return self._weights

    def W_E(self, rows: Sequence[int] | slice | None = None) -> np.ndarray:
        """Rows of the token embedding matrix: [len(rows), d_model] (all of it if rows is None)."""
        return self._rows("W_E", rows)

    def W_U(self, rows: Sequence[int] | slice | None = None) -> np.ndarray:
        """Rows of the unembedding (one per vocabulary entry): [len(rows), d_model].
        For tied models these are the very rows of W_E."""
        return self._rows("W_U", rows)

    def _rows(self, name: str, rows: Any) -> np.ndarray:
        if rows is None:
            return self.weights.get(name)
        if isinstance(rows, slice):
            return self.weights.get(name, rows)
        rows = np.asarray(rows, dtype=np.int64)
        return self.weights.W_E[rows] if name == "W_E" else self.weights.W_U[rows]

    def block(self, name: str, layer: int, head: int | None = None,
              rows: slice = slice(None), cols: slice = slice(None)) -> np.ndarray:
        """A block of a per-layer matrix, e.g. ``block("W_Q", 3, 5, slice(0, 8), slice(0, 6))``.

        W_Q [d_model, d_head] for (layer, head); W_K/W_V use the kv head the query head reads.
        """
        self.check_layer_head(layer, head)
        if name in ("W_K", "W_V", "b_K", "b_V") and head is not None:
            head = self.kv_head_of(head)
        idx = (layer,) if head is None else (layer, head)
        return self.weights.get(name, idx + (rows, cols))

    def nearest(self, vec: np.ndarray, k: int = 10, exclude: Sequence[int] = ()) -> list[tuple[int, str, float]]:
        """The k tokens whose embedding rows are closest to ``vec`` by cosine, over the whole
        vocabulary: [(token_id, token, cosine), …], best first."""
        v = np.asarray(vec, dtype=np.float32)
        cos = self.weights.W_E_unit @ (v / max(float(np.linalg.norm(v)), 1e-12))
        if len(exclude):
            cos[np.asarray(exclude, dtype=np.int64)] = -np.inf
        idx = np.argpartition(-cos, k)[:k]
        idx = idx[np.argsort(-cos[idx])]
        return [(int(i), s, float(cos[i])) for i, s in zip(idx, self.token_strs(idx))]

    def logits_of(self, vec: np.ndarray) -> np.ndarray:
        """Logits the unembedding gives any vector: ``vec @ W_U.T`` [vocab] (no final norm)."""
        return self.weights.W_U @ np.asarray(vec, dtype=np.float32)

    # ------------------------------------------------------------------ tokenizer access
    @property
    def tokenizer(self) -> Any:
        """The model's tokenizer (see :func:`load_tokenizer`; no weights, no torch)."""
        return load_tokenizer(self.info["model_path"])

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` with this model's tokenizer (no special tokens)."""
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def token_strs(self, ids: Sequence[int]) -> list[str]:
        """Readable pieces for token ids (same convention as ``tokens``)."""
        from .capture import readable_tokens

        return readable_tokens(self.tokenizer, [int(i) for i in ids])


# ====================================================================== tokenizer
class FastTokenizer:
    """A model's ``tokenizer.json`` through the ``tokenizers`` library: the same pieces as
    its Hugging Face tokenizer (tests check it) without importing transformers and torch,
    which costs seconds of every render. Offers the calls the Trace uses."""

    def __init__(self, path: Path):
        from tokenizers import Tokenizer

        self.tk = Tokenizer.from_file(str(path))

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        return {"input_ids": self.tk.encode(text, add_special_tokens=add_special_tokens).ids}

    def convert_ids_to_tokens(self, ids: Sequence[int]) -> list[str | None]:
        return [self.tk.id_to_token(int(i)) for i in ids]

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        return self.tk.decode([int(i) for i in ids], skip_special_tokens=skip_special_tokens)

    def __len__(self) -> int:
        return self.tk.get_vocab_size()

    @property
    def all_special_ids(self) -> list[int]:
        """Ids of the added tokens marked special (end-of-text and the like)."""
        return sorted(i for i, t in self.tk.get_added_tokens_decoder().items() if t.special)


_TOKENIZERS: dict[str, Any] = {}


def load_tokenizer(model_path: str | os.PathLike) -> Any:
    """The tokenizer of the model in ``model_path``, once per process: its tokenizer.json
    through :class:`FastTokenizer` when there is one, else transformers' AutoTokenizer."""
    key = str(model_path)
    if key not in _TOKENIZERS:
        path = Path(model_path) / "tokenizer.json"
        if path.is_file():
            _TOKENIZERS[key] = FastTokenizer(path)
        else:
            from transformers import AutoTokenizer

            _TOKENIZERS[key] = AutoTokenizer.from_pretrained(model_path)
    return _TOKENIZERS[key]
