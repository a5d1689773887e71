"""The MLP scene: every beat renders alone and in any order (bundled model, GPT-2- and
Llama-shaped models with random biases and norm gains), every equation it shows holds for
the numbers it shows, the attribution is exact, bad knobs fail in one line."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from manim import config, tempconfig

from scenes.kit import ledger
from scenes.kit.course.validate import validate_class_knobs
from scenes.kit.analysis.mlp import (ACTIVATIONS, activation, attribute, neuron_contributions,
                                     resolve_answer, top_neurons)
from scenes.kit.text import font_size_of, wrapped_text
from scenes.mlp import MLPScene
from tensors import UserError, trace

pytestmark = pytest.mark.usefixtures("shared_traces")

BEATS = list(MLPScene.beats)


def _render(cls, tmp_path):
    """Every beat, every frame drawn (not written) at 5 fps; returns the scene. At the end of
    each beat every text on screen must lie inside the frame (``scene.outside`` lists any)."""
    def end_beat(self, name):
        w, h = config.frame_width / 2, config.frame_height / 2
        for m in self.get_top_level_mobjects():
            for t in m.get_family():
                if getattr(t, "text", None) and len(t.points) and (
                        abs(t.get_x()) + t.width / 2 > w + 1e-3 or abs(t.get_y()) + t.height / 2 > h + 1e-3):
                    self.outside.append((name, t.text))
    with tempconfig({"media_dir": str(tmp_path / "media"), "quality": "low_quality",
                     "dry_run": True, "frame_rate": 5}):
        scene = type(cls.__name__, (cls,), {"end_beat": end_beat, "outside": []})()
        scene.render()
    assert not scene.outside, scene.outside
    return scene


def _scene(model=None, **knobs):
    attrs = dict(knobs)
    if model is not None:
        attrs["model"] = str(model)
    return type("S", (MLPScene,), attrs)


def _ledger_holds(scene, at_least: int):
    assert len(scene.ledger) >= at_least
    bad = [(e.where, e.text, ledger.error(e)) for e in scene.ledger if not ledger.error(e) < 1e-5]
    assert not bad, bad


# ---------------------------------------------------------------- renders (bundled model)
@pytest.mark.parametrize("name", BEATS)
def test_each_beat_alone(tmp_path, name):
    scene = _render(_scene(beats=(name,)), tmp_path)
    _ledger_holds(scene, 1)
    assert scene.renderer.time > 3


def test_all_beats_reversed(tmp_path):
    scene = _render(_scene(beats=tuple(reversed(BEATS))), tmp_path)
    _ledger_holds(scene, 15)


def test_default_order_shows_the_trace(tmp_path):
    """The numbers on screen are the Trace's; the intervention's are the changed run's."""
    scene = _render(MLPScene, tmp_path)
    _ledger_holds(scene, 19)
    t = scene.trace
    L, p, top = scene.L, scene.pos, scene.top
    assert scene.answer_id == int(np.argmax(t.logits[-1]))
    assert L == int(np.argmax(scene.attr.mlp))                     # the rule shown in captions
    v = scene.neuron_table
    np.testing.assert_allclose([c.value for c in v.act_cells], t.mlp_act[L, p, top], rtol=1e-6)
    # the products: x̂·W_gate / x̂·W_in rows are the Trace's; each point on the curve sits at
    # (its real pre-activation, the model's function of it)
    for M, real in zip(v.blocks, [t.mlp_gate[L, p, top], t.mlp_pre[L, p, top]][-len(v.blocks):]):
        np.testing.assert_allclose(M.vals, real, rtol=1e-6)
    gate = t.mlp_gate[L, p, top] if scene.gated else t.mlp_pre[L, p, top]
    at = np.array([v.axes.p2c(d.get_center())[:2] for d in v.dots])
    np.testing.assert_allclose(at[:, 0], gate, atol=1e-3 * np.abs(gate).max())
    np.testing.assert_allclose(at[:, 1], activation(gate, scene.act_name), atol=1e-3 * np.abs(gate).max())
    # W_out's rows scaled and summed: the counted entries end on mlp_out; E + ΔE shows resid[L + 1]
    prod = scene.rows_view.prod
    n = prod.result.shape[1]
    np.testing.assert_allclose(prod.result[0], t.mlp_out[L, p, :n], rtol=1e-4, atol=1e-5)
    counted = [h for h in prod.history if h[0] == 0]
    assert len(counted) == prod.k * n                              # every shown term, every entry
    e = scene.stream_add[0]
    np.testing.assert_allclose([c.value for c in e.ys], t.resid[L + 1, p, :len(e.ys)], rtol=1e-6)
    # the changed run is a real, different run: the answer's probability moved
    t2 = scene.changed
    assert t2.info.get("ablations") and not np.array_equal(t2.logits, t.logits)
    assert t2.probs(p)[scene.answer_id] < t.probs(p)[scene.answer_id]
    ids, bars = scene.prob_bars                                    # the bars show the changed run
    np.testing.assert_allclose(bars.values, t2.probs(p)[ids])
    assert int(np.argmax(t2.probs(p))) in ids                      # the new top is on screen
    assert t2.info["ablations"][0]["index"] == sorted(top)
    assert scene.renderer.time > 40


