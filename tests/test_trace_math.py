"""The Trace's maths beyond attention: the MLP and the attention input (issue 13), the
logit lens and parameter counts (issue 14), and the truth checks of issue 10 (biases, norm
gains, per-layer facts, weights that recompute what the Trace holds) — all on test models
with random non-zero biases and norm parameters (conftest)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tensors import UserError, trace
from tensors.ablation import Ablation
from tensors.sampling import softmax
from test_tensors import PROMPT, close, hf_reference


@pytest.fixture(params=["gpt2", "llama"])
def model_dir(request, tiny_gpt2_dir, tiny_llama_dir):
    return tiny_gpt2_dir if request.param == "gpt2" else tiny_llama_dir


# ====================================================================== the MLP (issue 13)
def hf_block_io(model_dir: Path, prompt: str):
    """Per layer, what the Hugging Face model's own modules received and returned (named
    here by hand, independently of tensors.families): ln1 out, ln2 in/out, up (and gate)
    out, down in, MLP out; plus hidden_states and logits."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    m = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32,
                                             attn_implementation="eager").eval()
    if hasattr(m, "transformer"):
        mods = [dict(ln1=b.ln_1, ln2=b.ln_2, up=b.mlp.c_fc, down=b.mlp.c_proj, mlp=b.mlp)
                for b in m.transformer.h]
    else:
        mods = [dict(ln1=b.input_layernorm, ln2=b.post_attention_layernorm, up=b.mlp.up_proj,
                     gate=b.mlp.gate_proj, down=b.mlp.down_proj, mlp=b.mlp) for b in m.model.layers]
    got = [dict() for _ in mods]
    hooks = []
    for i, d in enumerate(mods):
        def out_hook(key, i=i):
            return lambda _m, a, o: got[i].__setitem__(key, o[0].clone())

        def in_hook(key, i=i):
            return lambda _m, a, o: got[i].__setitem__(key, a[0][0].clone())

        hooks += [d["ln1"].register_forward_hook(out_hook("attn_in")),
                  d["ln2"].register_forward_hook(in_hook("resid_mid")),
                  d["ln2"].register_forward_hook(out_hook("mlp_in")),
                  d["up"].register_forward_hook(out_hook("mlp_pre")),
                  d["down"].register_forward_hook(in_hook("mlp_act")),
                  d["mlp"].register_forward_hook(out_hook("mlp_out"))]
        if "gate" in d:
            hooks.append(d["gate"].register_forward_hook(out_hook("mlp_gate")))
    try:
        with torch.no_grad():
            ids = tok(PROMPT if prompt is None else prompt, return_tensors="pt")["input_ids"]
            r = m(ids, output_hidden_states=True)
    finally:
        for h in hooks:
            h.remove()
    return m, got, r


def test_mlp_and_attention_input_match_hf_forward(model_dir):
    t = trace(PROMPT, str(model_dir))
    m, got, r = hf_block_io(model_dir, PROMPT)
    L, d_mlp = t.info["n_layer"], t.info["d_mlp"]
    fields = ["attn_in", "resid_mid", "mlp_in", "mlp_pre", "mlp_act", "mlp_out"]
    if t.info["family"] == "llama":
        fields.append("mlp_gate")
    else:
        assert t.mlp_gate is None
    for name in fields:
        close(getattr(t, name), torch.stack([g[name] for g in got]))
    # resid_mid is derived (resid + attn_out): the very bits the model's second norm received
    np.testing.assert_array_equal(t.resid_mid, torch.stack([g["resid_mid"] for g in got]).numpy())
    assert t.mlp_pre.shape == (L, t.n_pos, d_mlp) and t.mlp_out.shape == (L, t.n_pos, t.info["d_model"])
    close(t.logits, r.logits[0])


