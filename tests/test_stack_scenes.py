"""The whole-model scenes (issue 14): the stack with its parameter counts, the logit lens,
the KV cache. Dry-run renders on the bundled model (Llama family) and the tiny GPT-2:
every beat alone, the beats reversed, every equation of the ledger recomputed, and the
numbers on screen checked against the model (parameter counts against a freshly loaded
model's ``sum(p.numel())``, the lens against the logits, the cache against two runs).
"""
from __future__ import annotations

import numpy as np
import pytest
from manim import tempconfig

from scenes.kit import ledger
from scenes.kit.analysis.kvcache import StepCost
from scenes.kit.analysis.lens import softmax_rows
from scenes.kit.analysis.stack import TOTAL_KEYS
from scenes.kv_cache import KVCacheScene
from scenes.logit_lens import LogitLensScene
from scenes.transformer import TransformerScene
from tensors import trace

SCENES = (TransformerScene, LogitLensScene, KVCacheScene)
MODELS = ("bundled", "tiny_gpt2_dir")
PROMPT = "The capital of France is"

pytestmark = pytest.mark.usefixtures("shared_traces")
_MEDIA: list = []


@pytest.fixture(scope="module", autouse=True)
def _shared_media(tmp_path_factory):
    _MEDIA.append(tmp_path_factory.mktemp("media-stack-scenes"))
    yield
    _MEDIA.pop()


def model_of(request, which: str) -> str:
    return "smollm2" if which == "bundled" else str(request.getfixturevalue(which))


def render(cls, full: bool = False, **knobs):
    """Dry run: every animation played (``full``) or skipped (same mobjects and numbers)."""
    knobs.setdefault("prompt", PROMPT)
    knobs.setdefault("pause", 0)
    scene_cls = type(cls.__name__ + "Under", (cls,), knobs)
    with tempconfig({"dry_run": True, "media_dir": str(_MEDIA[-1]), "quality": "low_quality",
                     "disable_caching": True}):
        scene = scene_cls() if full else scene_cls(skip_animations=True)
        scene.render()
    return scene


def check_ledger(scene) -> int:
    assert scene.ledger, "no equation recorded"
    for e in scene.ledger:
        assert ledger.error(e) < 1e-5, (e.where, e.text, ledger.error(e))
    return len(scene.ledger)


@pytest.mark.parametrize("which", MODELS)
@pytest.mark.parametrize("cls", SCENES)
def test_every_beat_alone(request, cls, which):
    model = model_of(request, which)
    for b in cls.beats:
        s = render(cls, model=model, beats=(b,))
        assert len(s.mobjects) > 2, b
        for e in getattr(s, "ledger", []):
            assert ledger.error(e) < 1e-5, (b, e.text)


@pytest.mark.parametrize("which", MODELS)
@pytest.mark.parametrize("cls", SCENES)
def test_beats_reversed_full_dry_run(request, cls, which):
    """Every animation played with the beats reversed; every equation of the ledger holds."""
    s = render(cls, full=True, model=model_of(request, which), beats=tuple(reversed(cls.beats)))
    assert s.renderer.num_plays > 3
    check_ledger(s)


# (every equation in order, both families: tests/test_ledger.py::test_every_equation_shown_holds,
#  which also checks what is drawn against the ledger; reversed here above)


# ---------------------------------------------------------------------- the stack
def _loaded_numel(model: str) -> int:
    from tensors.models import load
    from tensors.resolve import resolve

    mdl, _, _ = load(resolve(model, quiet=True), "cpu")
    return int(sum(p.numel() for p in mdl.parameters()))


