"""What a scene's interactive page shows, read from the very Trace the scene renders and
chosen by the scene's own ``prepare()`` (the analysis in :mod:`scenes.kit.analysis`).

:func:`scene_page_data` builds the scene as the render does (course config applied, its
Trace loaded, ``prepare()`` run) and returns a JSON-able dict: ``{"scene", "title",
"sections": [...], "tokens": {...}, <section>: {...}, "notes": [...]}``. Arrays are packed by
:func:`pack` (little-endian float32/float64/int32, base64); ``notes`` says what was
quantised or left out.
"""
from __future__ import annotations

import base64
from typing import Any, Sequence

import numpy as np

from tensors.sampling import greedy
from scenes.kit.analysis.lens import lens_all, softmax_rows, top_ids

#: Which sections each story scene's page has (after "tokens", which every page has).
SECTIONS: dict[str, tuple[str, ...]] = {
    "tokenization": (),
    "embedding": ("embed",),
    "transformer": ("writes",),
    "embedding_space": ("space",),
    "attention": ("attention",),
    "mlp": ("mlp",),
    "logit_lens": ("lens",),
    "softmax_temperature": ("softmax",),
    "unembedding": ("softmax",),
    "generation": ("softmax",),
    "kv_cache": ("attention",),
}
#: Attention patterns above this many numbers are stored as 8-bit (the page says so).
PATTERN_EXACT_MAX = 250_000
#: Tokens labelled in the softmax bars (the rest of the vocabulary is summed as "other").
SOFTMAX_BARS = 10
#: Neurons listed by their direct push in the MLP section.
NEURON_BARS = 12


def pack(a: Any, dtype: str = "f32") -> dict[str, Any]:
    """An array as JSON: ``{"dtype", "shape", "b64"}`` (little-endian; f32, f64, i32 or u8)."""
    np_dtype = {"f32": "<f4", "f64": "<f8", "i32": "<i4", "u8": "u1"}[dtype]
    x = np.ascontiguousarray(np.asarray(a), dtype=np_dtype)
    return {"dtype": dtype, "shape": list(x.shape), "b64": base64.b64encode(x.tobytes()).decode()}


def unpack(d: dict[str, Any]) -> np.ndarray:
    """The inverse of :func:`pack` (what the page's JavaScript does too)."""
    np_dtype = {"f32": "<f4", "f64": "<f8", "i32": "<i4", "u8": "u1"}[d["dtype"]]
    x = np.frombuffer(base64.b64decode(d["b64"]), dtype=np_dtype).reshape(d["shape"])
    return x * d["scale"] if "scale" in d else x


def section_keys(cls: type, scene_id: str) -> tuple[str, ...]:
    """The sections of a scene's page: by its id, else by the story scene it subclasses."""
    if scene_id in SECTIONS:
        return SECTIONS[scene_id]
    for k in cls.__mro__:
        mod = k.__module__.rsplit(".", 1)[-1]
        if k.__module__.startswith("scenes.") and mod in SECTIONS:
            return SECTIONS[mod]
    return ()


def prepared_scene(cls: type) -> Any:
    """An instance of scene class ``cls`` with the course applied, its Trace loaded and
    ``prepare()`` run: the state its first beat starts from (nothing is drawn). Generated
    continuations of the softmax scene are not computed (the page does not show them)."""
    from scenes.kit.course.apply import apply_course_config

    scene = cls()
    apply_course_config(scene)
    if hasattr(scene, "temperatures") and hasattr(scene, "steps"):
        scene.steps = 0
    scene.trace = scene.load_trace()
    scene.ledger = []
    scene._current_beat = "prepare"
    scene.prepare()
    return scene


def scene_page_data(cls: type, scene_id: str) -> dict[str, Any]:
    """Everything the page of scene ``scene_id`` (class ``cls``) embeds."""
    scene = prepared_scene(cls)
    t = scene.trace
    keys = section_keys(cls, scene_id)
    out: dict[str, Any] = {"scene": scene_id, "class": cls.__name__,
                           "title": _title(cls, scene_id),
                           "sections": ["tokens", *keys], "notes": [],
                           "tokens": tokens_data(t)}
    for k in keys:
        out[k] = BUILDERS[k](scene, out["notes"])
    return out


