"""Pure-numpy analysis for the MLP scene: the MLP's activation functions, direct logit
attribution (DLA) per layer and per neuron, and the choices the scene makes from them.

**How the final norm is handled (frozen scale).** The answer's logit at position ``pos`` is
``norm_f(x) · u`` with ``x = resid[n_layer, pos]`` and ``u = W_U[answer]``. The residual
stream is a sum of writes: ``x = resid[0] + Σ_l attn_out[l] + Σ_l mlp_out[l]``. With the
final norm's divisor frozen at its real value for this position,
``s = 1 / sqrt(mean(x²) + ε)`` (RMSNorm) or ``s = 1 / sqrt(var(x) + ε)`` (LayerNorm), the
norm is linear in x, so the logit splits exactly into one term per write::

    RMSNorm:   logit = Σ_c  (s · c ⊙ g) · u
    LayerNorm: logit = Σ_c  (s · (c − mean(c)) ⊙ g) · u  +  b · u

(``g``/``b`` the final norm's gain/bias). A write's *direct* contribution leaves out what it
does through later layers (which read it); the scene says so.

>>> import numpy as np
>>> float(activation(np.array(0.0), "silu")), round(float(activation(np.array(1.0), "gelu")), 4)
(0.0, 0.8413)
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import numpy as np

from tensors import UserError

_SQRT_2_PI = math.sqrt(2.0 / math.pi)


def _gelu_erf(x: np.ndarray) -> np.ndarray:
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


#: activation name (as :func:`tensors.families.act_name` reads it from the model) -> numpy f
ACTIVATIONS = {
    "gelu_new": lambda x: 0.5 * x * (1.0 + np.tanh(_SQRT_2_PI * (x + 0.044715 * x ** 3))),
    "gelu": _gelu_erf,
    "gelu_fast": lambda x: 0.5 * x * (1.0 + np.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x))),
    "gelu_quick": lambda x: x / (1.0 + np.exp(-1.702 * x)),
    "silu": lambda x: x / (1.0 + np.exp(-x)),
    "relu": lambda x: np.maximum(x, 0.0),
}

#: how each activation is written on screen
ACT_TEX = {"gelu_new": "GELU", "gelu": "GELU", "gelu_fast": "GELU", "gelu_quick": "GELU",
           "silu": "SiLU", "relu": "ReLU"}


def activation(x: Any, name: str, up: Any = None) -> np.ndarray:
    """The model's nonlinearity ``name`` applied to ``x`` (float64); gated MLPs multiply by the
    up projection: ``act(gate) * up``. Unknown names raise a one-line UserError."""
    if name not in ACTIVATIONS:
        raise UserError(f"the MLP activation {name!r} is not drawn by this scene; known: "
                        f"{', '.join(sorted(ACTIVATIONS))}")
    y = ACTIVATIONS[name](np.asarray(x, np.float64))
    return y if up is None else y * np.asarray(up, np.float64)


# ====================================================================== direct logit attribution
@dataclasses.dataclass
class Attribution:
    """Direct contributions to one token's logit at one position (see module docstring).

    ``embed``: the input stream's (resid[0]); ``attn``/``mlp``: [n_layer]; ``bias``: the final
    norm's bias term (0 for RMSNorm); ``logit``: the model's real logit;
    ``direction``: the vector d with ``contribution(c) = centred(c) · d`` (d = s·g⊙u)."""

    token_id: int
    pos: int
    embed: float
    attn: np.ndarray
    mlp: np.ndarray
    bias: float
    logit: float
    scale: float
    direction: np.ndarray
    centred: bool

    def terms(self) -> np.ndarray:
        """Every term of the exact sum, in order: embed, attn[0], mlp[0], attn[1], … , bias."""
        inter = np.stack([self.attn, self.mlp], axis=1).reshape(-1)
        return np.concatenate([[self.embed], inter, [self.bias]])

    def contribution(self, c: np.ndarray) -> np.ndarray:
        """Direct contribution of write(s) c [..., d_model] (same frozen scale)."""
        c = np.asarray(c, np.float64)
        if self.centred:
            c = c - c.mean(-1, keepdims=True)
        return c @ self.direction


def attribute(t: Any, token_id: int, pos: int = -1) -> Attribution:
    """Direct logit attribution of ``token_id`` at ``pos`` for Trace ``t`` (frozen final-norm
    scale). ``terms().sum()`` equals ``t.logits[pos, token_id]`` up to fp32 rounding."""
    facts = t.info["final_norm"]
    x = np.asarray(t.resid[-1, pos], np.float64)
    g = np.asarray(t.weights.get("ln_f.w"), np.float64)
    u = np.asarray(t.W_U([token_id])[0], np.float64)
    centred = facts["type"] == "LayerNorm"
    xc = x - x.mean() if centred else x
    scale = 1.0 / math.sqrt(float((xc * xc).mean()) + facts["eps"])
    d = scale * g * u
    bias = float(np.asarray(t.weights.get("ln_f.b"), np.float64) @ u) if facts["bias"] else 0.0
    a = Attribution(int(token_id), pos, 0.0, np.zeros(0), np.zeros(0), bias,
                    float(t.logits[pos, token_id]), scale, d, centred)
    a.embed = float(a.contribution(t.resid[0, pos]))
    a.attn = a.contribution(t.attn_out[:, pos])
    a.mlp = a.contribution(t.mlp_out[:, pos])
    return a


def neuron_contributions(t: Any, attr: Attribution, layer: int) -> tuple[np.ndarray, float]:
    """Each neuron's direct contribution to the attributed logit: ``act_n · (W_out[n] · d)``
    [d_mlp], and the output bias's (``b_out · d``; 0 when the model has none). Their sum is
    ``attr.mlp[layer]``."""
    W = np.asarray(t.W_out(layer), np.float64)                    # [d_mlp, d_model]
    per_row = attr.contribution(W)                                # [d_mlp]
    act = np.asarray(t.mlp_act[layer, attr.pos], np.float64)
    b = float(attr.contribution(t.weights.get("b_out", layer))) if t.weights.is_real("b_out") else 0.0
    return act * per_row, b


def top_neurons(contrib: np.ndarray, k: int) -> list[int]:
    """The k neurons that push the logit up the most, largest first (ties: lower index)."""
    order = np.argsort(-np.asarray(contrib), kind="stable")
    return [int(i) for i in order[:k]]


# ====================================================================== the scene's choices
def resolve_answer(t: Any, answer: str, pos: int = -1) -> int:
    """The answer token id: "auto" = the model's most likely next token at ``pos``;
    otherwise ``answer`` must be exactly one token of this model's vocabulary."""
    if not isinstance(answer, str) or not answer:
        raise UserError(f"answer {answer!r} must be a token string such as ' Rome', or 'auto'")
    if answer == "auto":
        return int(np.argmax(t.logits[pos]))
    ids = t.encode(answer)
    if len(ids) != 1:
        pieces = " + ".join(repr(s) for s in t.token_strs(ids))
        hint = f"; try {(' ' + answer)!r}" if not answer.startswith(" ") and \
            len(t.encode(" " + answer)) == 1 else ""
        raise UserError(f"answer {answer!r} is {len(ids)} tokens for {t.info['name']} "
                        f"({pieces}); it must be one token{hint}, or 'auto'")
    return int(ids[0])