@pytest.mark.parametrize("which", MODELS + ("tiny_llama_dir",))     # + untied, biases, GQA
def test_param_counts_on_screen_sum_to_the_real_model(request, which):
    model = model_of(request, which)
    s = render(TransformerScene, model=model, beats=("beat_stack", "beat_counts"))
    shown = {r.part.key: int(r.cnt.text.replace(",", "")) for r in s.table.rows}
    total_shown = int(s.table.total.text.replace(",", ""))
    assert sum(v for k, v in shown.items() if k in TOTAL_KEYS) == total_shown
    assert total_shown == _loaded_numel(model)           # a tied matrix once, as torch counts
    t = s.trace
    info = t.info
    if t.weights.tied:
        assert shown["unembed"] == 0 and "counted once" in s.table.rows[-1].brk.text
    # per-block rows: their breakdowns hold and add up to the blocks row
    per = [r for r in s.table.rows if r.part.per_block]
    blocks = next(r for r in s.table.rows if r.part.key == "blocks")
    assert info["n_layer"] * sum(int(r.cnt.text.replace(",", "")) for r in per) == \
        int(blocks.cnt.text.replace(",", ""))
    attn = next(r.part for r in per if r.part.key == "attn")
    d, H, Hkv, dh = info["d_model"], info["n_head"], info["n_kv_head"], info["d_head"]
    assert sum(term.size for term in attn.terms if term.name.startswith("W_")) == \
        2 * d * H * dh + 2 * d * Hkv * dh


@pytest.mark.parametrize("which", MODELS)
def test_residual_bars_are_the_norms_of_the_writes(request, which):
    s = render(TransformerScene, model=model_of(request, which), beats=("beat_residual",))
    t = s.trace
    bars = s.bars.cols
    np.testing.assert_allclose([b.value for b in bars[0]],
                               np.linalg.norm(t.attn_out[:, -1].astype(np.float64), axis=-1), rtol=1e-6)
    np.testing.assert_allclose([b.value for b in bars[1]],
                               np.linalg.norm(t.mlp_out[:, -1].astype(np.float64), axis=-1), rtol=1e-6)
    # the vector that travelled down the stack ends as the real stream after the last block
    np.testing.assert_allclose(s.read.values, t.resid[-1, -1], rtol=1e-6)


# ---------------------------------------------------------------------- the lens
@pytest.mark.parametrize("which", MODELS)
def test_lens_after_the_last_block_is_the_logits(request, which):
    s = render(LogitLensScene, model=model_of(request, which))
    t = s.trace
    N = t.info["n_layer"]
    z = t.lens_logits(N)
    assert np.abs(z - t.logits).max() <= 1e-4 * np.abs(t.logits).max() + 1e-4
    for L in (0, N // 2, N):   # the scene's one-matmul lens is the Trace's query, layer by layer
        np.testing.assert_allclose(s.lens[L], t.lens_logits(L), rtol=1e-5,
                                   atol=1e-5 * float(np.abs(s.lens[L]).max()))
    last = s.rows[-1]
    assert last.layer == N and s.layers[0] == 0
    assert [c.token_id for c in last.cells] == [int(np.argmax(t.logits[p])) for p in s.cols]
    p = softmax_rows(t.logits[-1].astype(np.float64))
    assert abs(s.p_answer[-1] - p[s.answer_id]) < 1e-5 and s.rank_answer[-1] == 1
    assert len(s.curve.p_values) == N + 1
    # the worked cell: its logit counted term by term lands on the lens's logit, in its cell
    w = s.pipe
    top = int(s.top[w.layer, w.pos])
    assert float(w.prod.result[0, 0]) == float(s.lens[w.layer, w.pos, top])
    cell = s.rows[s.layers.index(w.layer)].cells[s.cols.index(w.pos)]
    assert cell.token_id == top and any(m is cell for m in s.get_mobject_family_members())
    k = w.prod.k
    xs = [h[3] for h in w.prod.history][:k]
    xn = t.apply_norm(t.resid[w.layer, w.pos]).astype(np.float64)
    np.testing.assert_allclose(xs, np.cumsum(xn[:k] * t.weights.W_U[top, :k].astype(np.float64)),
                               rtol=1e-5, atol=1e-7)


def test_lens_rows_say_which_layers(request):
    s = render(LogitLensScene, model="smollm2", beats=("beat_grid",))
    assert [r.layer for r in s.rows] == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30]


