"""The Trace: every quantity a scene shows, from one real forward pass, cached on disk.

>>> from tensors import trace
>>> t = trace("The capital of France is", model="smollm2")    # doctest: +SKIP
>>> t.tokens                                                  # doctest: +SKIP
['The', ' capital', ' of', ' France', ' is']
>>> t.top_next(3)                                             # doctest: +SKIP
[(' Paris', 0.77...), (' the', 0.06...), (' London', 0.01...)]

Cache: one safetensors file per (model key, weights fingerprint, prompt, capture version)
under ``<home>/traces/``; the JSON metadata (tokens, info) lives in the safetensors header,
together with a blake2b digest of the tensor bytes. Writes are atomic (temp file +
``os.replace``). A file that fails to parse, has another capture version or a wrong digest is
reported in one line and recomputed. No pickle anywhere.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import time
from functools import cached_property
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import ablation, models
from .ablation import Ablation
from .lazy import PerLayer
from .errors import UserError, note
from .sampling import softmax
from .weights import Weights, save_weights, weights_path

#: Bump when what is captured (or how) changes: old cache entries are then recomputed.
CAPTURE_VERSION = 4
#: What a Trace stores (and the cache holds); k, v (per query head), resid_mid, scores,
#: pattern and head_out are derived from these on access.
ARRAY_FIELDS = ("token_ids", "embed", "pos_embed", "resid", "attn_in", "q", "k_kv", "v_kv", "z",
                "attn_out", "mlp_in", "mlp_pre", "mlp_gate", "mlp_act", "mlp_out", "final",
                "logits")
#: Arrays a model may not have (learned positions; a gated MLP).
OPTIONAL_FIELDS = ("pos_embed", "mlp_gate")


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
      (what q, k, v read)
    - ``q``, ``k``, ``v``: [layer, head, pos, d_head] — q and k exactly as they enter the
      dot product (after the rotary rotation for RoPE); for grouped-query models k and v
      are expanded to the query heads: head h reads kv head ``h // (n_head // n_kv_head)``
      (stored once per key/value head: ``k_kv``, ``v_kv`` [layer, kv_head, pos, d_head])
    - ``z``: [layer, head, pos, d_head] — each head's weighted sum of values (pattern @ v),
      as the output projection received it (after any ablation)
    - ``scores``: [layer, head, query_pos, key_pos] — q·k * that layer's attn_scale,
      masked cells = -inf
    - ``pattern``: [layer, head, query_pos, key_pos] — softmax of scores over key_pos
    - ``head_out``: [layer, head, pos, d_model] — each head's write into the residual stream
      (z @ W_O, without the output bias ``b_O``, which is added once per layer)

      These three are derived per layer on access from q, k, z and W_O (each a
      :class:`tensors.lazy.PerLayer`: ``t.pattern[layer]`` computes that layer only,
      ``np.asarray(t.pattern)`` all of them), so memory grows with one layer, not all.
    - ``attn_out``: [layer, pos, d_model] — the attention block's output = sum of heads + b_O
    - ``resid_mid``: [layer, pos, d_model] — ``resid[layer] + attn_out[layer]`` (between
      attention and MLP)
    - ``mlp_in``: [layer, pos, d_model] — the block's second norm applied to ``resid_mid``
    - ``mlp_pre``: [layer, pos, d_mlp] — ``mlp_in @ W_in + b_in`` (GPT-2: c_fc, before
      GELU; Llama: up_proj)
    - ``mlp_gate``: [layer, pos, d_mlp] — Llama: ``mlp_in @ W_gate`` (gate_proj, before SiLU);
      None for a model without a gated MLP
    - ``mlp_act``: [layer, pos, d_mlp] — the down projection's input: GELU(mlp_pre) or
      SiLU(mlp_gate) * mlp_pre (one value per neuron)
    - ``mlp_out``: [layer, pos, d_model] — ``mlp_act @ W_out + b_out``; ``resid[layer+1] =
      resid_mid + mlp_out``
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
    attn_in: np.ndarray
    q: np.ndarray
    k_kv: np.ndarray
    v_kv: np.ndarray
    z: np.ndarray
    attn_out: np.ndarray
    mlp_in: np.ndarray
    mlp_pre: np.ndarray
    mlp_gate: np.ndarray | None
    mlp_act: np.ndarray
    mlp_out: np.ndarray
    final: np.ndarray
    logits: np.ndarray
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

    @cached_property
    def resid_mid(self) -> np.ndarray:
        """[layer, pos, d_model]: resid[layer] + attn_out[layer] — the same fp32 addition the
        model does, so the same bits as the second norm's input."""
        return self.resid[:-1] + self.attn_out

    @cached_property
    def scores(self) -> PerLayer:
        """[layer, head, query_pos, key_pos]: q·k times the layer's attn_scale; -inf where
        the causal mask hides the key."""
        L, H, P, _ = self.q.shape
        mask = np.triu(np.ones((P, P), dtype=bool), 1)

        def layer(i: int) -> np.ndarray:
            s = (self.q[i] @ self.k[i].transpose(0, 2, 1)) * np.float32(self.info["layers"][i]["attn_scale"])
            s[:, mask] = -np.inf
            return s
        return PerLayer(L, (H, P, P), np.float32, layer)

    @cached_property
    def pattern(self) -> PerLayer:
        """[layer, head, query_pos, key_pos]: softmax of the scores over key_pos (rows sum to 1)."""
        L, H, P, _ = self.q.shape
        return PerLayer(L, (H, P, P), np.float32, lambda i: softmax(self.scores[i]))

    @cached_property
    def head_out(self) -> PerLayer:
        """[layer, head, pos, d_model]: z @ W_O per head (b_O is added once, in attn_out)."""
        L, H, P, _ = self.z.shape
        return PerLayer(L, (H, P, self.info["d_model"]), np.float32,
                        lambda i: np.einsum("hpd,hdm->hpm", self.z[i], self.weights.get("W_O", i)))

    # ------------------------------------------------------------------ small conveniences
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
            p = weights_path(models.home(), self.info["fingerprint"])
            if not p.exists():  # written at capture time; recreate if it was deleted
                ref = models.resolve(self.info["model_path"], quiet=True)
                model, _, _ = models.load(ref, self.info["device"])
                _ensure_weights(model, ref, self.info["fingerprint"])
            self._weights = Weights(p)
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
        ndim = len(self.weights._f.get_slice(self._stored(name)).get_shape()) - len(idx)
        return self.weights.get(name, idx + (rows, cols)[:ndim])

    def _stored(self, name: str) -> str:
        return "W_E" if name == "W_U" and self.weights.tied else name

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


