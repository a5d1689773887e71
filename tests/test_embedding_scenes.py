"""The input-side scenes: tokenization, embedding lookup, embedding space.

Dry-run renders with the bundled model and the tiny GPT-2 / Llama fixtures; the numbers a
scene keeps on screen are compared with the Trace (or recomputed from W_E); golden frames
for the pieces in scenes/embedding_pieces.py.
"""
from __future__ import annotations

import numpy as np
import pytest
from manim import DOWN, UP, VGroup, tempconfig
from manim.utils.testing.frames_comparison import frames_comparison

from scenes.embedding import EmbeddingScene
from scenes.kit.analysis.embedding import ModelVectors, analogy, direction, pca3
from scenes.kit.pieces import EmbeddingMatrix, column_plan
from scenes.kit.text import displayable, flatten
from scenes.embedding_space import EmbeddingSpaceScene
from scenes.tokenization import TokenizationScene
from tensors import UserError, trace

__module_test__ = "test_embedding_scenes"

MODELS = ["bundled", "tiny_gpt2_dir", "tiny_llama_dir"]
# the tiny Llama uses the bundled model's tokenizer: for tokenization and the embedding
# space it adds nothing but render time, so those run on the bundled model and GPT-2
TWO = ["bundled", "tiny_gpt2_dir"]


# one trace cache for the whole module (see conftest.shared_traces)
pytestmark = pytest.mark.usefixtures("shared_traces")


def render(cls, tmp_path, **knobs):
    scene_cls = type(cls.__name__ + "Under", (cls,), knobs)
    with tempconfig({"dry_run": True, "media_dir": str(tmp_path), "quality": "low_quality",
                     "disable_caching": True}):
        scene = scene_cls()
        scene.render()
    return scene


def model_of(request, which):
    return "smollm2" if which == "bundled" else str(request.getfixturevalue(which))


# ---------------------------------------------------------------------- data helpers
def test_pca3_reconstructs_and_orders():
    X = np.array([[3.0, 0, 0, 1], [-3, 0, 0, 1], [0, 2, 0, 1], [0, -2, 0, 1], [0, 0, 1, 1],
                  [0, 0, -1, 1]])
    P = pca3(X)
    assert np.allclose(P.coords @ P.components + P.mean, X)
    assert P.explained[0] > P.explained[1] > P.explained[2] > 0
    assert P.explained.sum() == pytest.approx(1.0)
    assert np.allclose(P.project(X[0]), P.coords[0])


def test_column_plan_gaps():
    assert column_plan([7, 2, 3, 7], 10) == [0, None, 2, 3, None, 7, None, 9]
    assert column_plan([0, 1, 9], 10) == [0, 1, None, 9]


def test_analogy_is_the_whole_vocabulary_ranking():
    t = trace("The capital of France is", "smollm2", quiet=True)
    src = ModelVectors(t)
    an = analogy(src, "king", "man", "woman", "queen", k=6)
    ids = [t.encode(w)[0] for w in (" king", " man", " woman", " queen")]
    v = t.W_E([ids[0]])[0].astype(np.float64) - t.W_E([ids[1]])[0] + t.W_E([ids[2]])[0]
    assert np.allclose(an.vec, v)
    near = t.nearest(v, k=6)  # the Trace's own nearest-token search agrees
    assert [k for _, k, _, _ in an.top] == [i for i, _, _ in near]
    np.testing.assert_allclose([c for *_, c in an.top], [c for *_, c in near], atol=1e-5)
    # the expected answer's rank is its true rank over the whole vocabulary
    cos = src.cosines(v)
    assert an.expected_rank == int((cos > cos[ids[3]]).sum()) + 1
    assert an.expected_cos == pytest.approx(float(cos[ids[3]]))
    # leaving the inputs out removes exactly them
    ex = analogy(src, "king", "man", "woman", "queen", k=6, exclude_inputs=True)
    assert not set(ids[:3]) & {k for _, k, _, _ in ex.top}


def test_direction_scores_are_dot_products():
    t = trace("The capital of France is", "smollm2", quiet=True)
    src = ModelVectors(t)
    d = direction(src, "plural", [("cat", "cats"), ("dog", "dogs")], [("bird", "birds")])
    E = lambda w: t.W_E([t.encode(w)[0]])[0].astype(np.float64)
    u = (E(" cats") - E(" cat") + E(" dogs") - E(" dog")) / 2
    u /= np.linalg.norm(u)
    assert np.allclose(d.unit, u)
    assert d.tested[0][2:] == pytest.approx((E(" bird") @ u, E(" birds") @ u))
    assert d.n_agree == int(E(" birds") @ u > E(" bird") @ u)


