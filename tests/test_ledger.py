"""The equation ledger: every equation a scene shows holds for the numbers it shows.

Each scene in :data:`SCENES` is rendered (dry run, every beat) on the bundled model and on
the tiny GPT-2-shaped model (random biases and LayerNorm gains, tests/conftest.py); every
equation it recorded with ``self.equation(...)`` is recomputed from its full-precision
operands and must match the displayed result to 1e-5 (relative, fp32 scale). A new scene
is covered by adding ``(module, class)`` to SCENES (and, if it must show an equation, to
MUST_RECORD). Run with ``-s`` to see the count per scene and family.
"""
from __future__ import annotations

import importlib
from collections import Counter

import numpy as np
import pytest
from manim import tempconfig

from scenes.kit import ledger

pytestmark = pytest.mark.usefixtures("shared_traces")

#: (module, scene class) of every story scene the ledger test renders.
SCENES = [
    ("scenes.attention", "AttentionScene"),
    ("scenes.embedding", "EmbeddingScene"),
    ("scenes.embedding_space", "EmbeddingSpaceScene"),
    ("scenes.transformer", "TransformerScene"),
    ("scenes.mlp", "MLPScene"),
    ("scenes.logit_lens", "LogitLensScene"),
    ("scenes.kv_cache", "KVCacheScene"),
]
#: Equation kinds each scene must record (it shows them on screen).
MUST_RECORD = {
    "AttentionScene": {"matmul", "dot", "scale", "softmax", "weighted_sum", "sum"},
    "EmbeddingScene": {"lookup"},
    "EmbeddingSpaceScene": {"a-b+c", "cosine", "dot"},
    "TransformerScene": {"total", "product", "add"},
    "MLPScene": {"matmul", "activation", "dot", "sum", "softmax", "total"},
    "LogitLensScene": {"matmul", "softmax"},
    "KVCacheScene": {"matmul", "scale", "softmax", "total", "product"},
}
COUNTS: dict[tuple[str, str], int] = {}


def _scene_class(module: str, name: str, model: str | None):
    cls = getattr(importlib.import_module(module), name)
    if model is None:
        return cls
    return type(f"{name}Tiny", (cls,), {"model": model, "__module__": cls.__module__})


def _render(cls, tmp_path):
    with tempconfig({"media_dir": str(tmp_path / "media"), "quality": "low_quality",
                     "dry_run": True, "frame_rate": 5}):
        scene = cls(skip_animations=True)
        scene.render()
    return scene


@pytest.mark.parametrize("family", ["bundled", "gpt2"])
@pytest.mark.parametrize("module,name", SCENES)
def test_every_equation_shown_holds(module, name, family, request, tmp_path):
    model = None if family == "bundled" else str(request.getfixturevalue("tiny_gpt2_dir"))
    scene = _render(_scene_class(module, name, model), tmp_path)
    entries = scene.ledger
    kinds = Counter(e.kind for e in entries)
    COUNTS[(name, family)] = len(entries)
    print(f"\nledger {name} [{family}]: {len(entries)} equations {dict(sorted(kinds.items()))}")
    assert MUST_RECORD.get(name, set()) <= set(kinds), f"{name} did not record {MUST_RECORD[name] - set(kinds)}"
    bad = [(e.where, e.text, ledger.error(e)) for e in entries if not ledger.error(e) < 1e-5]
    assert not bad, bad
    assert all(e.where for e in entries)                   # each names the beat that showed it


def test_a_wrong_equation_is_caught():
    """The check can fail: an off-by-a-bit result, a forgotten bias, a wrong shape."""
    x, W, b = np.ones((2, 3)), np.arange(6.0).reshape(3, 2), np.array([0.5, -0.5])
    good = ledger.Equation("matmul", "q = x·W + b", x @ W + b, {"x": x, "W": W, "b": b})
    assert ledger.error(good) < 1e-12
    no_bias = ledger.Equation("matmul", "q = x·W + b", x @ W, {"x": x, "W": W, "b": b})
    assert ledger.error(no_bias) > 1e-2
    shape = ledger.Equation("matmul", "q = x·W", (x @ W)[0], {"x": x, "W": W})
    assert ledger.error(shape) == float("inf")
    z = np.array([1.0, 2.0, -np.inf])
    sm = ledger.Equation("softmax", "softmax", ledger.recompute(
        ledger.Equation("softmax", "", None, {"z": z})), {"z": z})
    assert ledger.error(sm) == 0.0 and ledger.recompute(sm)[-1] == 0.0


def test_rope_kind_matches_the_model(tiny_llama_dir):
    """The 'rope' kind recomputes the Trace's rotated q from x̂·W_Q + b_Q (Llama family)."""
    from tensors import trace

    t = trace("the quick brown fox", str(tiny_llama_dir))
    rp = t.info["rope"]
    lin = t.attn_in[0].astype(np.float64) @ t.block("W_Q", 0, 1) + t.block("b_Q", 0, 1)
    pos = np.arange(t.n_pos)
    e = ledger.Equation("rope", "q", np.asarray(t.q[0][1]),
                        {"x": lin, "pos": pos, "theta": rp["theta"], "dims": rp["dims"],
                         "scaling": rp["attention_scaling"]})
    assert ledger.error(e) < 1e-5
    e.operands["pos"] = pos + 1                                # the wrong positions fail
    assert ledger.error(e) > 1e-3