# ====================================================================== cache
def cache_dir() -> Path:
    """``$GPT_SCENES_CACHE`` or ``<home>/traces``; falls back to a temp dir if not writable."""
    d = Path(os.environ.get("GPT_SCENES_CACHE") or models.home() / "traces").expanduser()
    try:
        d.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=d):
            pass
        return d
    except OSError:
        fallback = Path(tempfile.gettempdir()) / "gpt-scenes-traces"
        fallback.mkdir(parents=True, exist_ok=True)
        note(f"cache directory {d} is not writable; using {fallback} (set GPT_SCENES_CACHE to choose)")
        return fallback


def cache_key(model_key: str, fingerprint: str, prompt: str) -> str:
    blob = json.dumps([model_key, fingerprint, prompt, CAPTURE_VERSION], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.blake2b(digest_size=16)
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode() + str(a.shape).encode() + str(a.dtype).encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def save_trace(t: Trace, path: Path) -> None:
    """Atomic write: the temp file is renamed into place only when complete."""
    from safetensors.numpy import save_file

    arrays = {f: np.ascontiguousarray(getattr(t, f)) for f in ARRAY_FIELDS if getattr(t, f) is not None}
    meta = {"prompt": t.prompt, "tokens": t.tokens, "info": t.info,
            "capture_version": CAPTURE_VERSION, "digest": _digest(arrays)}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        save_file(arrays, tmp, metadata={"meta": json.dumps(meta, ensure_ascii=False)})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_trace(path: Path) -> Trace:
    """Load a cached trace; raises ValueError (with a reason) when the entry is unusable."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = json.loads(f.metadata()["meta"])
            arrays = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:
        raise ValueError(f"unreadable ({type(e).__name__})") from None
    if meta.get("capture_version") != CAPTURE_VERSION:
        raise ValueError(f"capture version {meta.get('capture_version')} != {CAPTURE_VERSION}")
    if _digest(arrays) != meta.get("digest"):
        raise ValueError("content digest mismatch")
    missing = [f for f in ARRAY_FIELDS if f not in OPTIONAL_FIELDS and f not in arrays]
    if missing:
        raise ValueError(f"missing arrays {missing}")
    fields = {f: arrays.get(f) for f in ARRAY_FIELDS}
    return Trace(prompt=meta["prompt"], tokens=meta["tokens"], info=meta["info"],
                 cache_path=path, from_cache=True, **fields)


# ====================================================================== the entry point
def trace(prompt: str, model: str | os.PathLike | None = "auto", *, device: str | None = None,
          use_cache: bool = True, quiet: bool = False,
          ablate: Ablation | Sequence[Ablation] | None = None) -> Trace:
    """Run ``prompt`` through ``model`` (see :func:`tensors.models.resolve`) and capture a Trace.

    A second call with the same model, weights and prompt loads from the cache without
    loading the model. ``device``: None picks cuda > mps > cpu. ``ablate``: run with
    neurons, heads or whole blocks knocked out (:class:`tensors.ablation.Ablation`); the
    Trace is then that of the changed run, cached under its own key, and
    ``info["ablations"]`` lists what was changed (``[]`` for a plain run).

    >>> t = trace("The Colosseum is in the city of", "smollm2",
    ...           ablate=[Ablation("mlp", layer=3)])              # doctest: +SKIP
    """
    if not isinstance(prompt, str) or not prompt.strip():
        raise UserError("the prompt is empty; pass some text, e.g. --prompt 'The capital of France is'")
    ablations = ablation.normalise(ablate)
    ref = models.resolve(model, quiet=quiet)
    fp = models.fingerprint(ref.path)
    suffix = f"-ablate-{ablation.key_of(ablations)}" if ablations else ""
    path = cache_dir() / f"{cache_key(ref.key, fp, prompt)}{suffix}.safetensors" if use_cache else None
    if path is not None and path.exists():
        try:
            return load_trace(path)
        except ValueError as e:
            note(f"cache entry {path.name} is stale or corrupt ({e}); recomputing")
    t0 = time.perf_counter()
    mdl, tok, dev = models.load(ref, device)
    from .capture import encode, model_info, readable_tokens, run_capture

    info = model_info(mdl, ref.family)
    edit = None
    if ablations:
        n_pos = len(encode(tok, prompt, info["n_ctx"]))
        ablation.check(ablations, info, n_pos, ref.name)
        edit = ablation.make_edit(ablations, info["d_head"])
    arrays, ids = run_capture(mdl, tok, ref.family, prompt, dev, edit)
    info.update(name=ref.name, model_key=ref.key, model_path=str(ref.path), fingerprint=fp,
                device=dev, bundled=ref.bundled, quantization=_quantization(ref),
                ablations=[a.to_json() for a in ablations])
    t = Trace(prompt=prompt, tokens=readable_tokens(tok, ids), info=info,
              **{f: arrays.get(f) for f in ARRAY_FIELDS})
    _ensure_weights(mdl, ref, fp)
    if path is not None:
        try:
            save_trace(t, path)
            t.cache_path = path
        except OSError as e:
            note(f"could not write the trace cache ({e.strerror}); continuing without it")
    if not quiet:
        note(f"captured {t.n_pos} tokens on {dev} in {time.perf_counter() - t0:.2f} s")
    return t


def _quantization(ref: models.ModelRef) -> str | None:
    """How the weights were stored before we loaded them, when not plain floats:
    the model folder's ``config.json`` key ``gpt_scenes_quantization`` (written at fetch
    time), else, for the bundled model, its GGUF file's quantisation type; None otherwise."""
    try:
        cfg = json.loads((ref.path / "config.json").read_text())
    except (OSError, ValueError):
        cfg = {}
    if cfg.get("gpt_scenes_quantization"):
        return str(cfg["gpt_scenes_quantization"])
    if ref.bundled:  # e.g. "SmolLM2-135M-Instruct.Q4_1.gguf" -> "Q4_1"
        qtype = Path(models.BUNDLED["gguf_member"]).suffixes[-2].lstrip(".")
        return f"{qtype} GGUF (4-bit), dequantised to fp32" if qtype.startswith("Q4") else \
            f"{qtype} GGUF, dequantised to fp32"
    qc = cfg.get("quantization_config")
    return str(qc.get("quant_method", "quantized")) if isinstance(qc, dict) else None


def _ensure_weights(model: Any, ref: models.ModelRef, fp: str) -> None:
    p = weights_path(models.home(), fp)
    if p.exists():
        return
    from .weights import extract_weights

    try:
        arrays, zero_filled = extract_weights(model, ref.family)
        save_weights(p, arrays, {"model_key": ref.key, "family": ref.family,
                                 "zero_filled": zero_filled})
    except OSError as e:
        note(f"could not write the weights cache {p} ({e.strerror})")