def test_multi_token_word_is_a_one_line_user_error():
    t = trace("The capital of France is", "smollm2", quiet=True)
    with pytest.raises(UserError, match="'tokenization' is 2 tokens .*' token' \\+ 'ization'"):
        ModelVectors(t).key("tokenization")


def test_displayable_never_draws_nothing():
    assert displayable(" king") == " king"
    assert displayable("ש") == "U+05E9"      # manim's Text drops right-to-left scripts
    assert displayable("\u200b") == "U+200B"


# ---------------------------------------------------------------------- scenes
@pytest.mark.parametrize("which", TWO)
def test_tokenization_numbers_are_the_trace(request, tmp_path, which):
    model = model_of(request, which)
    s = render(TokenizationScene, tmp_path, model=model)
    t = trace(s.prompt, model, quiet=True)
    assert [m.value for m in s.ids] == t.token_ids.tolist()
    assert s.boxes.tokens == [displayable(x) for x in t.tokens]
    for text, ids, strs in s.splits:
        assert ids == t.encode(text) and len(ids) > 1
        assert strs == [displayable(x) for x in t.token_strs(ids)]
    for word, boxes, nums, ids, strs in s.split_mobs:
        assert [n.value for n in nums] == ids
    assert s.vocab_size == t.info["vocab_size"]
    assert [c.token_id for c in s.vocab_cells] == s.sample_ids
    assert [c.token for c in s.vocab_cells] == [displayable(x) for x in t.token_strs(s.sample_ids)]


@pytest.mark.parametrize("which", MODELS)
def test_embedding_numbers_are_the_trace(request, tmp_path, which):
    model = model_of(request, which)
    s = render(EmbeddingScene, tmp_path, model=model)
    t = trace(s.prompt, model, quiet=True)
    n, d = s.n, s.dims
    # the matrix shows real rows of W_E (tokens as rows), and the parameter count is
    # vocab × d_model
    for i, row in zip(s.W.ids, s.W.rows):
        np.testing.assert_array_equal([e.value for e in row], t.W_E([i])[0][:d])
    assert s.W.shape_text.text == f"{t.info['vocab_size']:,} × {t.info['d_model']:,}"
    assert s.params == t.info["vocab_size"] * t.info["d_model"]
    # looked-up vectors: the Trace's embed (which is W_E's row for the id: a lookup)
    for k in range(n):
        np.testing.assert_array_equal(s.vecs[k].values[0], t.embed[k, :d])
        np.testing.assert_array_equal(t.embed[k], t.W_E([int(t.token_ids[k])])[0])
    if t.info["positional"] == "learned":
        for k in range(n):
            np.testing.assert_array_equal(s.pos_vecs[k].values[0], t.pos_embed[k, :d])
            np.testing.assert_array_equal(s.sums[k].values[0], t.resid[0, k, :d])
            np.testing.assert_allclose(t.resid[0, k], t.embed[k] + t.pos_embed[k], atol=1e-6)
    else:
        assert t.pos_embed is None and not hasattr(s, "pos_vecs")
        # resid[0] is block 0's input read by a hook inside the model, not a copy of embed:
        # the check on screen compares two independently obtained arrays
        assert s.rope_check.value == float(np.abs(t.resid[0, :n] - t.embed[:n]).max())
        assert s.rope_check.value < 1e-6


@pytest.mark.parametrize("which", TWO)
def test_embedding_space_numbers_are_the_trace(request, tmp_path, which):
    model = model_of(request, which)
    s = render(EmbeddingSpaceScene, tmp_path, model=model)
    t = trace(s.prompt, model, quiet=True)
    src = ModelVectors(t)
    # the 3D picture is the PCA of the real rows of W_E
    X = np.stack([t.W_E([src.key(w)])[0] for w in s.word_list]).astype(np.float64)
    P = pca3(X)
    assert np.allclose(np.abs(P.coords), np.abs(s.pca.coords), atol=1e-6)
    # the table: the nearest tokens over the whole vocabulary, as the Trace finds them
    an = s.analogy_results[0]
    near = t.nearest(an.vec, k=s.top_k)
    rows = [r for r in s.table.rows if len(r) == 3]
    assert [r.key for r in rows[:s.top_k]] == [i for i, _, _ in near]
    np.testing.assert_allclose([r[2].value for r in rows[:s.top_k]], [c for *_, c in near],
                               atol=1e-5)
    if an.expected_rank > s.top_k:  # shown below the list with its true rank
        assert rows[-1].rank == an.expected_rank and rows[-1].key == an.expected_key
    # the direction plot: dot products with the unit direction
    d = s.direction_results[-1]
    for row, (w0, w1, s0, s1) in zip(s.direction_plot.rows, d.tested):
        e0, e1 = (t.W_E([src.key(w)])[0].astype(np.float64) for w in (w0, w1))
        assert (row[3].value, row[4].value) == pytest.approx((e0 @ d.unit, e1 @ d.unit))


