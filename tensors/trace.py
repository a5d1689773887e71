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
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .errors import UserError
from .lazy import PerLayer
from .sampling import softmax
from .tokenizer import FastTokenizer, load_tokenizer  # noqa: F401 - the Trace's tokenizer
from .weights import Weights
from .weights_cache import open_weights

#: Bump when what is captured (or how) changes: old cache entries are then recomputed.
CAPTURE_VERSION = 6
#: What a Trace stores (and the cache holds); k, v (per query head), scores, pattern, z,
#: head_out, the norms' outputs attn_in and mlp_in, resid_mid, the MLP's mlp_pre, mlp_gate,
#: mlp_act and the logits of every position but the last are derived from these (and the
#: weights) on access, per layer. mlp_out stays stored: recomputed (mlp_act @ W_out), it
#: differs from the model's by up to 6e-3 in the bundled model's largest residual dimensions.
ARRAY_FIELDS = ("token_ids", "embed", "pos_embed", "resid", "q", "k_kv", "v_kv", "attn_out",
                "mlp_out", "final", "logits_last")
#: Arrays a model may not have (learned positions).
OPTIONAL_FIELDS = ("pos_embed",)

#: Each Trace field's TransformerLens hook (``{l}`` is the layer). TransformerLens arrays
#: have a batch axis first and ``pos`` before ``head``: ``t.pattern[l]`` is
#: ``cache[f"blocks.{l}.attn.hook_pattern"][0]``. Where RoPE or a gated MLP differs, the
#: value names both: ``q`` enters the dot product rotated (``hook_rot_q``); a gated MLP's up
#: projection is ``hook_pre_linear``, its gate ``hook_pre``. ``resid[n_layer]`` is
#: ``blocks.{n_layer-1}.hook_resid_post``.
HOOK_NAMES: dict[str, str] = {
    "token_ids": "(the model's input tokens)",
    "embed": "hook_embed",
    "pos_embed": "hook_pos_embed",
    "resid": "blocks.{l}.hook_resid_pre",
    "attn_in": "blocks.{l}.ln1.hook_normalized",
    "q": "blocks.{l}.attn.hook_q | RoPE: blocks.{l}.attn.hook_rot_q",
    "k": "blocks.{l}.attn.hook_k | RoPE: blocks.{l}.attn.hook_rot_k",
    "v": "blocks.{l}.attn.hook_v",
    "scores": "blocks.{l}.attn.hook_attn_scores",
    "pattern": "blocks.{l}.attn.hook_pattern",
    "z": "blocks.{l}.attn.hook_z",
    "head_out": "blocks.{l}.attn.hook_result",
    "attn_out": "blocks.{l}.hook_attn_out",
    "resid_mid": "blocks.{l}.hook_resid_mid",
    "mlp_in": "blocks.{l}.ln2.hook_normalized",
    "mlp_pre": "blocks.{l}.mlp.hook_pre | gated MLP: blocks.{l}.mlp.hook_pre_linear",
    "mlp_gate": "gated MLP: blocks.{l}.mlp.hook_pre",
    "mlp_act": "blocks.{l}.mlp.hook_post",
    "mlp_out": "blocks.{l}.hook_mlp_out",
    "final": "ln_final.hook_normalized",
    "logits": "(the model's output logits)",
}