def resolve_layer(t: Any, layer: int | None, attr: Attribution) -> int:
    """None = the layer whose MLP adds the most to the answer's logit directly; else a
    valid layer index (negative counts from the end)."""
    n = t.info["n_layer"]
    if layer is None:
        return int(np.argmax(attr.mlp))
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not -n <= layer < n:
        raise UserError(f"layer {layer!r} is out of range; {t.info['name']} has {n} layers, "
                        f"so use 0..{n - 1} (or leave it unset for the strongest MLP)")
    return int(layer) % n


def problem_of(check: Callable[[], Any], knob: str, value: Any) -> str | None:
    """What ``check()``'s UserError says about ``knob`` = ``value``, without repeating the
    knob and value at its start (the course check names them), or None when it passes.

    >>> problem_of(lambda: check_count(9, 4), "n_neurons", 9)
    ': choose 1 to 4 neurons'
    """
    try:
        check()
    except UserError as e:
        msg = str(e)
        for prefix in (f"{knob} {value!r} ", f"{knob} = {value!r}"):
            if msg.startswith(prefix):
                return msg[len(prefix):].strip()
        return msg
    return None


def check_count(n_neurons: Any, d_mlp: int, most: int = 6) -> int:
    if isinstance(n_neurons, bool) or not isinstance(n_neurons, int) or \
            not 1 <= n_neurons <= min(most, d_mlp):
        raise UserError(f"n_neurons = {n_neurons!r}: choose 1 to {min(most, d_mlp)} neurons")
    return n_neurons


def mlp_param_parts(t: Any, layer: int) -> dict[str, int]:
    """Sizes of the MLP's real tensors in ``layer`` (read from the weights file's shapes):
    ``{"W_in": …, "W_gate": …, "W_out": …, "b_in": …}`` — only tensors the model has."""
    w = t.weights
    out = {}
    for name in ("W_in", "W_gate", "W_out", "b_in", "b_gate", "b_out"):
        if name in w.names and w.is_real(name):
            shape = w.shape(name)[1:]
            out[name] = int(np.prod(shape))
    return out


__all__ = ["ACTIVATIONS", "ACT_TEX", "activation", "Attribution", "attribute",
           "neuron_contributions", "top_neurons", "resolve_answer", "resolve_layer",
           "check_count", "mlp_param_parts"]
