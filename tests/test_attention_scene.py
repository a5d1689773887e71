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


def _rows_check(m, M, positions, entries):
    """A row matrix on screen: the rows of the given positions, the first entries, printed
    as the real values (tokens are rows: x @ W)."""
    assert list(m.positions) == list(positions)
    np.testing.assert_allclose(m.values, np.asarray(M)[list(positions), :entries], rtol=1e-6)
    digits = len(m.entry(0, 0).text.split(".")[-1])
    for r in range(m.values.shape[0]):
        for c in range(m.values.shape[1]):
            assert m.entry(r, c).text == number_str(m.values[r, c], digits)


def test_dry_run_renders_every_beat(tmp_path):
    scene = _run(AttentionScene, tmp_path, dry_run=True)
    assert list(scene.beat_times) == list(AttentionScene.beats)
    assert scene.renderer.time > 30          # a real video's worth of beats and pauses


def test_displayed_numbers_are_the_trace(tmp_path):
    scene = _run(AttentionScene, tmp_path)
    t = trace(AttentionScene.prompt)
    L, H, Q, k = scene.L, scene.H, scene.Q, scene.entries
    sh = scene.shown
    # 1-3: x, its norm x̂ (what q, k, v read), q and k as the dot products use them
    _rows_check(sh["x"], t.resid[L], scene.cols, k)
    _rows_check(sh["xhat"], t.attn_in[L], scene.cols, k)
    assert not np.allclose(t.attn_in[L], t.resid[L])           # the norm is a real step
    _rows_check(sh["q"], t.q[L, H], scene.cols, 2)
    _rows_check(sh["k"], t.k[L, H], scene.cols, 2)
    np.testing.assert_allclose(sh["W_Q"].values, t.block("W_Q", L, H, slice(0, k), slice(0, 2)))
    np.testing.assert_allclose(sh["W_K"].values, t.block("W_K", L, H, slice(0, k), slice(0, 2)))
    # q and k computed on screen: the worked entry counts through the real partial sums
    p = Q if Q in scene.cols else scene.cols[-1]
    xq = t.attn_in[L, p].astype(np.float64)
    for name, W in (("q_product", t.block("W_Q", L, H)), ("k_product", t.block("W_K", L, H))):
        pr = sh[name]
        sums = [v for r, j, _, v in pr.history]
        np.testing.assert_allclose(sums, np.cumsum(xq[:k] * W[:k, 0].astype(np.float64)), rtol=1e-12)
        assert pr.done == {(r, j) for r in range(len(scene.cols)) for j in range(2)}
    # RoPE: the pair drawn turned by the real angle, and lands on the Trace's rotated q
    rp = t.info["rope"]
    pos, i, j, ang = sh["rope_pair"]
    assert ang == pytest.approx(pos * rp["theta"] ** (-2 * i / rp["dims"]))
    assert j == i + rp["dims"] // 2 and 0 < ang <= 1.5 * math.pi
    np.testing.assert_allclose(sh["rope_after"].values[:, 0], t.q[L, H, pos, [i, j]], rtol=1e-6)
    # the worked cell: q_Q · k_j over all d_head terms
    wd = sh["worked_dot"]
    jj = int(np.argmax(t.pattern[L, H, Q]))
    assert wd.result[0, 0] == pytest.approx(float(t.q[L, H, Q].astype(np.float64) @ t.k[L, H, jj]))
    assert sh["W_Q"].full_shape == (t.info["d_model"], t.info["d_head"])
    assert sh["W_Q"].shape_text.text == f"{t.info['d_model']:,} × {t.info['d_head']:,}"
    # 4-6: the grids, cell by cell, and the printed numbers
    qk = t.q[L, H].astype(np.float64) @ t.k[L, H].astype(np.float64).T
    np.testing.assert_allclose(sh["qk"].values, qk, rtol=1e-6)
    scale = t.info["layers"][L]["attn_scale"]
    np.testing.assert_allclose(sh["scaled"].values, qk * scale, rtol=1e-6)
    low = np.tril_indices(t.n_pos)
    np.testing.assert_allclose(sh["scaled"].values[low], t.scores[L, H][low], rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(sh["scores"].values, t.scores[L, H])
    # softmax worked step by step: scores, exp(s − max), weights of the listed keys
    tab = sh["softmax_table"]
    s_row = t.scores[L, H, Q, :Q + 1].astype(np.float64)
    e_row = np.exp(s_row - s_row.max())
    np.testing.assert_allclose([m.value for m in tab.s], s_row[tab.key_list])
    np.testing.assert_allclose([m.value for m in tab.e], e_row[tab.key_list])
    np.testing.assert_allclose([m.value for m in tab.w], t.pattern[L, H, Q, tab.key_list])
    assert np.isneginf(sh["scores"].values[np.triu_indices(t.n_pos, 1)]).all()
    np.testing.assert_allclose(sh["pattern"].values, t.pattern[L, H])
    for g in (sh["qk"], sh["scores"], sh["pattern"]):
        vals = [c.value for c in g.cells]
        np.testing.assert_allclose(vals, g.values.ravel())
        for num in g.numbers:
            if math.isinf(num.value):
                assert num.text == "−∞"
    assert [n.text for n in sh["scores"].numbers][1] == "−∞"
    # 7: values, weights, z, this head's contribution, the layer's real update
    keys = [p for p in scene.cols if p <= Q]
    _rows_check(sh["v"], t.v[L, H], keys, 2)
    w = t.pattern[L, H, Q]
    np.testing.assert_allclose([m.value for m in sh["weights"]], w[keys])
    np.testing.assert_allclose(sh["z"].values[0], t.z[L, H, Q, :2], rtol=1e-6)
    np.testing.assert_allclose(sh["head_out"].values[0], t.head_out[L, H, Q, :3], rtol=1e-6)
    ne = sh["new_x"].values.shape[1]
    np.testing.assert_allclose(sh["new_x"].values[0], t.resid_mid[L, Q, :ne], rtol=1e-6)
    # the head-choice note says what was searched
    assert "270 heads searched" in " ".join(m.text for m in sh["why"] if hasattr(m, "text"))
    # 8: every head of the layer, with the rule's score under it
    multi = sh["multi"]
    assert len(multi) == t.info["n_head"]
    for h, cell in enumerate(multi):
        np.testing.assert_allclose(cell[0].values, t.pattern[L, h])
        assert cell[2].value == pytest.approx(head_scores(t.pattern[L, h]))
    # 9: arcs carry the real weights
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
    assert select_head(s)[:2] == (1, 1)
    l, h, masked = select_head(s, layers=[0])
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
    _rows_check(scene.shown["x"], t.resid[scene.L], scene.cols, scene.entries)
    _rows_check(scene.shown["xhat"], t.attn_in[scene.L], scene.cols, scene.entries)
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
    pos = scene.shown["arc_positions"]
    assert scene.Q in pos and len(pos) <= scene.max_arc_tokens and pos == list(range(pos[0], pos[-1] + 1))
    assert "numbers are printed when they fit" in scene.shown["rule"]   # the rule is on screen
    Q = scene.Q
    shown_keys = [p for p in scene.cols if p <= Q]
    assert scene.shown["omission"] == (f"{len(shown_keys)} of {Q + 1} keys shown; "
                                       f"the sum is over all {Q + 1}")


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
                               t.weights.get("W_K", (scene.L, kv, slice(0, scene.entries), slice(0, 2))))
    np.testing.assert_allclose(scene.shown["pattern"].values, t.pattern[scene.L, scene.H])


