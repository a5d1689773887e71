"""Golden frames for the shared visual vocabulary (scenes/vocab.py).

Regenerate after an intended visual change:  pytest tests/test_vocab_frames.py --set_test
The arrays are fixed (not from a model) so the frames only change when the drawing does.
"""
from __future__ import annotations

import numpy as np
from manim import DOWN, LEFT, RIGHT, UP
from manim.utils.testing.frames_comparison import frames_comparison

from scenes.kit.theme import THEME
from scenes.kit.pieces import (AttentionArcs, AttentionGrid, ProbabilityBars, TokenBoxes, VectorColumn,
                          WeightMatrix, heatmap_image)

__module_test__ = "test_vocab_frames"

# deterministic values with both signs and a range of magnitudes
BLOCK = np.round(np.sin(np.arange(24).reshape(4, 6) * 1.7) * np.linspace(0.05, 1.3, 6), 3)
TOKENS = ["a", " fluffy", " blue", " creature", " ver", "d", "ant"]
N = len(TOKENS)
SCORES = np.cos(np.arange(N * N).reshape(N, N) * 0.9) * 3.0
SCORES[np.triu_indices(N, 1)] = -np.inf
PATTERN = np.exp(SCORES - SCORES.max(-1, keepdims=True))
PATTERN /= PATTERN.sum(-1, keepdims=True)


def _bg(scene):
    scene.camera.background_color = THEME.background


@frames_comparison(last_frame=True)
def test_weight_matrix(scene):
    _bg(scene)
    m = WeightMatrix(BLOCK, (576, 49152), label="W_Q", font_size=22)
    scene.add(m, m.highlight_row(1))


@frames_comparison(last_frame=True)
def test_vector_column_and_tokens(scene):
    _bg(scene)
    v = VectorColumn(BLOCK[0, :5], 576, label="E(fluffy)", show_len=True).shift(3 * LEFT)
    tb = TokenBoxes(TOKENS, show_positions=True).scale(0.8).shift(1.5 * RIGHT)
    tb.highlight(3)
    scene.add(v, tb)


@frames_comparison(last_frame=True)
def test_attention_grid_scores(scene):
    _bg(scene)
    g = AttentionGrid(SCORES, TOKENS, TOKENS, mode="scores", cell_size=0.55,
                      show_positions=True)
    scene.add(g.move_to(0.3 * DOWN))


@frames_comparison(last_frame=True)
def test_attention_grid_pattern(scene):
    _bg(scene)
    g = AttentionGrid(PATTERN, TOKENS, TOKENS, mode="pattern", cell_size=0.55)
    small = AttentionGrid(PATTERN, TOKENS, TOKENS, mode="pattern", cell_size=0.3,
                          show_numbers=False, show_labels=False)
    scene.add(g.move_to(2 * LEFT + 0.3 * DOWN), small.move_to(4 * RIGHT))


@frames_comparison(last_frame=True)
def test_large_grid_is_an_image(scene):
    _bg(scene)
    n = 64
    big = np.tril(np.cos(np.add.outer(np.arange(n), np.arange(n)) * 0.3) ** 2)
    big /= big.sum(-1, keepdims=True)
    g = AttentionGrid(big, [None] * n, [None] * n, mode="pattern", cell_size=0.09,
                      show_labels=False)
    assert g.as_image and len(g.cells) == 0        # one image, not 4,096 mobjects
    img = heatmap_image(BLOCK, height=1.5).shift(4 * RIGHT)
    scene.add(g.move_to(1.5 * LEFT), img)


@frames_comparison(last_frame=True)
def test_arcs_and_probability_bars(scene):
    _bg(scene)
    tb = TokenBoxes(TOKENS).scale(0.8).shift(1.2 * UP)
    arcs = AttentionArcs(tb, PATTERN[5, :N], 5)
    bars = ProbabilityBars([" forest", " the", "\n", " and"], [0.55, 0.2, 0.031, 0.0004],
                           max_bar_width=3.0).scale(0.8).shift(2.2 * DOWN)
    scene.add(tb, arcs, bars)
