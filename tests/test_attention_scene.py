"""The attention scene: it renders, it shows the Trace's numbers (and only those), the head
rule picks what it says, other model families work, bad knobs fail in one line."""
from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from manim import tempconfig

from scenes.attention import AttentionScene
from scenes.kit.analysis.attention import head_scores, pick_query, select_head
from scenes.kit.text import number_str
from scenes.kit.theme import pct
from tensors import trace

ROOT = Path(__file__).resolve().parents[1]


def _run(cls, tmp_path, dry_run: bool = False):
    """Build the whole scene (every beat) without encoding video; return the scene."""
    opts = {"media_dir": str(tmp_path / "media"), "quality": "low_quality"}
    if dry_run:  # every frame is drawn (not written); 5 fps keeps the test short
        opts.update(dry_run=True, frame_rate=5)
    with tempconfig(opts):
        scene = cls() if dry_run else cls(skip_animations=True)
        scene.render()
    return scene


def _texts_match(mobs, values):
    """Every displayed string is the formatted real value it claims to show."""
    for m, v in zip(mobs, values):
        assert m.value == pytest.approx(float(v), rel=1e-6, abs=1e-7)


def _column_check(cols, M, positions, entries):
    assert [c.position for c in cols] == list(positions)
    for c, p in zip(cols, positions):
        np.testing.assert_allclose(c.values, M[p, :entries], rtol=1e-6)
        digits = len(c.entries[0].text.split(".")[-1])
        for e, x in zip(c.entries, c.values):
            assert e.text == number_str(x, digits)          # the printed string is the value


def test_dry_run_renders_every_beat(tmp_path):
    scene = _run(AttentionScene, tmp_path, dry_run=True)
    assert list(scene.beat_times) == list(AttentionScene.beats)
    assert scene.renderer.time > 30          # a real video's worth of beats and pauses


