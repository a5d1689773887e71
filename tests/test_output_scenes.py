"""The output-side scenes: softmax with temperature, unembedding, generation.

Dry-run renders with the bundled model and with the tiny GPT-2 / Llama fixtures; every
number a scene keeps on screen is compared with the Trace (or tensors.generate); golden
frames for the pieces in scenes/output_pieces.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from manim import DOWN, RIGHT, VGroup, tempconfig
from manim.utils.testing.frames_comparison import frames_comparison

from scenes.generation import GenerationScene
from scenes.kit.analysis.output import check_temperatures, temperature_path
from scenes.kit.pieces import Bars, box, down_arrow, norm_formula
from scenes.kit.text import token_label
from scenes.kit.theme import mass_text
from scenes.softmax_temperature import SoftmaxTemperatureScene
from scenes.unembedding import UnembeddingScene
from tensors import UserError, trace
from tensors.sampling import softmax as softmax_np
from tensors.generate import generate, sample

__module_test__ = "test_output_scenes"

SCENES = (SoftmaxTemperatureScene, UnembeddingScene, GenerationScene)
#: One prompt for every test: the scenes of one model then share their forward passes.
PROMPT = "The capital of France is"


# one trace cache for the whole module (see conftest.shared_traces)
pytestmark = pytest.mark.usefixtures("shared_traces")


_MEDIA: list = []


@pytest.fixture(scope="module", autouse=True)
def _shared_media(tmp_path_factory):
    # one media dir for the module, so LaTeX formulas compile once
    _MEDIA.append(tmp_path_factory.mktemp("media-output-scenes"))
    yield
    _MEDIA.pop()


def render(cls, tmp_path, full=False, **knobs):
    """Run the scene: a dry-run render of every animation (``full``), or construct with
    animations skipped (same mobjects and numbers, ~5× faster)."""
    scene_cls = type(cls.__name__ + "Under", (cls,), knobs)
    media = _MEDIA[-1] if _MEDIA else tmp_path
    with tempconfig({"dry_run": True, "media_dir": str(media), "quality": "low_quality",
                     "disable_caching": True}):
        scene = scene_cls() if full else scene_cls(skip_animations=True)
        scene.render()
    return scene


@pytest.mark.parametrize("cls", SCENES)
def test_dry_run_renders_every_animation(tmp_path, cls):
    s = render(cls, tmp_path, full=True, model="smollm2", prompt=PROMPT,
               **({"steps": 1} if cls is not UnembeddingScene else {}))
    assert s.renderer.num_plays > 10
    frame = s.renderer.get_frame()
    assert frame.shape[0] > 0 and frame[..., :3].std() > 5      # not an empty frame


def model_of(request, which):
    return "smollm2" if which == "bundled" else str(request.getfixturevalue(which))


# ---------------------------------------------------------------------- softmax / temperature
@pytest.mark.parametrize("which", ["bundled", "tiny_gpt2_dir", "tiny_llama_dir"])
def test_softmax_temperature_numbers_are_the_trace(request, tmp_path, which):
    model = model_of(request, which)
    steps = 1 if which == "bundled" else 0      # continuations: see test_generate.py
    s = render(SoftmaxTemperatureScene, tmp_path, model=model, steps=steps)
    t = trace(s.prompt, model, quiet=True)
    z = t.logits[-1]
    assert s.top_ids == np.argsort(-z, kind="stable")[:s.top_k].tolist()
    np.testing.assert_allclose([v.value for v in s.logit_values], z[s.top_ids], rtol=0, atol=0)
    # the sweep ends at T = 1: bars are the model's own distribution
    assert s.T == 1.0
    np.testing.assert_allclose(s.bars.values, t.probs()[s.top_ids], rtol=1e-12)
    rest = 1.0 - softmax_np(z, 1.0)[s.top_ids].sum()
    assert s.rest_text.value == pytest.approx(rest, abs=1e-12)
    # every temperature of the sweep was the real softmax of these logits
    for T, p in s.probs_at.items():
        np.testing.assert_allclose(p, softmax_np(z, T), rtol=1e-12, atol=1e-300)
    # greedy (the highlighted first bar) is the argmax at every T
    assert all(int(np.argmax(p)) == s.greedy_id == s.top_ids[0] for p in s.probs_at.values())
    # the draws shown are tensors.generate's seeded draws
    for T, row in zip(s.temps, s.sample_rows):
        assert row.ids == sample(t, T, seed=s.seed, n=s.n_samples).tolist()
    for T, c in zip(s.temps, getattr(s, "cont_rows", [])):
        assert c.tokens == generate(s.prompt, model, steps=1, temperature=T, seed=s.seed).appended
    assert len(getattr(s, "cont_rows", [])) == (len(s.temps) if steps else 0)
    if which != "bundled":
        return
    # the real prediction, and the sharpening/flattening the captions claim
    assert s.top_strs[0] == " Paris"
    p_lo, p_hi = s.probs_at[min(s.temps)], s.probs_at[max(s.temps)]
    assert p_lo[s.greedy_id] > 0.99 and p_hi[s.greedy_id] < 0.01
    lo_row, hi_row = s.sample_rows[0], s.sample_rows[-1]
    assert set(lo_row.ids) == {s.greedy_id}
    assert len(set(hi_row.ids)) > len(hi_row.ids) // 2


def test_temperature_sweep_path():
    path = temperature_path((0.1, 1.0, 5.0), between=2)
    assert path[0] == 1.0 and 0.1 in path and path[-1] == 5.0
    lo = path.index(0.1)
    assert all(a > b for a, b in zip(path[:lo], path[1:lo + 1]))      # down to 0.1
    assert all(a < b for a, b in zip(path[lo:-1], path[lo + 1:]))     # then up to 5


@pytest.mark.parametrize("bad", [(0.0,), (1.0, -0.5), (), ("warm",)])
def test_bad_temperatures_exit_2_one_line(tmp_path, capsys, bad):
    with pytest.raises(SystemExit) as e:
        render(SoftmaxTemperatureScene, tmp_path, model="smollm2", temperatures=bad)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len([l for l in err if "error" in l]) == 1 and "temperature" in err[-1]
    with pytest.raises(UserError):
        check_temperatures(bad)


def test_generation_bad_temperature_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        render(GenerationScene, tmp_path, model="smollm2", temperature=0)
    assert e.value.code == 2 and "temperature" in capsys.readouterr().err


# ---------------------------------------------------------------------- unembedding
@pytest.mark.parametrize("which", ["bundled", "tiny_gpt2_dir", "tiny_llama_dir"])
def test_unembedding_numbers_are_the_trace(request, tmp_path, which):
    model = model_of(request, which)
    s = render(UnembeddingScene, tmp_path, model=model)
    t = trace(s.prompt, model, quiet=True)
    n = s.n_dims
    np.testing.assert_array_equal(s.xcol.values, t.resid[-1, -1][:n])
    np.testing.assert_array_equal(s.xncol.values, t.final[-1][:n])
    # logits = final @ W_U.T is the model's own output
    np.testing.assert_allclose(s.logits, t.logits[-1], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(s.lgcol.values, t.logits[-1][s.top_ids], rtol=1e-4, atol=1e-4)
    assert s.top_ids == np.argsort(-t.logits[-1])[:s.top_k].tolist()
    np.testing.assert_array_equal(s.W.values, t.W_U(s.top_ids)[:, :n])
    np.testing.assert_allclose(s.dot_text.value, t.logits[-1][s.top_ids[0]], rtol=1e-4, atol=1e-4)
    # bars: softmax of the logits shown (W_U · norm(x)); the model's own within fp32
    np.testing.assert_allclose(s.bars.values, softmax_np(s.logits, 1.0)[s.top_ids], rtol=1e-12)
    np.testing.assert_allclose(s.bars.values, t.probs()[s.top_ids], rtol=1e-3)
    # the final norm shown is the one the model applied
    x = t.resid[-1, -1].astype(np.float64)
    g = t.weights.get("ln_f.w").astype(np.float64)
    cfg = json.loads((Path(t.info["model_path"]) / "config.json").read_text())
    eps = cfg.get("rms_norm_eps", cfg.get("layer_norm_epsilon"))
    if t.info["norm"] == "RMSNorm":
        assert s.stats["rms"] == pytest.approx(np.sqrt(np.mean(x ** 2)))
        np.testing.assert_allclose(x / np.sqrt(np.mean(x ** 2) + eps) * g, t.final[-1],
                                   rtol=1e-3, atol=1e-4)
    else:
        b = t.weights.get("ln_f.b").astype(np.float64)
        mu, sd = x.mean(), x.std()
        assert (s.stats["mean"], s.stats["std"]) == (pytest.approx(mu), pytest.approx(sd))
        np.testing.assert_allclose((x - mu) / np.sqrt(sd ** 2 + eps) * g + b, t.final[-1],
                                   rtol=1e-3, atol=1e-4)
    # weight tying, read from the model
    assert s.tied == t.info["tied_embeddings"] == t.weights.tied
    c = s.WE.values.shape[1]                 # the tying beat shows the first c ≤ n columns
    np.testing.assert_array_equal(s.WE.values, t.W_E(s.top_ids)[:, :c])
    np.testing.assert_array_equal(s.WU.values, t.W_U(s.top_ids)[:, :c])
    if s.tied:
        np.testing.assert_array_equal(s.WE.values, s.WU.values)
        assert s.tie_relation.relation == "=" and "Tied" in s.tie_caption
    else:
        assert not np.array_equal(s.WE.values, s.WU.values)
        assert s.tie_relation.relation == "≠" and "Not tied" in s.tie_caption


@pytest.mark.parametrize("cls", SCENES)
@pytest.mark.parametrize("which", ["bundled", "tiny_gpt2_dir", "tiny_llama_dir"])
def test_every_equation_shown_holds(request, tmp_path, which, cls):
    """The ledger (issue 10): each equation a beat shows, recomputed from the operands it
    shows, gives the result it shows (relative 1e-5)."""
    from scenes.kit.ledger import error

    s = render(cls, tmp_path, model=model_of(request, which),
               **({"steps": 1} if cls is not UnembeddingScene else {}))
    kinds = {e.kind for e in s.ledger}
    expected = {SoftmaxTemperatureScene: {"softmax", "sum"},
                UnembeddingScene: {"rmsnorm" if s.trace.info["norm"] == "RMSNorm"
                                   else "layernorm", "dot", "sum", "softmax"},
                GenerationScene: {"sum"}}[cls]
    assert expected <= kinds
    bad = [(e.where, e.text, error(e)) for e in s.ledger if not error(e) < 1e-5]
    assert bad == []
    print(f"{cls.__name__} [{which}]: {len(s.ledger)} equations checked")


def test_generation_draw_lands_in_the_drawn_tokens_slice(tmp_path):
    s = render(GenerationScene, tmp_path, model="smollm2", steps=3, prompt=PROMPT)
    for step, (u, p), strip in zip(s.gen.steps, s.draws, s.shown_strips):
        a, b = strip.slice
        assert a <= u < b and strip.hit.token_id == step.sampled_id
        assert b - a == pytest.approx(step.sampled_prob, rel=1e-9)


def test_tying_matches_the_fixtures(request, tmp_path):
    # GPT-2 (and SmolLM2) tie; the tiny Llama fixture does not — the scene must tell them apart
    for which, tied in (("bundled", True), ("tiny_gpt2_dir", True), ("tiny_llama_dir", False)):
        t = trace("The capital of France is", model_of(request, which), quiet=True)
        assert t.info["tied_embeddings"] is tied


# ---------------------------------------------------------------------- generation
@pytest.mark.parametrize("which", ["bundled", "tiny_gpt2_dir", "tiny_llama_dir"])
def test_generation_numbers_are_the_trace(request, tmp_path, which):
    model = model_of(request, which)
    # the tiny models' multi-step generations are tested in test_generate.py
    steps = 2 if which == "bundled" else 1
    s = render(GenerationScene, tmp_path, model=model, steps=steps, prompt=PROMPT)
    g = generate(s.prompt, model, steps=steps, temperature=s.temperature, seed=s.seed,
                 n_top=s.n_bars, use_cache=False)
    assert s.gen == g
    assert len(s.shown_bars) == len(g.steps)
    for bars, step in zip(s.shown_bars, g.steps):
        t = trace(step.text, model, quiet=True)
        p = softmax_np(t.logits[-1], s.temperature)
        top = np.argsort(-p, kind="stable")[:s.n_bars]
        np.testing.assert_allclose(bars.values[:len(top)], p[top], rtol=1e-12)
        # the highlighted bar is the token that was drawn, with its real probability
        assert bars.values[bars.sampled_row] == pytest.approx(p[step.sampled_id], rel=1e-12)
        assert bars.labels[bars.sampled_row] == step.sampled
    # the growing text: each shown token row is the model's tokens + the drawn token
    for shown, step in zip(s.shown_texts[1:], g.steps):
        assert shown == list(step.tokens) + [step.sampled]
    assert s.result_text.text_value == g.text
    # the stack shows the real depth
    assert s.stack_g.label_strs[2] == f"{t.info['n_layer']} × block"


def test_generation_is_reproducible_with_a_seed(tmp_path):
    a = render(GenerationScene, tmp_path, model="smollm2", steps=2, seed=0, prompt=PROMPT)
    b = generate(a.prompt, "smollm2", steps=2, temperature=a.temperature, seed=0, n_top=a.n_bars,
                 use_cache=False)
    assert a.gen == b and a.result_text.text_value == b.text


# ---------------------------------------------------------------------- pieces
def test_token_label_and_mass_text():
    assert token_label(" Paris") == "␣Paris" and token_label("a\nb") == "a↵b"
    assert mass_text(0.999999) == ">99.99%" and mass_text(1e-9) == "<0.01%"
    assert mass_text(0.0) == "0%" and mass_text(0.1234) == "12.3%"


def test_bars_keep_labels_and_values():
    b = Bars([" Paris", " the"], [0.7, 0.1])
    assert b.labels == [" Paris", " the"] and b.label_texts not in b.submobjects
    c = b.with_probs([0.2, 0.3])
    np.testing.assert_array_equal(c.values, [0.2, 0.3])
    assert np.allclose(c.bars[0].get_left(), b.bars[0].get_left())
    # retarget: after the animations, the same object shows the new numbers
    from manim import Scene

    scene = Scene()
    scene.add(b)
    anims, finish = b.retarget([0.2, 0.3])
    for a in anims:
        a.begin()
        a.interpolate(1.0)
        a.finish()
    finish(scene)
    np.testing.assert_array_equal(b.values, [0.2, 0.3])
    assert [t.text for t in b.pct_texts] == ["20.0%", "30.0%"]
    assert [bar.value for bar in b.bars] == [0.2, 0.3]
    assert b.bars[1].width > b.bars[0].width


@frames_comparison(last_frame=True)
def test_output_pieces(scene):
    bars = Bars([" Paris", " the", " London"], [0.7725, 0.0645, 0.0125], highlight=0,
                max_bar_width=4.0)
    bars.to_edge(RIGHT, buff=1.5).shift(1.5 * DOWN)
    a = box("embedding", 3.6, sub="49,152 × 576")
    b = box("30 × block", 3.6, color="#58C4DD", sub="attention + MLP")
    stack = VGroup(a, b).arrange(DOWN, buff=0.4).to_corner(np.array([-1, 1, 0]), buff=0.5)
    scene.add(bars, stack, down_arrow(a, b))


@frames_comparison(last_frame=True)
def test_norm_formulas(scene):
    rms = norm_formula("RMSNorm").shift(1.2 * np.array([0, 1, 0]))
    ln = norm_formula("LayerNorm").shift(1.2 * DOWN)
    scene.add(rms, ln)
