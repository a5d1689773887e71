"""Interventions: the same prompt run with part of the model knocked out.

An :class:`Ablation` names what to change; :func:`tensors.trace` with ``ablate=[...]`` runs
the prompt with the change applied by forward hooks and returns the Trace of the changed
run (cached under its own key; ``info["ablations"]`` says what was changed).

>>> Ablation("neurons", layer=5, index=(12, 40))
Ablation(target='neurons', layer=5, index=(12, 40), pos=None, kind='zero')
>>> Ablation("heads", layer=0, index=[7], kind="mean").describe()
'mean-ablate head 7 of layer 0 at every position'

What each target changes (``pos`` = the positions changed; None = all of them):

- ``"neurons"``: MLP neurons ``index`` of ``layer``: their activation (the down projection's
  input, ``mlp_act``) is set to 0, or to its mean over this prompt's positions;
- ``"mlp"``: the whole MLP output of ``layer`` (``mlp_out``, bias included);
- ``"attn"``: the whole attention output of ``layer`` (``attn_out``, b_O included);
- ``"heads"``: heads ``index`` of ``layer``: their weighted values z (the output projection's
  input) are set to 0 or to their mean, so the head writes nothing (or its mean write); b_O
  stays.

"mean" is the mean over the positions of this same prompt, taken from the run itself
before the change (no data set is involved; a scene saying "mean-ablated" should say so).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any, Sequence

from .errors import UserError

#: target -> (the capture site it changes, what ``index`` counts)
TARGETS = {"neurons": ("mlp_act", "neuron"), "heads": ("z", "head"),
           "mlp": ("mlp_out", None), "attn": ("attn_out", None)}
KINDS = ("zero", "mean")


def _ints(name: str, v: Any) -> tuple[int, ...]:
    vals = (v,) if isinstance(v, int) and not isinstance(v, bool) else tuple(v)
    if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in vals):
        raise UserError(f"ablation {name} {v!r} must be whole numbers ≥ 0, e.g. (3, 17)")
    return tuple(sorted(set(vals)))


@dataclasses.dataclass(frozen=True)
class Ablation:
    """What to knock out: ``target`` ("neurons", "heads", "mlp", "attn") of ``layer``;
    ``index``: neuron or head numbers (for "neurons"/"heads"); ``pos``: positions (None =
    all); ``kind``: "zero" or "mean". Lists are stored as sorted tuples."""

    target: str
    layer: int
    index: tuple[int, ...] = ()
    pos: tuple[int, ...] | None = None
    kind: str = "zero"

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise UserError(f"ablation target {self.target!r} is not one of {', '.join(TARGETS)}; "
                            "e.g. Ablation('neurons', layer=5, index=(12,))")
        if self.kind not in KINDS:
            raise UserError(f"ablation kind {self.kind!r} must be 'zero' or 'mean'")
        if isinstance(self.layer, bool) or not isinstance(self.layer, int) or self.layer < 0:
            raise UserError(f"ablation layer {self.layer!r} must be a whole number ≥ 0")
        object.__setattr__(self, "index", _ints("index", self.index))
        unit = TARGETS[self.target][1]
        if unit and not self.index:
            raise UserError(f"ablating {self.target} needs index=(…), the {unit} numbers")
        if not unit and self.index:
            raise UserError(f"ablating the whole {self.target} block takes no index (got {self.index})")
        if self.pos is not None:
            object.__setattr__(self, "pos", _ints("pos", self.pos))
            if not self.pos:
                raise UserError("ablation pos is empty; pass positions or None for all")

    def describe(self) -> str:
        """One line for a caption: 'zero-ablate neurons 12, 40 of layer 5 at every position'."""
        what = {"mlp": "the MLP", "attn": "the attention block"}.get(self.target)
        if what is None:
            unit = TARGETS[self.target][1]
            what = f"{unit}{'s' if len(self.index) > 1 else ''} " + ", ".join(map(str, self.index))
        where = "every position" if self.pos is None else \
            f"position{'s' if len(self.pos) > 1 else ''} " + ", ".join(map(str, self.pos))
        return f"{self.kind}-ablate {what} of layer {self.layer} at {where}"

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "index": list(self.index),
                "pos": None if self.pos is None else list(self.pos), "text": self.describe()}


def normalise(ablate: Any) -> tuple[Ablation, ...]:
    """``ablate`` (None, one Ablation, or a sequence of them) as a tuple; UserError otherwise."""
    if ablate is None:
        return ()
    items = (ablate,) if isinstance(ablate, Ablation) else tuple(ablate)
    bad = [a for a in items if not isinstance(a, Ablation)]
    if bad:
        raise UserError(f"ablate must be Ablation(...) specs, got {bad[0]!r}; e.g. "
                        "ablate=[Ablation('neurons', layer=5, index=(12,))]")
    return tuple(dict.fromkeys(items))


def key_of(ablations: Sequence[Ablation]) -> str:
    """A short stable hash of the specs, for the cache file name ('' for none)."""
    if not ablations:
        return ""
    blob = json.dumps([a.to_json() for a in ablations], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def check(ablations: Sequence[Ablation], dims: dict[str, int], n_pos: int, name: str = "the model") -> None:
    """One-line UserError when a layer, neuron, head or position does not exist."""
    for a in ablations:
        if a.layer >= dims["n_layer"]:
            raise UserError(f"ablation layer {a.layer} is out of range; {name} has "
                            f"{dims['n_layer']} layers, so use 0..{dims['n_layer'] - 1}")
        unit = TARGETS[a.target][1]
        if unit:
            n = dims["d_mlp"] if unit == "neuron" else dims["n_head"]
            if max(a.index) >= n:
                raise UserError(f"ablation {unit} {max(a.index)} is out of range; layer {a.layer} "
                                f"has {n} {unit}s, so use 0..{n - 1}")
        if a.pos is not None and max(a.pos) >= n_pos:
            raise UserError(f"ablation position {max(a.pos)} is out of range; the prompt has "
                            f"{n_pos} tokens, so use 0..{n_pos - 1}")


def make_edit(ablations: Sequence[Ablation], d_head: int):
    """The ``edit(site, layer, x)`` hook function :func:`tensors.capture.run_capture` calls:
    x [pos, width] -> the changed tensor, or None where no ablation applies."""
    by_site: dict[tuple[str, int], list[Ablation]] = {}
    for a in ablations:
        by_site.setdefault((TARGETS[a.target][0], a.layer), []).append(a)

    def edit(site: str, layer: int, x: Any) -> Any:
        todo = by_site.get((site, layer))
        return None if not todo else changed(todo, x, d_head)

    return edit


def from_info(info: dict[str, Any]) -> tuple[Ablation, ...]:
    """The ablations a Trace's ``info["ablations"]`` records (``[]`` for a plain run)."""
    keys = ("target", "layer", "index", "pos", "kind")
    return tuple(Ablation(**{k: a[k] for k in keys}) for a in info.get("ablations") or ())