# ---------------------------------------------------------------- other families
@pytest.mark.parametrize("fixture", ["tiny_gpt2_dir", "tiny_llama_dir"])
def test_other_families_all_beats_and_reversed(tmp_path, request, fixture):
    model = request.getfixturevalue(fixture)
    for order in (BEATS, BEATS[::-1]):
        scene = _render(_scene(model, beats=tuple(order)), tmp_path)
        _ledger_holds(scene, 10)
    kinds = {e.kind for e in scene.ledger}
    if fixture == "tiny_gpt2_dir":
        assert "layernorm" in kinds and not scene.gated            # GELU, LayerNorm
    else:
        assert "rmsnorm" in kinds and scene.gated                  # SwiGLU, RMSNorm


def test_whole_mlp_mean_ablation(tmp_path, tiny_gpt2_dir):
    """ablate = "mlp", ablation_kind = "mean": the changed run is that intervention."""
    scene = _render(_scene(tiny_gpt2_dir, beats=("beat_ablate",), ablate="mlp",
                           ablation_kind="mean"), tmp_path)
    _ledger_holds(scene, 3)
    ab = scene.changed.info["ablations"]
    assert [(a["target"], a["kind"], a["layer"]) for a in ab] == [("mlp", "mean", scene.L)]
    assert "whole MLP output set to its mean" in scene.ablation_text()


# ---------------------------------------------------------------- the analysis
@pytest.mark.parametrize("fixture", ["tiny_gpt2_dir", "tiny_llama_dir"])
def test_attribution_is_exact(request, fixture):
    """Σ direct pushes = the model's logit (LayerNorm centring and bias, RMSNorm gain, random
    biases); each layer's neurons (+ b_out) sum to that layer's MLP push."""
    t = trace("The Colosseum is in the city of", str(request.getfixturevalue(fixture)), quiet=True)
    for tok in (resolve_answer(t, "auto"), 13):
        a = attribute(t, tok)
        assert a.terms().sum() == pytest.approx(float(t.logits[-1, tok]), rel=1e-5, abs=1e-5)
        for L in range(t.info["n_layer"]):
            c, b = neuron_contributions(t, a, L)
            assert c.sum() + b == pytest.approx(a.mlp[L], rel=1e-5, abs=1e-5)
        assert a.centred == (t.info["final_norm"]["type"] == "LayerNorm")


def test_top_neurons_are_the_largest_pushes():
    c = np.array([0.5, -2.0, 3.0, 3.0, 1.0])
    assert top_neurons(c, 3) == [2, 3, 4]


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_match_torch(name):
    import torch
    from transformers.activations import ACT2FN

    z = np.linspace(-8, 8, 101)
    fn = ACT2FN[{"gelu_quick": "quick_gelu"}.get(name, name)]  # act_name's names → transformers'
    ref = fn(torch.tensor(z, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(activation(z, name), ref, rtol=1e-6, atol=1e-7)


def test_long_notes_wrap_never_shrink():
    """The scene's wrapped notes (kit.text.wrapped_text): lines within the width, at full size."""
    s = "via the final RMSNorm (divisor frozen at the real 0.0123) and W_U, and on"
    t = wrapped_text(s, 25, 6.0)
    lines = t.submobjects
    assert len(lines) >= 2 and t.text == s
    for line in lines:
        assert line.width <= 6.0 + 1e-6 and font_size_of(line) == pytest.approx(25)


# ---------------------------------------------------------------- bad knobs
@pytest.mark.parametrize("knobs, match", [
    ({"answer": " Romeo and Juliet"}, r"answer .* is \d+ tokens"),
    ({"layer": 30}, r"layer 30 is out of range.*0\.\.29"),
    ({"layer": "last"}, r"layer = 'last' — must be an integer"),
    ({"n_neurons": 0}, r"n_neurons = 0 — must be an integer from 1 to 6"),
    ({"n_neurons": 7}, r"n_neurons = 7"),
    ({"entries": 9}, r"entries = 9 — must be an integer from 2 to 8"),
    ({"ablate": "heads"}, r"ablate = 'heads' — must be one of 'neurons', 'mlp'"),
    ({"ablation_kind": "half"}, r"ablation_kind = 'half'"),
])
def test_bad_knobs_are_user_errors(knobs, match):
    """The class's values pass the course checks (ranges, choices) and then the model's."""
    cls = _scene(**knobs)
    with pytest.raises(UserError, match=match):
        validate_class_knobs(cls)
        problem = cls.model_problem(trace(MLPScene.prompt, quiet=True), lambda k: getattr(cls, k))
        assert problem and problem[0] in knobs
        scene = cls()
        scene.trace = trace(MLPScene.prompt, quiet=True)
        scene.prepare()


def test_bad_answer_is_one_line_exit_2(tmp_path):
    src = tmp_path / "bad_mlp.py"
    src.write_text(textwrap.dedent("""
        from scenes.mlp import MLPScene
        class Bad(MLPScene):
            answer = " Romeo and Juliet"
    """))
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    r = subprocess.run([sys.executable, "-m", "manim", "render", "-ql", "--dry_run", str(src), "Bad"],
                       capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert r.returncode == 2, r.stderr[-2000:]
    lines = [ln for ln in r.stderr.splitlines() if "error" in ln.lower()]
    assert len(lines) == 1 and "one token" in lines[0], r.stderr[-2000:]
    assert "Traceback" not in r.stderr