def test_residual_and_mlp_identities(model_dir):
    t = trace(PROMPT, str(model_dir))
    L = t.info["n_layer"]
    close(t.resid_mid, t.resid[:L] + t.attn_out)              # resid_mid = resid + attn_out
    close(t.resid[1:], t.resid_mid + t.mlp_out)               # resid_next = resid_mid + mlp_out
    for layer in range(L):
        W_out, b_out = t.W_out(layer), t.block("b_out", layer)
        close(t.mlp_out[layer], t.mlp_act[layer] @ W_out + b_out, 1e-5)
        close(t.mlp_pre[layer], t.mlp_in[layer] @ t.W_in(layer) + t.block("b_in", layer), 1e-5)
        if t.mlp_gate is not None:
            close(t.mlp_gate[layer], t.mlp_in[layer] @ t.W_gate(layer) + t.block("b_gate", layer), 1e-5)
        # the norms, recomputed from the stored gains/biases and the eps read from the model
        close(t.attn_in[layer], t.apply_norm(t.resid[layer], "ln1", layer), 1e-5)
        close(t.mlp_in[layer], t.apply_norm(t.resid_mid[layer], "ln2", layer), 1e-5)
    # the biases and gains really are random here, so these checks can fail
    assert np.abs(t.block("b_out", 0)).min() > 0 and np.abs(t.block("ln2.w", 0) - 1).max() > 0.1
    # neuron queries: columns of W_in/W_gate, rows of W_out, any order
    picks = [7, 2, t.info["d_mlp"] - 1]
    close(t.W_in(1, picks), t.W_in(1)[:, picks], 0)
    close(t.W_out(1, picks), t.W_out(1)[picks], 0)
    close(t.W_in(1, slice(3, 9)), t.W_in(1)[:, 3:9], 0)
    # one position's MLP output = the sum of every neuron's W_out row times its activation
    contrib = t.mlp_act[1, -1][:, None] * t.W_out(1)                  # [d_mlp, d_model]
    close(contrib.sum(0) + t.block("b_out", 1), t.mlp_out[1, -1], 1e-5)
    if t.mlp_gate is None:
        with pytest.raises(UserError, match="no gated MLP"):
            t.W_gate(0)
    else:
        close(t.W_gate(1, picks), t.W_gate(1)[:, picks], 0)
        # SwiGLU: act = SiLU(gate) * up
        g = t.mlp_gate.astype(np.float64)
        close(t.mlp_act, g / (1 + np.exp(-g)) * t.mlp_pre, 1e-5)


def test_lens_logits(model_dir):
    t = trace(PROMPT, str(model_dir))
    L = t.info["n_layer"]
    close(t.lens_logits(L), t.logits, 1e-4)    # after the last block: the model's own logits
    close(t.final, t.apply_norm(t.resid[L]), 1e-5)
    lens0 = t.lens_logits(0)
    assert lens0.shape == t.logits.shape and not np.allclose(lens0, t.logits, atol=1e-2)
    close(lens0[-1], t.logits_of(t.apply_norm(t.resid[0, -1])), 1e-4)
    with pytest.raises(UserError, match=r"lens layer 9 is out of range; use 0\.\." + str(L)):
        t.lens_logits(9)


def test_param_counts_sum_to_the_real_model(model_dir):
    from transformers import AutoModelForCausalLM

    t = trace(PROMPT, str(model_dir))
    m = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    real = sum(p.numel() for p in m.parameters())   # shared (tied) tensors once
    pc = t.param_counts()
    assert sum(pc.values()) == real == t.info["n_params"] and "other" not in pc
    d, V, L = t.info["d_model"], t.info["vocab_size"], t.info["n_layer"]
    assert pc["embed"] == V * d
    assert pc["unembed"] == (0 if t.info["tied_embeddings"] else V * d)
    assert sum(t.param_counts(i)["mlp"] for i in range(L)) == pc["mlp"]
    # the MLP's count is its real matrices and biases
    n_mats = 3 if t.mlp_gate is not None else 2
    assert t.param_counts(0)["mlp"] == n_mats * d * t.info["d_mlp"] + \
        sum(int(t.weights.is_real(b)) * t.block(b, 0).size for b in ("b_in", "b_gate", "b_out")
            if b in t.weights.names)