def test_displayed_numbers_are_the_trace(tmp_path):
    scene = _run(AttentionScene, tmp_path)
    t = trace(AttentionScene.prompt)
    L, H, Q, k = scene.L, scene.H, scene.Q, scene.entries
    sh = scene.shown
    # 1-2: vectors and weight blocks
    _column_check(sh["x"], t.resid[L], scene.cols, k)
    _column_check(sh["q"], t.q[L, H], scene.cols, k)
    _column_check(sh["k"], t.k[L, H], scene.cols, k)
    np.testing.assert_allclose(sh["W_Q"].values, t.block("W_Q", L, H, slice(0, 6), slice(0, 4)))
    np.testing.assert_allclose(sh["W_K"].values, t.block("W_K", L, H, slice(0, 6), slice(0, 4)))
    assert sh["W_Q"].full_shape == (t.info["d_model"], t.info["d_head"])
    assert sh["W_Q"].shape_text.text == f"{t.info['d_model']:,} × {t.info['d_head']:,}"
    # 3-5: the grids, cell by cell, and the printed numbers
    qk = t.q[L, H].astype(np.float64) @ t.k[L, H].astype(np.float64).T
    np.testing.assert_allclose(sh["qk"].values, qk, rtol=1e-6)
    np.testing.assert_allclose(sh["scaled"].values, qk * t.info["attn_scale"], rtol=1e-6)
    # the scaled dot products are the model's own scores where not masked
    low = np.tril_indices(t.n_pos)
    np.testing.assert_allclose(sh["scaled"].values[low], t.scores[L, H][low], rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(sh["scores"].values, t.scores[L, H])
    assert np.isneginf(sh["scores"].values[np.triu_indices(t.n_pos, 1)]).all()
    np.testing.assert_allclose(sh["pattern"].values, t.pattern[L, H])
    for g in (sh["qk"], sh["scores"], sh["pattern"]):
        vals = [c.value for c in g.cells]
        np.testing.assert_allclose(vals, g.values.ravel())
        for num in g.numbers:
            if math.isinf(num.value):
                assert num.text == "−∞"
    assert [n.text for n in sh["scores"].numbers][1] == "−∞"
    # 6: values, weights, the weighted sum, the change to the residual stream
    keys = [p for p in scene.cols if p <= Q]
    _column_check(sh["v"], t.v[L, H], keys, k)
    w = t.pattern[L, H, Q]
    assert [m.text for m in sh["weights"]] == [pct(w[p]) for p in keys]
    z = w.astype(np.float64) @ t.v[L, H].astype(np.float64)
    np.testing.assert_allclose(sh["z"].values, z[:k], rtol=1e-5)
    np.testing.assert_allclose(sh["head_out"].values, t.head_out[L, H, Q, :6])
    np.testing.assert_allclose(sh["new_x"].values, (t.resid[L, Q] + t.head_out[L, H, Q])[:6],
                               rtol=1e-6)
    # 7: every head of the layer, with the rule's score under it
    multi = sh["multi"]
    assert len(multi) == t.info["n_head"]
    for h, cell in enumerate(multi):
        np.testing.assert_allclose(cell[0].values, t.pattern[L, h])
        assert cell[2].value == pytest.approx(head_scores(t.pattern[L, h]))
    # 8: arcs carry the real weights
    arcs = sh["arcs"]
    np.testing.assert_allclose(arcs.values, t.pattern[L, H, Q, sh["arc_positions"]])
    assert scene.shown["prediction"] == t.top_next(1)[0]       # inputs vs prediction note
    drawn = [a for a in arcs.arcs if a is not None]
    widths = [a.get_stroke_width() for a in drawn]
    order = np.argsort([a.value for a in drawn])
    assert widths[order[-1]] >= widths[order[0]]   # heavier weight, thicker arc


def test_head_rule_on_constructed_patterns():
    n = 6
    sink = np.zeros((n, n)); sink[:, 0] = 1
    diag = np.eye(n)
    prev = np.zeros((n, n)); prev[0, 0] = 1
    for q in range(1, n):
        prev[q, q - 1] = 1
    content = np.tril(np.ones((n, n))); content /= content.sum(-1, keepdims=True)
    pats = np.stack([np.stack([sink, diag, prev]), np.stack([diag, content, sink])])
    s = head_scores(pats)
    assert s.shape == (2, 3)
    assert s[0, 0] == s[0, 1] == s[0, 2] == 0 and s[1, 1] > 0.25
    assert select_head(pats)[:2] == (1, 1)
    l, h, masked = select_head(pats, layers=[0])
    assert l == 0 and np.isneginf(masked[1]).all()
    # the attending token: the last one unless it only looks at the first token or itself
    assert pick_query(content) == n - 1
    late_sink = content.copy(); late_sink[-1] = 0; late_sink[-1, 0] = 1
    assert pick_query(late_sink) == n - 2


def test_default_head_follows_the_rule_on_the_real_trace(tmp_path):
    t = trace(AttentionScene.prompt)
    scores = head_scores(t.pattern)
    scene = AttentionScene()
    scene.trace = t
    scene.prepare()
    assert (scene.L, scene.H) == np.unravel_index(np.argmax(scores), scores.shape)
    assert scene.head_score_table[scene.L, scene.H] == scores.max()
    # the chosen head is not an attention sink: most of its mass is off the first token
    assert t.pattern[scene.L, scene.H, 2:, 0].mean() < 0.5


def test_knobs_layer_head_query(tmp_path):
    class Mine(AttentionScene):
        prompt = "the quick brown fox jumps over the lazy dog"
        layer, head, query = 3, 1, 4
        beats = ("beat_softmax", "beat_arcs")     # skip beats: each builds what it needs
    scene = _run(Mine, tmp_path)
    t = trace(Mine.prompt)
    assert (scene.L, scene.H, scene.Q) == (3, 1, 4)
    np.testing.assert_allclose(scene.shown["pattern"].values, t.pattern[3, 1])
    assert list(scene.beat_times) == ["beat_softmax", "beat_arcs"]


def test_gpt2_shaped_model(tmp_path, tiny_gpt2_dir):
    class Gpt2(AttentionScene):
        model = str(tiny_gpt2_dir)
    scene = _run(Gpt2, tmp_path)
    t = trace(Gpt2.prompt, str(tiny_gpt2_dir))
    assert t.info["family"] == "gpt2"
    assert scene.x_name in ("token + position embedding", f"residual stream entering layer {scene.L}")
    np.testing.assert_allclose(scene.shown["pattern"].values, t.pattern[scene.L, scene.H])
    _column_check(scene.shown["x"], t.resid[scene.L], scene.cols, scene.entries)
    assert scene.shown["W_Q"].full_shape == (t.info["d_model"], t.info["d_head"])


def test_long_prompt_display_rule(tmp_path):
    words = ("the fluffy blue creature roamed the verdant forest while a small red bird "
             "sang over the quiet river and ").split()
    prompt = " ".join(words[i % len(words)] for i in range(60))

    class Long(AttentionScene):
        pass
    Long.prompt = prompt
    scene = _run(Long, tmp_path)
    t = trace(prompt)
    n = t.n_pos
    assert n > 40
    assert len(scene.cols) == scene.max_columns and scene.cols[-1] == n - 1
    g = scene.shown["pattern"]
    assert g.as_image and len(g.numbers) == 0                      # one image, no numbers
    np.testing.assert_allclose(g.values, t.pattern[scene.L, scene.H])
    assert len(scene.shown["arc_positions"]) == scene.max_arc_tokens
    notes = [m.text for m in scene.grid_notes if hasattr(m, "text")]
    assert any("numbers are" in s for s in notes)                  # the rule is on screen


def test_no_random_filler_in_scenes():
    for f in (ROOT / "scenes").glob("*.py"):
        src = f.read_text()
        assert "np.random" not in src and "import random" not in src, f


def test_out_of_range_head_is_a_user_error():
    from tensors import UserError

    class BadHead(AttentionScene):
        head = -40
    scene = BadHead()
    scene.trace = trace(AttentionScene.prompt)
    with pytest.raises(UserError, match=r"^head = -40 — must be 0 to 8: .* has 9 heads per layer$"):
        scene.prepare()


@pytest.mark.parametrize("knob", ["layer = 99"])
def test_out_of_range_is_one_line_exit_2(tmp_path, knob):
    src = tmp_path / "bad_scene.py"
    src.write_text(textwrap.dedent(f"""
        from scenes.attention import AttentionScene
        class Bad(AttentionScene):
            {knob}
    """))
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    r = subprocess.run([sys.executable, "-m", "manim", "render", "-ql", "--dry_run", str(src), "Bad"],
                       capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert r.returncode == 2, r.stderr[-2000:]
    lines = [ln for ln in r.stderr.splitlines() if "error" in ln.lower()]
    assert len(lines) == 1 and "layer = 99 — must be 0 to 29" in lines[0], r.stderr[-2000:]
    assert "Traceback" not in r.stderr


def test_llama_gqa_model_with_biases(tmp_path, tiny_llama_dir):
    """Grouped-query attention (6 query heads, 2 kv heads), q/k/v biases, untied: W_K shown
    is the kv head this query head reads."""
    class Gqa(AttentionScene):
        model = str(tiny_llama_dir)
        beats = ("beat_qk", "beat_softmax")
    scene = _run(Gqa, tmp_path)
    t = trace(Gqa.prompt, str(tiny_llama_dir))
    kv = t.kv_head_of(scene.H)
    np.testing.assert_allclose(scene.shown["W_K"].values,
                               t.weights.get("W_K", (scene.L, kv, slice(0, 6), slice(0, 4))))
    np.testing.assert_allclose(scene.shown["pattern"].values, t.pattern[scene.L, scene.H])