# ---------------------------------------------------------------------- the cache
@pytest.mark.parametrize("which", MODELS)
def test_kv_cache_numbers_are_two_real_runs(request, which):
    model = model_of(request, which)
    s = render(KVCacheScene, model=model)
    t1, t2 = trace(PROMPT, model, quiet=True), s.trace2
    n = t1.n_pos
    assert t2.n_pos == n + 1 and list(t2.token_ids[:n]) == list(t1.token_ids)
    assert s.dk == float(np.abs(t1.k.astype(np.float64) - t2.k[:, :, :n]).max())
    assert s.dv == float(np.abs(t1.v.astype(np.float64) - t2.v[:, :, :n]).max())
    assert s.dk < 1e-4 and s.dv < 1e-4
    # q·k counted, then scaled and softmaxed: the pattern row of run 2, summing to 1
    L, H = s.L, s.H
    np.testing.assert_allclose(s.step_rows["pattern"], t2.pattern[L, H, n], rtol=1e-6)
    sums = [e for e in s.ledger if e.text.startswith("sum of the first")]
    assert len(sums) == n + 1 and abs(float(sums[-1].shown) - 1.0) < 1e-5
    # the costs, recounted from the config's dimensions (the scene counts stored shapes)
    info = t1.info
    d, H, Hkv, dh, m, L = (info[k] for k in ("d_model", "n_head", "n_kv_head", "d_head", "d_mlp",
                                            "n_layer"))
    mlp_mats = 3 if t1.mlp_gate is not None else 2
    proj = d * H * dh + 2 * d * Hkv * dh + H * dh * d + mlp_mats * d * m
    c = StepCost(L, proj, H, dh, d * info["vocab_size"])
    for ctx, (wo, wi) in s.costs.items():
        assert wi == L * (proj + 2 * H * dh * ctx) + d * info["vocab_size"]
        assert wo == sum(L * (proj + 2 * H * dh * (i + 1)) for i in range(ctx)) + d * info["vocab_size"]
        assert (wo, wi) == (c.without_cache(ctx), c.with_cache(ctx))
    assert s.long == info["n_ctx"]


# ---------------------------------------------------------------------- bad knobs
@pytest.mark.parametrize("cls,knobs,word", [
    (TransformerScene, {"position": 99}, "position"),
    (TransformerScene, {"pause": -1}, "pause"),
    (LogitLensScene, {"max_rows": 1}, "max_rows"),
    (LogitLensScene, {"max_positions": 0}, "max_positions"),
    (LogitLensScene, {"answer": " Paris France"}, "answer"),
    (KVCacheScene, {"entries": 0}, "entries"),
    (KVCacheScene, {"long_context": 3}, "long_context"),
    (KVCacheScene, {"layer": 99}, "layer"),
    (KVCacheScene, {"prompt": "one two three four five six seven eight nine"}, "prompt"),
])
def test_bad_knobs_exit_2_with_one_line(capsys, cls, knobs, word):
    with pytest.raises(SystemExit) as e:
        render(cls, model="smollm2", **knobs)
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and word in err[-1] and len([l for l in err if "error" in l]) == 1


def test_analysis_doctests():
    """The pure helpers' examples (scenes/kit/analysis, the published shapes) hold."""
    import doctest

    from scenes.kit import published_shapes
    from scenes.kit.analysis import kvcache, lens, stack
    for mod in (kvcache, lens, stack, published_shapes):
        r = doctest.testmod(mod)
        assert r.attempted > 0 and r.failed == 0, mod.__name__


def test_logit_lens_one_token_prompt():
    """A one-token prompt: every lens row holds only the worked position, so a row's sweep has
    no other cell to bring in (it played an empty LaggedStart and the dry run crashed)."""
    from scenes.kit.checks import check_beats

    report = check_beats(LogitLensScene, model="smollm2", prompt="The")
    assert len(report.scene.trace.tokens) == 1
    assert {beat: p for beat, p in report.items() if p} == {}
