"""tensors.generate: seeded sampling from the real distribution, and cached generation."""
from __future__ import annotations

import numpy as np
import pytest

from tensors import UserError, trace
from tensors.sampling import softmax as softmax_np
from tensors.generate import (distribution, generate, greedy, sample, token_strs,
                              top_tokens)

PROMPT = "The capital of France is"


# one trace cache for the whole module (see conftest.shared_traces)
pytestmark = pytest.mark.usefixtures("shared_traces")


@pytest.fixture(scope="module")
def real(shared_cache):
    """The bundled model's trace (the one the scenes show by default)."""
    import os

    old = os.environ.get("GPT_SCENES_CACHE")
    os.environ["GPT_SCENES_CACHE"] = str(shared_cache)
    try:
        return trace(PROMPT, "smollm2", quiet=True)
    finally:
        if old is None:
            os.environ.pop("GPT_SCENES_CACHE")
        else:
            os.environ["GPT_SCENES_CACHE"] = old


# ---------------------------------------------------------------------- sampling
def test_same_seed_same_samples(real):
    a = sample(real, temperature=1.3, seed=7, n=200)
    b = sample(real.logits[-1], temperature=1.3, seed=7, n=200)
    assert a.dtype == np.int64 and a.shape == (200,)
    np.testing.assert_array_equal(a, b)


def test_different_seeds_differ(real):
    # at T=3 the real distribution is broad: 64 draws collide between two seeds with
    # negligible probability, for every pair of seeds we try
    p = distribution(real, 3.0)
    assert p.max() < 0.2
    draws = [tuple(sample(real, 3.0, seed=s, n=64)) for s in range(25)]
    assert len(set(draws)) == len(draws)
    # and each seed's prefix is a prefix: n does not change the stream
    np.testing.assert_array_equal(sample(real, 3.0, seed=3, n=10), sample(real, 3.0, seed=3, n=64)[:10])


@pytest.mark.parametrize("T", [0.05, 0.3, 1.0, 2.5, 10.0, 100.0])
def test_greedy_is_unchanged_by_temperature(real, T):
    g = greedy(real)
    assert g == int(np.argmax(real.logits[-1]))
    p = distribution(real, T)
    assert int(np.argmax(p)) == g
    # the distribution itself does change: it is softmax(logits / T)
    np.testing.assert_allclose(p, softmax_np(real.logits[-1], T), rtol=1e-12, atol=1e-15)


def test_low_temperature_samples_are_greedy_high_temperature_spread(real):
    g = greedy(real)
    assert set(sample(real, 0.02, seed=1, n=300).tolist()) == {g}
    hot = sample(real, 5.0, seed=1, n=300)
    assert len(set(hot.tolist())) > 200        # T=5 is close to uniform over 49152 tokens


def test_sampled_frequencies_track_real_probabilities(real):
    from scipy.stats import chi2

    k, n = 8, 40_000
    p = distribution(real, 1.5, top_k=k)
    support = np.flatnonzero(p)
    assert len(support) == k and np.isclose(p.sum(), 1.0)
    ids = sample(real, 1.5, seed=123, n=n, top_k=k)
    assert set(ids.tolist()) <= set(support.tolist())
    counts = np.array([(ids == i).sum() for i in support])
    expected = n * p[support]
    stat = ((counts - expected) ** 2 / expected).sum()
    assert stat < chi2.ppf(0.999, df=k - 1), (stat, counts, expected)
    # a wrong distribution (T=1 instead of 1.5) is rejected by the same test
    q = distribution(real, 1.0, top_k=k)[support] * n
    assert ((counts - q) ** 2 / q).sum() > chi2.ppf(0.999, df=k - 1)


def test_top_k_keeps_the_k_largest_logits(real):
    p = distribution(real, 1.0, top_k=5)
    top5 = np.argsort(-real.logits[-1])[:5]
    assert set(np.flatnonzero(p).tolist()) == set(top5.tolist())
    full = softmax_np(real.logits[-1], 1.0)
    np.testing.assert_allclose(p[top5], full[top5] / full[top5].sum(), rtol=1e-12)


@pytest.mark.parametrize("bad", [0, -1.0, 0.0, float("nan"), float("inf"), "hot"])
def test_bad_temperature_is_a_user_error(real, bad):
    with pytest.raises(UserError) as e:
        sample(real, bad, seed=0)
    assert "temperature" in str(e.value) and "\n" not in str(e.value)


def test_bad_top_k_and_seed(real):
    with pytest.raises(UserError, match="top_k"):
        sample(real, 1.0, seed=0, top_k=0)
    with pytest.raises(UserError, match="seed"):
        sample(real, 1.0, seed=-3)


