"""The equation ledger: every equation a scene shows holds for the numbers it shows.

Each scene in :data:`SCENES` is rendered (dry run, every beat; once per session, shared with
the legibility tests: tests/conftest.py scene_runs) on the bundled model and on the tiny
GPT-2-shaped model (random biases and LayerNorm gains, tests/conftest.py); every
equation it recorded with ``self.equation(...)`` is recomputed from its full-precision
operands and must match the displayed result to 1e-5 (relative, fp32 scale). What is drawn
is checked too: text bound to an entry (``Equation.say`` / ``bind``) must be on screen as
made, its numbers must be the entry's at the precision shown, and shown sums
(``bind_cells``) must add up at that precision or be drawn with ≈ (:data:`MUST_BIND`). A new scene
is covered by adding ``(module, class)`` to SCENES (and, if it must show an equation, to
MUST_RECORD). Run with ``-s`` to see the count per scene and family.
"""
from __future__ import annotations

import importlib
from collections import Counter

import numpy as np
import pytest

from scenes.kit import ledger
from scenes.kit.pieces import WeightMatrix
from scenes.kit.text import num_text

try:
    from conftest import scene_param
    from test_legibility import QUICK          # the same render the legibility tests read
except ImportError:
    from tests.conftest import scene_param
    from tests.test_legibility import QUICK

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
    ("scenes.softmax_temperature", "SoftmaxTemperatureScene"),
    ("scenes.generation", "GenerationScene"),
    ("scenes.unembedding", "UnembeddingScene"),
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
    "SoftmaxTemperatureScene": {"softmax", "sum"},
    "GenerationScene": {"softmax", "sum"},
    "UnembeddingScene": {"sum", "dot", "softmax"},
}
COUNTS: dict[tuple[str, str], int] = {}


#: Scenes whose drawn equations are bound to the ledger (Equation.say / bind / bind_cells /
#: bind_entries): how many bound drawings each must have at least (issue 20.7), per family
#: where they differ. The product piece (scenes/kit/pieces/product.py) binds every counting
#: entry, "+ N more terms" and "= …" line and the swept result grid, in every scene that uses
#: it. The logit lens binds the cells' percentages; the GPT-2-shaped test model (random
#: weights) puts every top token under 0.01 %, a bound ("<0.01%") that is not a number said
#: from the entry: none there.
MUST_BIND: dict[str, int | dict[str, int]] = {
    "EmbeddingScene": 31, "EmbeddingSpaceScene": 26, "SoftmaxTemperatureScene": 45,
    "GenerationScene": 10, "AttentionScene": 31,
    "TransformerScene": 8,       # each row's count, the total, "= the model's own count"
    "UnembeddingScene": 7,       # the running sums of x̂ · W_U's column and "+ N more terms"
    "KVCacheScene": 26,          # the cost table, the cache line, the scaled row, softmax, sums
    "LogitLensScene": {"bundled": 52, "gpt2": 0},
    "MLPScene": 15,              # the parameter facts, the neurons' activations and pushes, Σ
}


@pytest.mark.parametrize("family", ["bundled", "gpt2"])
@pytest.mark.parametrize("module,name", [scene_param(m.split(".")[-1], n) for m, n in SCENES])
def test_every_equation_shown_holds(module, name, family, scene_runs):
    scene = scene_runs(module, family, **QUICK.get(module, {})).scene
    entries = scene.ledger
    kinds = Counter(e.kind for e in entries)
    COUNTS[(name, family)] = len(entries)
    print(f"\nledger {name} [{family}]: {len(entries)} equations {dict(sorted(kinds.items()))}")
    assert MUST_RECORD.get(name, set()) <= set(kinds), f"{name} did not record {MUST_RECORD[name] - set(kinds)}"
    bad = [(e.where, e.text, ledger.error(e)) for e in entries if not ledger.error(e) < 1e-5]
    assert not bad, bad
    assert all(e.where for e in entries)                   # each names the beat that showed it
    bound = sum(len(e.drawn) + len(e.cells) + len(e.entries) for e in entries)
    need = MUST_BIND.get(name, 0)
    need = need.get(family, 0) if isinstance(need, dict) else need
    print(f"ledger {name} [{family}]: {bound} drawings bound")
    assert bound >= need, f"{name}: {bound} drawings bound to the ledger (at least {need})"
    drawn = [p for e in entries for p in ledger.drawn_problems(e)]
    assert not drawn, drawn