@dataclasses.dataclass
class Trace:
    """One prompt through one model. Shapes (TransformerLens style):

    - ``tokens``: list[str] [pos] — the model's own pieces, readable (``' the'``)
    - ``token_ids``: [pos] int
    - ``embed``: [pos, d_model] — rows of W_E for the tokens (a lookup, not a matmul)
    - ``pos_embed``: [pos, d_model] learned positions (GPT-2), or None (RoPE models)
    - ``resid``: [layer+1, pos, d_model] — the residual stream: ``resid[i]`` is what block i
      really receives (hooked; ``resid[0]`` = embed (+ pos_embed)), ``resid[n_layer]`` the
      last block's output, before the final norm
    - ``attn_in``: [layer, pos, d_model] — the block's first norm applied to ``resid[layer]``
      (what q, k, v read); derived per layer on access with the model's own norm (type,
      eps, gain, bias: :meth:`apply_norm`), equal to the hooked values within 1e-5 (tested)
    - ``q``, ``k``, ``v``: [layer, head, pos, d_head] — q and k exactly as they enter the
      dot product (after the rotary rotation for RoPE); for grouped-query models k and v
      are expanded to the query heads: head h reads kv head ``h // (n_head // n_kv_head)``
      (stored once per key/value head: ``k_kv``, ``v_kv`` [layer, kv_head, pos, d_head])
    - ``scores``: [layer, head, query_pos, key_pos] — q·k * that layer's attn_scale,
      masked cells = -inf
    - ``pattern``: [layer, head, query_pos, key_pos] — softmax of scores over key_pos
    - ``head_out``: [layer, head, pos, d_model] — each head's write into the residual stream
      (z @ W_O, without the output bias ``b_O``, which is added once per layer)
    - ``z``: [layer, head, pos, d_head] — each head's weighted sum of values (pattern @ v),
      as the output projection received it (with the run's head ablations)

      These four are derived per layer on access from q, k, v and W_O (each a
      :class:`tensors.lazy.PerLayer`: ``t.pattern[layer]`` computes that layer only,
      ``np.asarray(t.pattern)`` all of them), so memory grows with one layer, not all.
    - ``attn_out``: [layer, pos, d_model] — the attention block's output = sum of heads + b_O
    - ``resid_mid``: [layer, pos, d_model] — ``resid[layer] + attn_out[layer]`` (between
      attention and MLP; derived, the same bits as the model's)
    - ``mlp_in``: [layer, pos, d_model] — the block's second norm applied to ``resid_mid``
      (derived like ``attn_in``)
    - ``mlp_pre``: [layer, pos, d_mlp] — ``mlp_in @ W_in + b_in`` (GPT-2: c_fc, before
      GELU; Llama: up_proj). This and the next two are derived per layer on access from
      ``mlp_in`` and the model's weights with the model's own activation and any ablation
      of the run (equal to the hooked values within 1e-5; the tests check it)
    - ``mlp_gate``: [layer, pos, d_mlp] — Llama: ``mlp_in @ W_gate`` (gate_proj, before SiLU);
      None for a model without a gated MLP
    - ``mlp_act``: [layer, pos, d_mlp] — the down projection's input: GELU(mlp_pre) or
      SiLU(mlp_gate) * mlp_pre (one value per neuron)
    - ``mlp_out``: [layer, pos, d_model] — ``mlp_act @ W_out + b_out``; ``resid[layer+1] =
      resid_mid + mlp_out``

      The derived per-position arrays (attn_in, resid_mid, mlp_in, mlp_pre/gate/act) also
      answer ``t.mlp_in[:, pos]`` by computing that position only, in every layer
      (:class:`tensors.lazy.PerLayer`).
    - ``final``: [pos, d_model] — after the final norm
    - ``logits``: [pos, vocab] — ``final @ W_U.T``; the last row is the model's own
      (``logits_last`` [vocab], stored), the others are computed per position on access
      (equal to the model's within 1e-5 on the test models; the tests check it)
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
    k_kv: np.ndarray
    v_kv: np.ndarray
    attn_out: np.ndarray
    mlp_out: np.ndarray
    final: np.ndarray
    logits_last: np.ndarray
    info: dict[str, Any]
    cache_path: Path | None = None
    from_cache: bool = False

    # ------------------------------------------------------------------ derived per layer
    @cached_property
    def k(self) -> PerLayer:
        """[layer, head, pos, d_head]: the keys each query head reads (kv head h // group)."""
        return self._per_query_head(self.k_kv)

    @cached_property
    def v(self) -> PerLayer:
        """[layer, head, pos, d_head]: the values each query head reads."""
        return self._per_query_head(self.v_kv)

    def _per_query_head(self, a: np.ndarray) -> PerLayer:
        L, n_kv, P, d = a.shape
        group = self.info["n_head"] // n_kv
        return PerLayer(L, (n_kv * group, P, d), a.dtype, lambda i: np.repeat(a[i], group, axis=0))

    # ------------------------------------------------------------------ per position
    @cached_property
    def attn_in(self) -> PerLayer:
        """[layer, pos, d_model]: the block's first norm applied to resid[layer] (what q, k, v
        read), with the model's own norm type, eps, gain and bias (:meth:`apply_norm`)."""
        return self._per_pos(lambda i, rows: self.apply_norm(self.resid[i][rows], "ln1", i))

    @cached_property
    def resid_mid(self) -> PerLayer:
        """[layer, pos, d_model]: resid[layer] + attn_out[layer] — the same fp32 addition the
        model does, so the same bits as the second norm's input."""
        return self._per_pos(self._resid_mid)

    @cached_property
    def mlp_in(self) -> PerLayer:
        """[layer, pos, d_model]: the block's second norm applied to resid_mid[layer]."""
        return self._per_pos(lambda i, rows: self.apply_norm(self._resid_mid(i, rows), "ln2", i))

    def _resid_mid(self, i: int, rows: Any) -> np.ndarray:
        return self.resid[i][rows] + self.attn_out[i][rows]

    def _per_pos(self, rows_of: Any, width: int | None = None) -> PerLayer:
        """A [layer, pos, width] array computed position by position: ``rows_of(i, rows)``."""
        L, P = self.info["n_layer"], len(self.tokens)
        return PerLayer(L, (P, width or self.info["d_model"]), np.float32,
                        lambda i: rows_of(i, slice(None)), compute_rows=rows_of)

    # ------------------------------------------------------------------ the MLP, per layer
    @cached_property
    def mlp_pre(self) -> PerLayer:
        """[layer, pos, d_mlp]: mlp_in @ W_in + b_in (up_proj / c_fc)."""
        return self._mlp_array("mlp_pre")

    @cached_property
    def mlp_gate(self) -> PerLayer | None:
        """[layer, pos, d_mlp]: mlp_in @ W_gate + b_gate (before the activation); None
        without a gated MLP."""
        return self._mlp_array("mlp_gate") if self.info.get("gated_mlp") else None

    @cached_property
    def mlp_act(self) -> PerLayer:
        """[layer, pos, d_mlp]: the down projection's input, act(mlp_pre) or
        act(mlp_gate) * mlp_pre, with the run's neuron ablations applied."""
        return self._mlp_array("mlp_act")

    @cached_property
    def logits(self) -> PerLayer:
        """[pos, vocab]: the last row is the model's own; row p < last is final[p] @ W_U.T."""
        P, V = self.final.shape[0], self.logits_last.shape[-1]

        def row(p: int) -> np.ndarray:
            return self.logits_last if p == P - 1 else self.weights.W_U @ np.asarray(self.final[p])

        def whole() -> np.ndarray:
            out = np.asarray(self.final[:-1]) @ self.weights.W_U.T
            return np.concatenate([out, self.logits_last[None]])
        return PerLayer(P, (V,), np.float32, row, whole)

    def _mlp_array(self, name: str) -> PerLayer:
        return self._per_pos(lambda i, rows: self._mlp_layer(i, rows)[name], self.info["d_mlp"])

    def _mlp_layer(self, i: int, rows: Any = slice(None)) -> dict[str, np.ndarray]:
        """Layer i's MLP (at positions ``rows``) recomputed from mlp_in, as the hooked run
        computed it: the model's activation, and any ablation of the run (a mean ablation
        needs every position, so an ablated layer is always computed whole)."""
        from . import ablation

        abl = ablation.from_info(self.info)
        if rows != slice(None) and any(a.layer == i and ablation.TARGETS[a.target][0] == "mlp_act"
                                       for a in abl):
            return {k: v[rows] for k, v in self._mlp_layer(i).items()}
        done = self.__dict__.setdefault("_mlp_done", {})
        if rows == slice(None) and i in done:
            return done[i]
        from .families import activation

        w, d_head = self.weights, self.info["d_head"]
        x = np.asarray(self.mlp_in[i]) if rows == slice(None) else \
            self.apply_norm(self._resid_mid(i, rows), "ln2", i)
        act = activation(self.info["layers"][i]["act"])
        out = {"mlp_pre": x @ w.get("W_in", i) + w.get("b_in", i)}
        if self.info.get("gated_mlp"):
            out["mlp_gate"] = x @ w.get("W_gate", i) + w.get("b_gate", i)
            a = act(out["mlp_gate"]) * out["mlp_pre"]
        else:
            a = act(out["mlp_pre"])
        out["mlp_act"] = ablation.apply(abl, "mlp_act", i, a, d_head)
        if rows == slice(None):
            done.clear()                               # one layer at a time (PerLayer keeps more)
            done[i] = out
        return out

    @cached_property
    def scores(self) -> PerLayer:
        """[layer, head, query_pos, key_pos]: q·k times the layer's attn_scale; -inf where
        the causal mask hides the key."""
        L, H, P, _ = self.q.shape
        return PerLayer(L, (H, P, P), np.float32, lambda i: self._attention(i, pattern=False))

    @cached_property
    def pattern(self) -> PerLayer:
        """[layer, head, query_pos, key_pos]: softmax of the scores over key_pos (rows sum to 1)."""
        L, H, P, _ = self.q.shape
        return PerLayer(L, (H, P, P), np.float32, lambda i: self._attention(i, pattern=True))

    #: Query positions per block in :meth:`_attention` (a block of scores stays in the CPU cache).
    ATTN_BLOCK = 256

    def _attention(self, i: int, pattern: bool) -> np.ndarray:
        """Layer i's scores (-inf above the diagonal) or pattern (0 there) [head, q, k].

        Per head, per block of query rows, over the keys up to the block's last row only
        (the causal half): q @ k.T against the head's kv head's keys (no repeated k),
        written by the matmul straight into the result, then scaled, masked and (pattern)
        softmaxed in place in float32 — the model's own order of operations: (q @ k.T) *
        attn_scale, -inf above the diagonal, softmax over the keys. No temporaries of the
        layer's size. The heads are shared out over the CPU cores (numpy releases the GIL;
        BLAS itself stays on one thread, which does not spin when the other cores are busy)."""
        q, k = np.asarray(self.q[i]), np.asarray(self.k_kv[i])
        H, P, d = q.shape
        group, B = H // k.shape[0], self.ATTN_BLOCK
        scale = np.float32(self.info["layers"][i]["attn_scale"])
        if np.frexp(scale)[0] == 0.5:           # a power of two: (q·s)·k is (q·k)·s bit for bit
            q, scale = q * scale, None
        kT = k.transpose(0, 2, 1)                                   # [kv_head, d_head, pos]
        hide = np.triu(np.ones((B, B), bool), 1)
        out = _empty_small_pages((H, P, P))

        def head(h: int) -> None:
            qh, kh, oh = q[h], kT[h // group], out[h]
            for r0 in range(0, P, B):
                r1 = min(r0 + B, P)
                s = oh[r0:r1, :r1]
                np.matmul(qh[r0:r1], kh[:, :r1], out=s)
                if scale is not None:
                    s *= scale
                np.copyto(s[:, r0:], -np.inf, where=hide[:r1 - r0, :r1 - r0])
                if pattern:
                    softmax(s, dtype=np.float32, out=s)
                oh[r0:r1, r1:] = 0 if pattern else -np.inf

        with _one_blas_thread(), ThreadPoolExecutor(min(H, os.cpu_count() or 1)) as pool:
            list(pool.map(head, range(H)))
        return out

    @cached_property
    def z(self) -> PerLayer:
        """[layer, head, pos, d_head]: pattern @ v per head, with the run's head ablations
        (the output projection's input)."""
        L, H, P, d = self.q.shape
        return PerLayer(L, (H, P, d), np.float32, self._z)

    def _z(self, i: int) -> np.ndarray:
        from . import ablation

        pattern, v = self.pattern[i], np.asarray(self.v_kv[i])
        H, P, _ = pattern.shape
        n_kv, _, d = v.shape
        with _one_blas_thread():
            z = np.matmul(pattern.reshape(n_kv, H // n_kv, P, P), v[:, None]).reshape(H, P, d)
        flat = z.transpose(1, 0, 2).reshape(P, H * d)                # as o_proj reads it
        changed = ablation.apply(ablation.from_info(self.info), "z", i, flat, d)
        return z if changed is flat else changed.reshape(P, H, d).transpose(1, 0, 2)

    @cached_property
    def head_out(self) -> PerLayer:
        """[layer, head, pos, d_model]: z @ W_O per head (b_O is added once, in attn_out)."""
        L, H, P, _ = self.z.shape
        return PerLayer(L, (H, P, self.info["d_model"]), np.float32,
                        lambda i: np.einsum("hpd,hdm->hpm", self.z[i], self.weights.get("W_O", i)))

    # ------------------------------------------------------------------ small conveniences
    def _repr_html_(self) -> str:
        """Jupyter's view: tokens, shapes, top predictions (:func:`tensors.display.trace_html`)."""
        from .display import trace_html
        return trace_html(self)

    @property
    def n_pos(self) -> int:
        return len(self.tokens)

    def probs(self, pos: int = -1, temperature: float = 1.0) -> np.ndarray:
        """Next-token distribution at ``pos``: softmax(logits[pos] / T), [vocab] float64."""
        return softmax(self.logits[pos], temperature)

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
        return getattr(self.weights, name)[rows]

    def block(self, name: str, layer: int, head: int | None = None,
              rows: slice = slice(None), cols: slice = slice(None)) -> np.ndarray:
        """A block of a per-layer weight (names and shapes in :mod:`tensors.weights`).

        ``block("W_Q", 3, 5, slice(0, 8), slice(0, 6))`` -> W_Q[3, 5, 0:8, 0:6];
        ``block("b_Q", 3, 5)`` -> b_Q[3, 5] [d_head]; ``block("W_in", 2)`` -> [d_model, d_mlp];
        ``block("ln1.w", 0)`` -> [d_model]. W_K/W_V/b_K/b_V use the kv head the query head reads.
        ``rows``/``cols`` apply to the dimensions after layer (and head), as many as there are.
        """
        self.check_layer_head(layer, head)
        if name in ("W_K", "W_V", "b_K", "b_V") and head is not None:
            head = self.kv_head_of(head)
        idx = (layer,) if head is None else (layer, head)
        ndim = len(self.weights.shape(name)) - len(idx)
        return self.weights.get(name, idx + (rows, cols)[:ndim])

    # ------------------------------------------------------------------ MLP weights
    def W_in(self, layer: int, neurons: Sequence[int] | slice | None = None) -> np.ndarray:
        """Input directions of MLP neurons (columns of W_in): [d_model, len(neurons)]
        (all d_mlp when None); ``mlp_pre[layer] = mlp_in[layer] @ W_in(layer) + b_in``."""
        return self._mlp_cols("W_in", layer, neurons)

    def W_gate(self, layer: int, neurons: Sequence[int] | slice | None = None) -> np.ndarray:
        """Gate directions (columns of W_gate), [d_model, len(neurons)]; gated MLPs only."""
        if self.mlp_gate is None:
            raise UserError(f"{self.info.get('name', 'this model')} has no gated MLP (its MLP is "
                            f"{self.info['mlp']}); use W_in")
        return self._mlp_cols("W_gate", layer, neurons)

    def W_out(self, layer: int, neurons: Sequence[int] | slice | None = None) -> np.ndarray:
        """Output directions of MLP neurons (rows of W_out): [len(neurons), d_model];
        neuron n adds ``mlp_act[layer, pos, n] * W_out(layer)[n]`` to the residual stream."""
        self.check_layer_head(layer)
        if neurons is None or isinstance(neurons, slice):
            return self.weights.get("W_out", (layer, neurons or slice(None), slice(None)))
        return self.weights.get("W_out", layer)[np.asarray(neurons, dtype=np.int64)]

    def _mlp_cols(self, name: str, layer: int, neurons: Any) -> np.ndarray:
        self.check_layer_head(layer)
        if neurons is None or isinstance(neurons, slice):
            return self.weights.get(name, (layer, slice(None), neurons or slice(None)))
        return self.weights.get(name, layer)[:, np.asarray(neurons, dtype=np.int64)]

    # ------------------------------------------------------------------ norms, lens, counts
    def apply_norm(self, x: np.ndarray, which: str = "final", layer: int | None = None) -> np.ndarray:
        """The model's norm ``which`` ("ln1", "ln2" of ``layer``, or "final") applied to
        x [..., d_model] -> [..., d_model], with its real type, eps, gain and bias (numpy, fp32).

        RMSNorm: x / sqrt(mean(x²) + eps) * w;  LayerNorm: (x - μ) / sqrt(σ² + eps) * w + b.
        """
        if which == "final":
            facts, w, b = self.info["final_norm"], self.weights.get("ln_f.w"), None
            if facts["bias"]:
                b = self.weights.get("ln_f.b")
        elif which in ("ln1", "ln2"):
            self.check_layer_head(layer)
            facts = self.info["layers"][layer]["norm1" if which == "ln1" else "norm2"]
            w, b = self.block(f"{which}.w", layer), self.block(f"{which}.b", layer)
        else:
            raise ValueError(f"which must be 'ln1', 'ln2' or 'final', not {which!r}")
        x = np.asarray(x, dtype=np.float32)
        if facts["type"] == "LayerNorm":
            x = x - x.mean(-1, keepdims=True)
        x = x / np.sqrt((x * x).mean(-1, keepdims=True) + np.float32(facts["eps"]))
        x = x * w
        return x + b if b is not None else x

    def norm_stats(self, x: np.ndarray, which: str = "final", layer: int | None = None) -> dict[str, Any]:
        """The statistics the norm ``which`` computes for one vector x [d_model]:
        ``type``, ``eps``, ``mean`` (subtracted by LayerNorm only), ``std`` (LayerNorm:
        sqrt(var)), ``rms`` (sqrt(mean(x²))), and ``scale`` = the factor it really multiplies
        by: 1 / sqrt(var + eps) (LayerNorm) or 1 / sqrt(mean(x²) + eps) (RMSNorm), so that
        ``apply_norm(x) = (x - mean·[LayerNorm]) * scale * w (+ b)``."""
        facts = self.info["final_norm"] if which == "final" else \
            self.info["layers"][layer]["norm1" if which == "ln1" else "norm2"]
        x = np.asarray(x, dtype=np.float64)
        mean, var, ms = float(x.mean()), float(x.var()), float((x * x).mean())
        layer_norm = facts["type"] == "LayerNorm"
        return {"type": facts["type"], "eps": facts["eps"], "mean": mean,
                "std": var ** 0.5, "rms": ms ** 0.5,
                "scale": 1.0 / ((var if layer_norm else ms) + facts["eps"]) ** 0.5}

    def lens_logits(self, layer: int) -> np.ndarray:
        """The logit lens: the final norm and unembedding applied to ``resid[layer]``.

        layer: 0..n_layer (0 = before block 0; n_layer = after the last block, which gives
        the model's own ``logits``) -> [pos, vocab] float32.
        """
        n = self.info["n_layer"]
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not -n - 1 <= layer <= n:
            raise UserError(f"lens layer {layer!r} is out of range; use 0..{n} (0 = the embedding, "
                            f"{n} = after the last block)")
        return self.apply_norm(self.resid[layer]) @ self.weights.W_U.T

    def param_counts(self, layer: int | None = None) -> dict[str, int]:
        """Parameters per component, counted from the model's tensors at capture time.

        layer None: ``{"embed", "pos_embed" (learned positions only), "ln1", "attn", "ln2",
        "mlp" (summed over layers), "ln_final", "unembed" (0 when tied to W_E)}``; the values
        sum to ``info["n_params"]`` (= sum(p.numel()) of the model, a tied matrix once).
        layer i: ``{"ln1", "attn", "ln2", "mlp"}`` of block i.
        """
        pc = self.info["param_counts"]
        per_layer = ("ln1", "attn", "ln2", "mlp")
        if layer is not None:
            self.check_layer_head(layer)
            return {k: int(pc[k][layer]) for k in per_layer}
        return {k: int(sum(v)) if k in per_layer else int(v) for k, v in pc.items()}

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
        """Logits the unembedding gives any vector: vec [d_model] -> ``vec @ W_U.T`` [vocab]
        (no final norm; W_U is stored tokens-as-rows, see :mod:`tensors.weights`)."""
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


_BLAS: list[Any] = []


def _empty_small_pages(shape: tuple[int, ...]) -> np.ndarray:
    """``np.empty(shape, float32)`` without transparent huge pages. numpy asks the kernel for
    huge pages for large arrays; faulting in a fresh layer's pattern (9 × 1024² floats, 38 MB)
    as huge pages made it 100–160 ms instead of 40–70 ms whenever the kernel had to compact
    memory for them (measured on this machine, one layer of a 1,100-token trace, 4 runs each:
    with huge pages 41–181 ms, without 53–73 ms)."""
    from numpy._core.multiarray import _set_madvise_hugepage

    before = _set_madvise_hugepage(False)
    try:
        return np.empty(shape, np.float32)
    finally:
        _set_madvise_hugepage(before)


def _one_blas_thread() -> Any:
    """A context in which numpy's BLAS runs on one thread: a layer's attention is many
    small matmuls, which several BLAS threads slow down several-fold whenever the machine's
    other cores are busy (measured on 2 shared cores: 30 ms on one thread, 80–500 ms on two)."""
    if not _BLAS:
        from threadpoolctl import ThreadpoolController

        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")