def apply(ablations: Sequence[Ablation], site: str, layer: int, x: Any, d_head: int) -> Any:
    """``x`` [pos, width] at ``site`` of ``layer`` as the changed run had it (x itself when no
    ablation applies there): the same rule as the hooks, for arrays the Trace derives."""
    todo = [a for a in ablations if (TARGETS[a.target][0], a.layer) == (site, layer)]
    return changed(todo, x, d_head) if todo else x


def changed(todo: Sequence[Ablation], x: Any, d_head: int) -> Any:
    """The one ablation rule, for torch tensors and numpy arrays alike: a copy of x
    [pos, width] whose positions ``pos`` (all when None) of the columns ablated (neurons, or
    heads' d_head-wide slices of z, or everything) are 0 or their mean over all positions of
    the unchanged x."""
    torch_like = hasattr(x, "clone")
    if torch_like:
        import torch

        def vec(v: list[int]) -> Any:
            return torch.tensor(v, device=x.device)
    else:
        import numpy as np

        def vec(v: list[int]) -> Any:
            return np.asarray(v, dtype=np.int64)
    y = x.clone() if torch_like else x.copy()
    width, n_pos = x.shape[-1], x.shape[0]
    for a in todo:
        if a.target == "neurons":
            c = list(a.index)
        elif a.target == "heads":
            c = [h * d_head + j for h in a.index for j in range(d_head)]
        else:
            c = list(range(width))
        r = list(range(n_pos)) if a.pos is None else list(a.pos)
        value = 0 if a.kind == "zero" else x[:, vec(c)].mean(0)
        y[vec(r)[:, None], vec(c)[None, :]] = value
    return y