def test_what_is_drawn_is_checked():
    """The drawn text, not the recorded value: a text changed after it was made from the
    entry (the worked q shown as full + 1), a cell whose digits are not its value, and a
    shown sum that does not add up at the shown precision are caught; ≈ is allowed."""
    q = np.array([[-0.12474, 0.5]])
    e = ledger.Equation("matmul", "q = x·W", q, {"x": np.eye(1), "W": q})
    text = e.say("… + {rest:,} more terms = {shown[0][0]:.4f}", rest=573)
    assert text == "… + 573 more terms = −0.1247"
    e.bind(num_text(text, 20))
    assert ledger.drawn_problems(e) == []
    wrong = num_text(f"… + 573 more terms = {q[0, 0] + 1:.4f}".replace("-", "−"), 20)
    e.drawn[0] = (wrong, text)
    assert len(ledger.drawn_problems(e)) == 1
    with pytest.raises(TypeError):                       # a model number must come from the entry
        e.say("= {full:.4f}", full=float(q[0, 0]) + 1)
    # a shown sum: −0.034 + 0.014 − 0.034 + 0.165 = 0.111 shows −0.03 + 0.01 − 0.03 + 0.17 = 0.11
    vals = np.array([[-0.034], [0.014], [-0.034], [0.165]])
    mats = [WeightMatrix(v[None], (1, 1), digits=2, show_shape=False) for v in vals]
    tot = WeightMatrix(np.array([[0.111]]), (1, 1), digits=2, show_shape=False)
    s = ledger.Equation("sum", "sum", np.array([0.111]), {"terms": vals})
    s.bind_cells([m.row(0) for m in mats], tot.row(0), "=")
    assert [p.split(": ", 1)[1][:18] for p in ledger.drawn_problems(s)] == ["shown column 0: −0"]
    s.cells[0] = (s.cells[0][0], s.cells[0][1], "≈")
    assert ledger.drawn_problems(s) == []
    d = ledger.sum_digits(vals, np.array([0.111]))
    mats = [WeightMatrix(v[None], (1, 1), digits=d, show_shape=False) for v in vals]
    tot = WeightMatrix(np.array([[0.111]]), (1, 1), digits=d, show_shape=False)
    s.cells[0] = ([m.row(0) for m in mats], tot.row(0), "=")
    assert d == 3 and ledger.drawn_problems(s) == []
    tot.entry(0).value = 0.2                               # a cell whose digits are not its value
    assert any("cell" in p for p in ledger.drawn_problems(s))


def test_drawn_cells_are_the_entry():
    """bind_entries: drawn cells must show the entry's own numbers (result or operand) at the
    shown precision; a one-term bind_cells (a lookup, a copy) must read the same both sides."""
    W = np.array([[0.1234, -0.5], [0.25, 0.75]])
    e = ledger.Equation("lookup", "x = W[id]", W[[1]], {"W": W, "rows": [1]})
    row = WeightMatrix(W[[1]], (2, 2), digits=2, show_shape=False).row(0)
    copy = WeightMatrix(W[[1]], (2, 2), digits=2, show_shape=False).row(0)
    e.bind_entries(row, "W", 1)
    e.bind_entries(copy, "shown", 0)
    e.bind_cells([row], copy)
    assert ledger.drawn_problems(e) == []
    wrong = WeightMatrix(W[[1]] + 0.01, (2, 2), digits=2, show_shape=False).row(0)
    e.entries[1] = (list(wrong), "shown", 0)              # drawn from other numbers
    e.cells[0] = ([list(row)], list(wrong), "=")
    probs = ledger.drawn_problems(e)
    assert any("is not shown[0]" in p for p in probs) and any("column" in p for p in probs)
    with pytest.raises(KeyError):
        e.bind_entries(row, "b")                           # not an operand of this entry


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