def _title(cls: type, scene_id: str) -> str:
    """The first line of the scene class's docstring, else of its module's."""
    import sys

    mod = sys.modules.get(cls.__module__)
    for doc in (cls.__doc__, getattr(mod, "__doc__", None)):
        if doc and doc.strip():
            return doc.strip().splitlines()[0].rstrip(".:")
    return scene_id


def tokens_data(t: Any) -> dict[str, Any]:
    info = t.info
    return {"prompt": t.prompt, "pieces": list(t.tokens), "ids": pack(t.token_ids, "i32"),
            "model": info.get("name", ""), "n_layer": int(info["n_layer"]),
            "n_head": int(info["n_head"]), "d_model": int(info["d_model"]),
            "vocab": int(info["vocab_size"])}


# ====================================================================== sections
def attention_data(scene: Any, notes: list[str]) -> dict[str, Any]:
    """Every layer's and head's pattern, the scene's head-choice scores and its choice."""
    t = scene.trace
    pattern = np.asarray(t.pattern, dtype=np.float32)              # [layer, head, q, k]
    if pattern.size <= PATTERN_EXACT_MAX:
        pat = pack(pattern, "f32")
    else:
        pat = pack(np.round(pattern * 255.0), "u8")
        pat["scale"] = 1.0 / 255.0
        notes.append(f"Attention weights are stored to 1/255 (8 bits): {pattern.size:,} numbers "
                     f"would not fit the page budget; hover values are rounded to ±0.002.")
    scores = getattr(scene, "head_score_table", None)
    if scores is None:
        from scenes.kit.analysis.attention import head_scores, select_head

        scores = head_scores(t.pattern)
        L, H, _ = select_head(scores)
        Q = t.n_pos - 1
    else:
        L, H, Q = scene.L, scene.H, scene.Q
    return {"pattern": pat, "scores": pack(scores, "f64"), "layer": int(L), "head": int(H),
            "query": int(Q), "n_kv_head": int(t.info["n_kv_head"])}


def mlp_data(scene: Any, notes: list[str]) -> dict[str, Any]:
    """Direct logit attribution per layer, the chosen layer's neurons, and the ablation the
    scene runs: probabilities and attribution before and after."""
    from scenes.kit.analysis.mlp import attribute

    t, a, pos = scene.trace, scene.attr, scene.pos
    t2 = scene.changed_trace()
    a2 = attribute(t2, scene.answer_id, pos)
    p0, p1 = np.asarray(scene.p0, np.float64), np.asarray(t2.probs(pos), np.float64)
    top0 = [int(i) for i in np.argsort(-p0, kind="stable")[:5]]
    top1 = [int(i) for i in np.argsort(-p1, kind="stable")[:5]]
    ids = list(dict.fromkeys([scene.answer_id] + top0 + top1))[:8]
    order = [int(i) for i in np.argsort(-np.abs(scene.contrib), kind="stable")[:NEURON_BARS]]
    notes.append(f"MLP: the {NEURON_BARS} neurons of layer {scene.L} with the largest direct "
                 f"push are listed (of {int(t.info['d_mlp']):,}).")
    return {"answer_id": int(scene.answer_id), "answer": t.token_strs([scene.answer_id])[0],
            "pos": int(pos), "layer": int(scene.L), "logit": float(a.logit),
            "embed": float(a.embed), "bias": float(a.bias),
            "attn": pack(a.attn, "f64"), "mlp": pack(a.mlp, "f64"),
            "neurons": order, "neuron_push": pack(scene.contrib[order], "f64"),
            "top": [int(i) for i in scene.top],
            "ablation": scene.ablation_text(),
            "after": {"logit": float(a2.logit), "attn": pack(a2.attn, "f64"),
                      "mlp": pack(a2.mlp, "f64")},
            "ids": ids, "id_strs": t.token_strs(ids),
            "p_before": pack(p0[ids], "f64"), "p_after": pack(p1[ids], "f64")}


