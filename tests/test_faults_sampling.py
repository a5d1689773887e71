"""Issue 22: softmax and sampling are exact and finite for every T > 0 and every finite
logit range (log-space; T -> 0 is the argmax), and generation at a tiny T is greedy."""
from __future__ import annotations

import numpy as np
import pytest

from tensors.sampling import distribution, greedy, sample, softmax

TEMPS = [1e-320, 1e-300, 1e-9, 1.0, 1e9]
ROWS = [[3.0, 2.0, 1.0], [1e30, -1e30, 0.0], [-1e30, -1e30 + 1e15, -1e30], [0.5, 1e30, -1e30, 1e30 - 1e15],
        [1e308, -1e308, 0.0], [-3.0, -2.0, -2.0 - 1e-12]]


def exact(z: np.ndarray, T: float) -> np.ndarray:
    """softmax(z / T) by the textbook formula in exact arithmetic (fractions of exp via
    Python floats on differences; differences that underflow give 0)."""
    import math

    m = max(z)
    w = [math.exp(max((x - m) / T, -745.2)) if (x - m) / T > -745.2 else 0.0 for x in z]
    s = sum(w)
    return np.array([x / s for x in w])


@pytest.mark.parametrize("T", TEMPS)
@pytest.mark.parametrize("row", ROWS)
def test_softmax_is_finite_and_exact_for_every_T_and_logit_range(T, row):
    z = np.array(row)
    p = softmax(z, T)
    assert np.isfinite(p).all() and abs(p.sum() - 1) < 1e-12 and (p >= 0).all()
    np.testing.assert_allclose(p, exact(row, T), rtol=1e-12, atol=1e-300)
    assert p[greedy(z)] == p.max()                               # the argmax is the argmax at every T
    if abs(z).max() < 3e38:                                      # float32 (the attention's) too
        q = softmax(z.astype(np.float32), T, dtype=np.float32)
        assert np.isfinite(q).all() and q[int(np.argmax(z.astype(np.float32)))] == q.max()


@pytest.mark.parametrize("T", [1e-320, 1e-300, 1e-9])
def test_tiny_temperature_is_the_argmax(T):
    assert sample([3, 2, 1], temperature=T).tolist() == [0]
    assert sample(np.array([1e30, -1e30, 1e30 - 1e16]), temperature=T, n=5).tolist() == [0] * 5
    np.testing.assert_array_equal(distribution(np.array([-1e30, 1e30, 0.0]), T), [0, 1, 0])
    assert softmax(np.array([2.0, 2.0, 1.0]), T).tolist() == [0.5, 0.5, 0.0]   # a tie is shared


def test_huge_temperature_is_uniform_and_samples_everything():
    p = softmax(np.array([3.0, 2.0, 1.0]), 1e9)
    np.testing.assert_allclose(p, 1 / 3, rtol=1e-8)
    assert set(sample([3.0, 2.0, 1.0], temperature=1e9, n=200).tolist()) == {0, 1, 2}


def test_generation_at_a_tiny_temperature_is_greedy(tiny_gpt2_dir):
    from tensors.generate import generate

    g = generate("the cat sat on the mat", str(tiny_gpt2_dir), steps=3, temperature=1e-320)
    assert len(g.steps) >= 1 and g.text != "the cat sat on the mat"      # tokens were added
    assert all(s.sampled_id == s.greedy_id and s.sampled_prob == 1.0 for s in g.steps)