def test_bad_word_knob_exits_2_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        render(EmbeddingSpaceScene, tmp_path, model="smollm2", words=("king", "queen", "tokenization"))
    assert e.value.code == 2
    err = [l for l in capsys.readouterr().err.strip().splitlines()
           if not l.startswith("[gpt-scenes] ")]  # notes (model, capture), not errors
    assert len(err) == 1 and "tokenization" in err[0] and "single token" in err[0]


def test_bad_vectors_knob_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        render(EmbeddingSpaceScene, tmp_path, model="smollm2", vectors="glove")
    assert e.value.code == 2 and "vectors" in capsys.readouterr().err


# ---------------------------------------------------------------------- word2vec alternative
def test_word2vec_binary_format_round_trip():
    from tensors.word2vec import parse

    words = ["king", "queen", "naïve"]
    vecs = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    blob = b"3 4\n" + b"".join(w.encode() + b" " + v.astype("<f4").tobytes() + b"\n"
                               for w, v in zip(words, vecs))
    wv = parse(blob)
    assert wv.words == words and wv.index["queen"] == 1
    np.testing.assert_array_equal(wv.vectors, vecs)
    from scenes.kit.analysis.embedding import Word2VecVectors

    src = Word2VecVectors(wv)
    assert src.key(" King") == 0 and src.label(2) == "naïve"
    with pytest.raises(UserError, match="'tokenization' is not among the 3 word2vec words"):
        src.key("tokenization")


def test_word2vec_scene_when_the_vectors_are_here(tmp_path):
    from tensors import word2vec

    if not word2vec.path().is_file():
        pytest.skip("word2vec vectors not downloaded (optional; vectors = \"word2vec\")")
    s = render(EmbeddingSpaceScene, tmp_path, model="smollm2", vectors="word2vec",
               beats=("beat_space", "beat_analogy"))
    wv = word2vec.load_word2vec()
    an = s.analogy_results[0]
    v = wv.vectors[wv.index["king"]].astype(np.float64) - wv.vectors[wv.index["man"]] \
        + wv.vectors[wv.index["woman"]]
    cos = wv.unit @ (v / np.linalg.norm(v))
    assert [k for _, k, _, _ in an.top] == np.argsort(-cos, kind="stable")[:s.top_k].tolist()
    assert an.expected_rank == int((cos > cos[wv.index["queen"]]).sum()) + 1


# ---------------------------------------------------------------------- golden frames
@frames_comparison(last_frame=True)
def test_embedding_matrix_piece(scene):
    vals = {i: np.sin(np.arange(4) + i) * 0.2 for i in (0, 5, 6, 99)}
    labels = {0: "<|endoftext|>", 5: " the", 6: "ization", 99: " queen"}
    m = EmbeddingMatrix(column_plan([6, 5], 100), vals, labels, (100, 64), 4)
    m.move_to(0.5 * UP)
    cap = flatten(VGroup(*[m.cols_text.copy()]))
    cap.to_edge(DOWN)
    scene.add(m, cap)


def test_default_lists_adapt_to_the_vocabulary(tmp_path, monkeypatch):
    """Shipped defaults leave out words that are several tokens in a model (and say so);
    an author's own lists are strict (see test_bad_word_knob_exits_2_one_line)."""
    real_key = ModelVectors.key

    def key(self, word, knob="words"):
        if word.strip() in ("actress", "cats"):
            raise UserError(f"{knob}: {word!r} is 2 tokens")
        return real_key(self, word, knob)

    monkeypatch.setattr(ModelVectors, "key", key)
    with tempconfig({"dry_run": True, "media_dir": str(tmp_path), "quality": "low_quality"}):
        s = EmbeddingSpaceScene()
        s.trace = trace(s.prompt, "smollm2", quiet=True)
        s.prepare()
    assert s.skipped == ["cats", "actress"]
    assert "cats" not in s.word_list and "dog" in s.word_list
    plural, fem = s.direction_results
    assert ("cat", "cats") not in plural.pairs and len(plural.pairs) == 3
    assert all("actress" not in p for p in fem.tested) and len(fem.tested) == 4