def lens_data(scene: Any, notes: list[str]) -> dict[str, Any]:
    """The lens grid (top token and its probability at every layer and position) and the
    answer's probability and rank per layer at the last position."""
    t = scene.trace
    # the page's grid is every position (the scene computed only the ones it shows)
    lens = lens_all(t)                                              # [layer+1, pos, vocab]
    top = top_ids(lens)
    p_top = np.take_along_axis(softmax_rows(lens), top[..., None], -1)[..., 0]
    uniq = sorted({int(i) for i in top.ravel()} | {int(scene.answer_id)})
    notes.append(f"Logit lens: only each cell's top token and its probability are stored, not "
                 f"all {int(t.info['vocab_size']):,} probabilities.")
    return {"top": pack(top, "i32"), "p_top": pack(p_top, "f64"),
            "answer_id": int(scene.answer_id), "answer": scene.answer_str,
            "p_answer": pack(scene.p_answer, "f64"), "rank": pack(scene.rank_answer, "i32"),
            "strs": dict(zip(map(str, uniq), t.token_strs(uniq))),
            "video_rows": [int(x) for x in scene.layers], "video_cols": [int(x) for x in scene.cols]}


def softmax_data(scene: Any, notes: list[str]) -> dict[str, Any]:
    """The last position's logits over the whole vocabulary (float32, as the model gave
    them): the page recomputes softmax(z / T) from them at every slider move."""
    t = scene.trace
    z = np.asarray(t.logits[-1], dtype=np.float32)
    ids = [int(i) for i in np.argsort(-z, kind="stable")[:SOFTMAX_BARS]]
    temps = [float(x) for x in getattr(scene, "temps", (0.1, 1.0, 5.0))]
    return {"logits": pack(z, "f32"), "ids": ids, "strs": t.token_strs(ids),
            "greedy": greedy(t), "temps": temps}


def space_data(scene: Any, notes: list[str]) -> dict[str, Any]:
    """The 3D PCA of the scene's words and its analogies (E(a) − E(b) + E(c) projected)."""
    p = scene.pca
    ans = []
    for an in scene.analogy_results:
        ans.append({"a": an.a, "b": an.b, "c": an.c, "expected": an.expected,
                    "keys": [int(k) for k in an.keys],
                    "point": pack(p.project(an.vec), "f64"),
                    "top": [[int(r), s, float(c)] for r, _, s, c in an.top],
                    "expected_rank": an.expected_rank, "expected_cos": an.expected_cos})
    notes.append("Embedding space: the 3 principal components of the scene's words' vectors "
                 f"({100 * float(p.explained.sum()):.0f}% of their variance); "
                 "E(a) − E(b) + E(c) is projected onto them.")
    return {"title": scene.src.title, "words": list(scene.word_list),
            "keys": [int(k) for k in scene.keys], "labels": scene.src.labels(scene.keys),
            "coords": pack(p.coords, "f64"), "explained": pack(p.explained, "f64"),
            "analogies": ans}


def writes_data(scene: Any, notes: list[str]) -> dict[str, Any]:
    """‖attention write‖ and ‖MLP write‖ of every block at the last position."""
    from scenes.kit.analysis.stack import write_norms

    t = scene.trace
    return {"norms": pack(write_norms(t.attn_out, t.mlp_out, -1), "f64"), "pos": t.n_pos - 1}


def embed_data(scene: Any, notes: list[str]) -> dict[str, Any]:
    """Each prompt token's embedding row (W_E[id], what block 0 receives)."""
    t = scene.trace
    return {"rows": pack(t.embed, "f32"),
            "pos_embed": None if t.pos_embed is None else pack(t.pos_embed, "f32")}


BUILDERS = {"attention": attention_data, "mlp": mlp_data, "lens": lens_data,
            "softmax": softmax_data, "space": space_data, "writes": writes_data,
            "embed": embed_data}