# ====================================================================== the product piece
def _product_demo(d: int = 7, k: int = 3):
    """A product of real-looking float32 numbers (a fixed, non-random pattern)."""
    from scenes.kit.pieces import WeightMatrix
    from scenes.kit.pieces.product import MatrixProduct
    x = (np.sin(np.arange(2 * d).reshape(2, d) * 1.3) * 0.8).astype(np.float32)
    W = (np.cos(np.arange(d * 4).reshape(d, 4) * 0.7) * 0.3).astype(np.float32)
    b = np.linspace(-0.1, 0.2, 4).astype(np.float32)
    out_vals = x.astype(np.float64) @ W + b
    p = MatrixProduct(WeightMatrix(x[:, :k], (2, d)), WeightMatrix(W[:k, :3], (d, 4)),
                      WeightMatrix(out_vals[:, :3], (2, 4)), x=x, W=W, b=b,
                      names=("x̂", "W_Q", "b_Q"))
    return p, x, W, b


def test_product_piece_counts_real_partial_sums(tmp_path):
    """The counting entries show the float64 cumulative sums of the shown operands, every
    one of them goes into the ledger, and the entry lands on the model's value."""
    from manim import Create, FadeIn, Scene
    from scenes.kit import ledger
    from scenes.kit.ledger import LedgerMixin

    class Host(LedgerMixin, Scene):
        def construct(self):
            self.p, self.x, self.W, self.b = _product_demo()
            self.play(FadeIn(self.p))
            # FadeIn shows operands and the result's frame, no result entry yet
            assert not any(e in self.mobjects for e in self.p.out.entries)
            self.play(Create(self.p))
            self.p.work(self, 1, [2])
            self.p.work(self, 0, [0, 1])          # a row's entries counting together
            self.p.sweep(self)

    with tempconfig({"media_dir": str(tmp_path), "quality": "low_quality"}):
        s = Host(skip_animations=True)
        s.render()
    p, x, W = s.p, s.x.astype(np.float64), s.W.astype(np.float64)
    want = {(r, j): np.cumsum(x[r, :p.k] * W[:p.k, j]) for r, j in ((1, 2), (0, 0), (0, 1))}
    seen: dict = {}
    for r, j, text, v in p.history:
        seen.setdefault((r, j), []).append(v)
        assert text == number_str(v, p.digits)                  # the shown text is that sum
    for key, sums in want.items():
        np.testing.assert_array_equal(seen[key], sums)          # exactly the float64 sums
    # each shown entry is the model's value (the ledger recomputes x·W + b in full)
    res = x @ W + s.b
    for r in range(2):
        for j in range(3):
            assert p.out.entry(r, j).text == number_str(res[r, j], p.digits)
    assert all(ledger.error(e) < 1e-5 for e in s.ledger)
    assert sum("sum of the first" in e.text for e in s.ledger) == 2 * p.k   # one per step of each work
    assert p.out in s.mobjects and all(e in s.mobjects or e in p.out.get_family()
                                       for e in p.out.entries)
    # a wrong operand is refused, not drawn
    from scenes.kit.pieces import WeightMatrix
    from scenes.kit.pieces.product import MatrixProduct
    with pytest.raises(ValueError, match="not W"):
        MatrixProduct(p.vec, WeightMatrix(W[:3, :3] + 1, (7, 4)), p.out, x=x, W=W)