def test_top_tokens_match_trace(real):
    ours = top_tokens(real, 5, temperature=0.5)
    theirs = real.top_next(5, temperature=0.5)
    assert [s for _, s, _ in ours] == [s for s, _ in theirs]
    np.testing.assert_allclose([p for *_, p in ours], [p for _, p in theirs], rtol=1e-12)
    assert ours[0][1] == " Paris"          # the real model's prediction
    assert token_strs(real, [o[0] for o in ours]) == real.token_strs([o[0] for o in ours])


# ---------------------------------------------------------------------- generation
@pytest.mark.parametrize("fixture", ["tiny_gpt2_dir", "tiny_llama_dir"])
def test_generation_steps_are_the_real_traces(request, fixture):
    model = str(request.getfixturevalue(fixture))
    g = generate("Hello there, my friend", model=model, steps=3, temperature=1.0, seed=5, n_top=6)
    assert 1 <= len(g.steps) <= 3 and g.temperature == 1.0
    tok = trace(g.prompt, model, quiet=True).tokenizer
    ids = list(trace(g.prompt, model, quiet=True).token_ids)
    n_prompt = len(ids)
    for i, s in enumerate(g.steps):
        t = trace(s.text, model, quiet=True)
        assert s.tokens == t.tokens and s.token_ids == t.token_ids.tolist()
        p = softmax_np(t.logits[-1], 1.0)
        assert [j for j, _, _ in s.top] == np.argsort(-p, kind="stable")[:6].tolist()
        np.testing.assert_allclose([q for *_, q in s.top], p[[j for j, _, _ in s.top]], rtol=1e-12)
        assert s.sampled_prob == pytest.approx(p[s.sampled_id], rel=1e-12)
        assert s.sampled_rank == int((p > p[s.sampled_id]).sum())
        assert s.greedy_id == int(np.argmax(t.logits[-1]))
        assert s.retokenized == (t.token_ids.tolist() != ids)
        # the step's text is the prompt plus every token appended before it
        assert s.text == g.prompt + tok.decode(ids[n_prompt:])
        ids.append(s.sampled_id)
    assert g.text == g.prompt + tok.decode(ids[n_prompt:])


def test_generation_is_reproducible_and_cached(tiny_gpt2_dir, monkeypatch):
    model = str(tiny_gpt2_dir)
    a = generate("Hello there, my friend", model=model, steps=3, temperature=2.0, seed=11)
    # the same seed again comes from the cache: no trace (no model) is needed
    import sys

    monkeypatch.setattr(sys.modules["tensors.trace"], "trace",
                        lambda *a, **k: pytest.fail("generate re-ran the model"))
    b = generate("Hello there, my friend", model=model, steps=3, temperature=2.0, seed=11)
    assert a == b
    monkeypatch.undo()
    # recomputed without the cache: identical
    c = generate("Hello there, my friend", model=model, steps=3, temperature=2.0, seed=11,
                 use_cache=False)
    assert c == a
    # another seed draws other tokens (random weights at T=2: broad distributions)
    d = generate("Hello there, my friend", model=model, steps=3, temperature=2.0, seed=12,
                 use_cache=False)
    assert [s.sampled_id for s in d.steps] != [s.sampled_id for s in a.steps]


def test_generation_with_the_real_model():
    g = generate(PROMPT, "smollm2", steps=2, temperature=0.1, seed=0)
    # at T=0.1 the real model continues with its argmax, " Paris"
    assert g.steps[0].sampled == " Paris" == g.steps[0].greedy
    assert g.steps[0].top[0][1] == " Paris" and g.steps[0].top[0][2] > 0.99
    assert g.text.startswith(PROMPT + " Paris")


def test_generation_bad_input(tiny_gpt2_dir):
    with pytest.raises(UserError, match="temperature"):
        generate("hi", model=str(tiny_gpt2_dir), temperature=0)
    with pytest.raises(UserError, match="steps"):
        generate("hi", model=str(tiny_gpt2_dir), steps=0)


def test_generation_stops_at_end_of_text_with_the_real_model():
    """A drawn special token (end of text) ends the generation and is not appended."""
    from tensors import trace

    special = set(trace("The capital of France is", "smollm2", quiet=True).tokenizer.all_special_ids)
    stopped = 0
    for seed in range(3):
        g = generate("The capital of France is", "smollm2", steps=6, temperature=1.0, seed=seed)
        for s in g.steps:
            assert s.stop == (s.sampled_id in special)
        if g.steps[-1].stop:
            stopped += 1
            assert "<|" not in g.text
    assert stopped >= 1  # seed 0 draws " Paris", ".", then end of text