def test_bundled_model_mlp_and_counts():
    t = trace("The Colosseum is in the city of", "smollm2")
    i = t.info
    assert (i["d_mlp"], i["mlp"], i["norm"]) == (1536, "SwiGLU", "RMSNorm")
    assert all(l["act"] == "silu" and l["norm1"]["type"] == "RMSNorm" for l in i["layers"])
    pc = t.param_counts()
    assert pc["unembed"] == 0 and sum(pc.values()) == i["n_params"]
    assert not t.weights.is_real("b_in") and not t.weights.is_real("b_Q")
    close(t.lens_logits(i["n_layer"]), t.logits, 1e-3)
    close(t.resid[1:], t.resid_mid + t.mlp_out, 1e-4)


# ====================================================================== truth (issue 10)
def rope_np(x: np.ndarray, theta: float) -> np.ndarray:
    """The standard rotary embedding, written out here: x [head, pos, d] rotated by position."""
    d = x.shape[-1]
    inv_freq = 1.0 / theta ** (np.arange(0, d, 2, dtype=np.float64) / d)
    ang = np.arange(x.shape[1])[:, None] * inv_freq[None, :]           # [pos, d/2]
    cos, sin = np.cos(np.concatenate([ang, ang], -1)), np.sin(np.concatenate([ang, ang], -1))
    rot = np.concatenate([-x[..., d // 2:], x[..., :d // 2]], -1)
    return x * cos + rot * sin


def test_extracted_weights_recompute_qkv_and_head_outputs(model_dir):
    """Every layer, every head: the stored W_Q/W_K/W_V/W_O and biases, applied to attn_in,
    give the Trace's q, k, v and head outputs (not the weights file compared with itself)."""
    t = trace(PROMPT, str(model_dir))
    L, H = t.info["n_layer"], t.info["n_head"]
    for layer in range(L):
        x = t.attn_in[layer].astype(np.float64)
        for h in range(H):
            q = x @ t.block("W_Q", layer, h) + t.block("b_Q", layer, h)
            k = x @ t.block("W_K", layer, h) + t.block("b_K", layer, h)
            v = x @ t.block("W_V", layer, h) + t.block("b_V", layer, h)
            if t.info["positional"] == "rope":
                assert t.info["rope"]["type"] == "default" and t.info["rope"]["dims"] == t.info["d_head"]
                q, k = (rope_np(a[None], t.info["rope"]["theta"])[0] for a in (q, k))
            close(q, t.q[layer, h], 1e-4)
            close(k, t.k[layer, h], 1e-4)
            close(v, t.v[layer, h], 1e-5)
            z = t.pattern[layer, h] @ t.v[layer, h]
            close(z @ t.block("W_O", layer, h), t.head_out[layer, h], 1e-5)
        close(t.head_out[layer].sum(0) + t.block("b_O", layer), t.attn_out[layer], 1e-5)
    # biases are real here (random), and the shapes are per head
    assert t.block("b_Q", 0, 1).shape == (t.info["d_head"],) and np.abs(t.block("b_Q", 0, 1)).min() > 0
    np.testing.assert_array_equal(t.block("b_K", 1, H - 1), t.weights.get("b_K")[1, t.kv_head_of(H - 1)])
    assert t.block("b_O", 1).shape == (t.info["d_model"],)
    assert t.block("ln1.w", 1, rows=slice(0, 4)).shape == (4,)
    assert t.block("W_Q", 0, 1, slice(0, 8), slice(0, 6)).shape == (8, 6)


def test_norm_stats_reproduce_the_models_norms(model_dir):
    t = trace(PROMPT, str(model_dir))
    layer_norm = t.info["norm"] == "LayerNorm"
    for which, layer, x, y in (("final", None, t.resid[-1, -1], t.final[-1]),
                               ("ln1", 1, t.resid[1, 2], t.attn_in[1, 2]),
                               ("ln2", 0, t.resid_mid[0, 0], t.mlp_in[0, 0])):
        st = t.norm_stats(x, which, layer)
        if which == "final":
            w = t.weights.get("ln_f.w")
            b = t.weights.get("ln_f.b") if layer_norm else 0
        else:
            w, b = t.block(f"{which}.w", layer), t.block(f"{which}.b", layer)
        centred = x - st["mean"] if st["type"] == "LayerNorm" else x
        close(centred * st["scale"] * w + b, y, 1e-5)
        assert st["eps"] == (t.info["final_norm"] if which == "final" else
                             t.info["layers"][layer]["norm1" if which == "ln1" else "norm2"])["eps"]


def test_model_facts_are_read_per_layer_not_assumed(tmp_path, gpt2_tok_dir):
    """A GPT-2 config that differs from GPT-2's usual choices (ReLU MLP, attention scaled by
    1/(layer+1), LayerNorm eps 1e-3) is reported as it is, and the capture still matches HF."""
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    from conftest import randomize_biases_and_norms

    torch.manual_seed(0)
    cfg = GPT2Config(n_layer=2, n_head=2, n_embd=32, n_positions=64, activation_function="relu",
                     scale_attn_by_inverse_layer_idx=True, layer_norm_epsilon=1e-3,
                     attn_implementation="eager")
    m = GPT2LMHeadModel(cfg).eval()
    randomize_biases_and_norms(m)
    m.save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(gpt2_tok_dir).save_pretrained(tmp_path)
    t = trace(PROMPT, str(tmp_path))
    layers = t.info["layers"]
    assert [l["attn_scale"] for l in layers] == pytest.approx([16 ** -0.5, 16 ** -0.5 / 2])
    assert all(l["act"] == "relu" and l["mlp"] == "RELU" for l in layers)
    assert all(l["norm1"] == {"type": "LayerNorm", "eps": 1e-3, "bias": True} for l in layers)
    _, ids, r, _, _ = hf_reference(tmp_path, PROMPT)
    close(t.logits, r.logits[0])
    close(t.pattern, torch.stack([a[0] for a in r.attentions]))
    close(t.mlp_act, np.maximum(t.mlp_pre, 0), 0)
    tri = np.tril(np.ones((t.n_pos, t.n_pos), bool))
    for layer in range(2):
        qk = np.einsum("hqd,hkd->hqk", t.q[layer], t.k[layer]) * layers[layer]["attn_scale"]
        close(qk[:, tri], t.scores[layer][:, tri], 1e-5)


def test_block_zero_input_is_the_embedding_for_rope_models(tiny_llama_dir):
    """resid[0] is what block 0 really receives (hooked): for a RoPE model that is the token
    embedding itself — nothing is added for position."""
    t = trace(PROMPT, str(tiny_llama_dir))
    assert t.info["positional"] == "rope" and t.pos_embed is None
    np.testing.assert_array_equal(t.resid[0], t.embed)


# ====================================================================== bounded memory (issue 11)
def test_scores_pattern_head_out_are_derived_per_layer(model_dir):
    t1 = trace(PROMPT, str(model_dir))
    t = trace(PROMPT, str(model_dir))                 # from the cache: nothing derived yet
    assert t.from_cache
    from safetensors import safe_open

    with safe_open(str(t.cache_path), framework="numpy") as f:
        stored = set(f.keys())
    assert not stored & {"scores", "pattern", "head_out", "z", "k", "v", "resid_mid",
                         "attn_in", "mlp_in", "mlp_pre", "mlp_act"}
    assert {"q", "k_kv", "v_kv", "attn_out", "mlp_out", "resid"} <= stored
    L, H, P = t.info["n_layer"], t.info["n_head"], t.n_pos
    one = t.pattern[1]                                # computes layer 1 only
    assert one.shape == (H, P, P) and t.pattern.shape == (L, H, P, P)
    assert "computed=[1]" in repr(t.pattern) and "computed=[]" in repr(t.head_out)
    close(one, softmax(t.scores[1], dtype=np.float32), 1e-6)
    np.testing.assert_array_equal(np.asarray(t.pattern)[1], one)
    np.testing.assert_array_equal(t.pattern[1, 2, 3], one[2, 3])
    np.testing.assert_array_equal(t1.pattern[1], one)  # same numbers before and after the cache
    # z is pattern @ v (what the output projection received)
    close(np.einsum("lhqk,lhkd->lhqd", t.pattern, t.v), t.z, 1e-5)
    with pytest.raises(ValueError):
        one[0, 0, 0] = 1.0                            # derived layers are read-only


@pytest.mark.parametrize("ablate", [None, Ablation("neurons", layer=1, index=(3, 5), kind="mean")])
def test_per_position_arrays_at_one_position_compute_that_position_only(model_dir, ablate):
    """t.attn_in[:, pos] (and the other per-position arrays) computes one row per layer, and
    equals the same row of the whole layers (a mean-ablated MLP layer is computed whole)."""
    t = trace(PROMPT, str(model_dir), ablate=ablate)
    fields = ["attn_in", "resid_mid", "mlp_in", "mlp_pre", "mlp_act"] + \
        (["mlp_gate"] if t.mlp_gate is not None else [])
    for name in fields:
        a = getattr(t, name)
        got = [a[:, pos] for pos in (0, -1, slice(2, 4))] + [a[1:3, -1, 2:5]]
        assert "computed=[]" in repr(a)
        whole = np.asarray(a)
        for g, want in zip(got, [whole[:, 0], whole[:, -1], whole[:, 2:4], whole[1:3, -1, 2:5]]):
            assert g.shape == want.shape
            close(g, want, 1e-6)


def test_the_memory_estimate_covers_what_a_capture_keeps(tiny_gpt2_dir, tiny_llama_dir, monkeypatch):
    """The budget (tensors.budget) estimates from config.json alone; its facts are the ones
    the loaded model reports, and its estimate covers every array the Trace stores."""
    from tensors.budget import capture_bytes, transient_bytes
    from tensors.resolve import config_facts, resolve
    from tensors.trace import ARRAY_FIELDS

    for d in (tiny_gpt2_dir, tiny_llama_dir):
        t = trace(PROMPT, str(d))
        facts = config_facts(resolve(str(d), quiet=True))
        assert {k: facts[k] for k in ("n_layer", "n_head", "n_kv_head", "d_model", "d_head",
                                      "d_mlp", "n_ctx", "vocab_size")} == \
            {k: t.info[k] for k in ("n_layer", "n_head", "n_kv_head", "d_model", "d_head",
                                    "d_mlp", "n_ctx", "vocab_size")}
        assert facts["gated"] == (t.mlp_gate is not None)
        kept = sum(getattr(t, f).nbytes for f in ARRAY_FIELDS if getattr(t, f) is not None)
        kept -= t.logits_last.nbytes + t.token_ids.nbytes       # counted once, with the forward pass
        slack = capture_bytes(facts, t.n_pos) - transient_bytes(facts, t.n_pos) - kept
        assert 0 <= slack <= 4 * t.n_pos * t.info["d_model"]     # (pos_embed counted for RoPE models too)
    monkeypatch.setenv("GPT_SCENES_MEMORY_GB", "0.001")
    with pytest.raises(UserError, match=r"prompt is \d+ tokens; .* at most \d+ tokens fit"):
        trace(PROMPT + " again", str(tiny_gpt2_dir))
