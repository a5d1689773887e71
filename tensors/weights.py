"""Canonical weight matrices of a model, stored once per weights fingerprint, read by mmap.

Scenes show rows of W_E, blocks of W_Q, the nearest tokens to a vector over the whole
vocabulary… without loading the model: the first capture writes the matrices below to a
checked file (:mod:`tensors.weights_cache`), and :class:`Weights` reads any slice lazily
(memory-mapped, every byte digest-checked: :class:`tensors.store.CheckedFile`).

Names and shapes (TransformerLens conventions, ``x @ W`` everywhere):

=========  ==========================================  =====================================
name       shape                                       note
=========  ==========================================  =====================================
W_E        [vocab, d_model]                            token embedding (rows = tokens)
W_U        [vocab, d_model]                            unembedding; absent when tied (= W_E)
W_pos      [n_ctx, d_model]                            learned positions (GPT-2 only)
ln_f.w     [d_model]  (+ ln_f.b for LayerNorm)         final norm
W_Q        [layer, head, d_model, d_head]              q = x @ W_Q + b_Q
W_K, W_V   [layer, kv_head, d_model, d_head]           shared by head // (head/kv_head) (GQA)
W_O        [layer, head, d_head, d_model]              head_out = z @ W_O
b_Q        [layer, head, d_head]  b_K/b_V [layer, kv_head, d_head]  b_O [layer, d_model]
=========  ==========================================  =====================================
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .store import CheckedFile


def extract_weights(model: Any, family: str) -> dict[str, np.ndarray]:
    """Read the canonical matrices out of a loaded Hugging Face model (fp32 numpy)."""
    import torch

    cfg = model.config

    def np32(t: "torch.Tensor") -> np.ndarray:
        return t.detach().to("cpu", torch.float32).numpy().copy()

    out: dict[str, np.ndarray] = {}
    W_E = model.get_input_embeddings().weight
    W_U = model.get_output_embeddings().weight
    out["W_E"] = np32(W_E)
    if W_U.data_ptr() != W_E.data_ptr():
        out["W_U"] = np32(W_U)
    if family == "gpt2":
        tr = model.transformer
        n_head, d_model = cfg.n_head, cfg.n_embd
        d_head = d_model // n_head
        n_kv = n_head
        out["W_pos"] = np32(tr.wpe.weight)
        out["ln_f.w"], out["ln_f.b"] = np32(tr.ln_f.weight), np32(tr.ln_f.bias)
        Q, K, V, O, bQ, bK, bV, bO = [], [], [], [], [], [], [], []
        for blk in tr.h:
            W = blk.attn.c_attn.weight  # Conv1D: [d_model, 3*d_model], y = x @ W + b
            b = blk.attn.c_attn.bias
            for i, (Ws, bs) in enumerate(((Q, bQ), (K, bK), (V, bV))):
                Ws.append(W[:, i * d_model:(i + 1) * d_model].reshape(d_model, n_head, d_head).permute(1, 0, 2))
                bs.append(b[i * d_model:(i + 1) * d_model].reshape(n_head, d_head))
            O.append(blk.attn.c_proj.weight.reshape(n_head, d_head, d_model))
            bO.append(blk.attn.c_proj.bias)
    else:  # llama
        m = model.model
        n_head, n_kv = cfg.num_attention_heads, cfg.num_key_value_heads
        d_model = cfg.hidden_size
        d_head = getattr(cfg, "head_dim", None) or d_model // n_head
        out["ln_f.w"] = np32(m.norm.weight)
        Q, K, V, O, bQ, bK, bV, bO = [], [], [], [], [], [], [], []
        for blk in m.layers:
            a = blk.self_attn
            for lin, nh, Ws, bs in ((a.q_proj, n_head, Q, bQ), (a.k_proj, n_kv, K, bK), (a.v_proj, n_kv, V, bV)):
                # nn.Linear weight is [out, in]; y = x @ weight.T
                Ws.append(lin.weight.T.reshape(d_model, nh, d_head).permute(1, 0, 2))
                bs.append(lin.bias.reshape(nh, d_head) if lin.bias is not None
                          else torch.zeros(nh, d_head))
            O.append(a.o_proj.weight.T.reshape(n_head, d_head, d_model))
            bO.append(a.o_proj.bias if a.o_proj.bias is not None else torch.zeros(d_model))
    for name, parts in (("W_Q", Q), ("W_K", K), ("W_V", V), ("W_O", O),
                        ("b_Q", bQ), ("b_K", bK), ("b_V", bV), ("b_O", bO)):
        out[name] = np32(torch.stack(parts))
    return out


class Weights:
    """Lazy, memory-mapped access to a model's canonical matrices (see module docstring)."""

    def __init__(self, path: Path):
        """Open the cache file; its header is checked now, each block of data when first
        read (:class:`tensors.store.CacheError` if damaged)."""
        self.path = path
        self._f: CheckedFile | None = CheckedFile(path)
        self.meta = self._f.meta
        self.names = self._f.names
        self._arrays: Mapping[str, np.ndarray] = {}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> "Weights":
        """The same queries over matrices held in memory (when the cache is not writable)."""
        w = cls.__new__(cls)
        w.path, w._f, w.meta, w.names, w._arrays = None, None, {}, set(arrays), arrays
        return w

    def get(self, name: str, index: Any = None) -> np.ndarray:
        """The whole tensor, or ``tensor[index]`` read lazily (index: int, slice or tuple)."""
        if name == "W_U" and "W_U" not in self.names:
            name = "W_E"  # tied: the unembedding IS the embedding matrix
        if self._f is None:
            a = self._arrays[name]
            return a if index is None else a[index]
        return self._f.get(name, index)

    @property
    def tied(self) -> bool:
        return "W_U" not in self.names

    @cached_property
    def W_E(self) -> np.ndarray:
        """[vocab, d_model], fully read (e.g. for cosine over the whole vocabulary)."""
        return self.get("W_E")

    @cached_property
    def W_U(self) -> np.ndarray:
        """[vocab, d_model]; the same array object as W_E when embeddings are tied."""
        return self.W_E if self.tied else self.get("W_U")

    @cached_property
    def W_E_unit(self) -> np.ndarray:
        """Rows of W_E scaled to unit length: [vocab, d_model]."""
        n = np.linalg.norm(self.W_E, axis=1, keepdims=True)
        return self.W_E / np.maximum(n, 1e-12)
