"""Interventions: a run with neurons, heads or blocks knocked out, checked against the same
change made by hand to the weights of a copy of the Hugging Face model."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tensors import Ablation, UserError, trace

PROMPT = "a fluffy blue creature roamed the verdant forest"


@pytest.fixture(params=["gpt2", "llama"])
def model_dir(request, tiny_gpt2_dir, tiny_llama_dir):
    return tiny_gpt2_dir if request.param == "gpt2" else tiny_llama_dir


def hf_logits_with(model_dir: Path, change) -> np.ndarray:
    """Logits of a fresh HF model after ``change(model)`` edited its weights by hand."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    m = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32,
                                             attn_implementation="eager").eval()
    with torch.no_grad():
        change(m)
        return m(tok(PROMPT, return_tensors="pt")["input_ids"]).logits[0].numpy()


def down_proj(m, layer):
    """(module, weight viewed as [d_mlp, d_model]) of the MLP's down projection, by hand."""
    if hasattr(m, "transformer"):
        mod = m.transformer.h[layer].mlp.c_proj        # Conv1D weight [d_mlp, d_model]
        return mod, mod.weight
    mod = m.model.layers[layer].mlp.down_proj          # Linear weight [d_model, d_mlp]
    return mod, mod.weight.T


def out_proj(m, layer):
    if hasattr(m, "transformer"):
        mod = m.transformer.h[layer].attn.c_proj
        return mod, mod.weight
    mod = m.model.layers[layer].self_attn.o_proj
    return mod, mod.weight.T


def test_ablating_nothing_is_the_plain_run_bit_for_bit(model_dir):
    plain = trace(PROMPT, str(model_dir), use_cache=False)
    none = trace(PROMPT, str(model_dir), ablate=[], use_cache=False)
    for f in ("resid", "q", "pattern", "head_out", "mlp_act", "mlp_out", "logits"):
        np.testing.assert_array_equal(getattr(none, f), getattr(plain, f))
    assert none.info["ablations"] == [] == plain.info["ablations"]


@pytest.mark.parametrize("kind", ["zero", "mean"])
def test_neuron_ablation_equals_editing_the_weights(model_dir, kind):
    layer, neurons = 1, tuple(range(3, 120, 2))
    plain = trace(PROMPT, str(model_dir))
    t = trace(PROMPT, str(model_dir), ablate=[Ablation("neurons", layer, neurons, kind=kind)])
    assert not t.from_cache and t.cache_path != plain.cache_path
    mean = plain.mlp_act[layer][:, list(neurons)].mean(0)               # [2]

    def change(m):
        mod, W = down_proj(m, layer)                                    # W [d_mlp, d_model]
        if kind == "mean":  # a constant activation = its write added to the bias
            mod.bias += torch.from_numpy(mean) @ W[list(neurons)]
        W[list(neurons)] = 0

    np.testing.assert_allclose(t.logits, hf_logits_with(model_dir, change), atol=1e-5, rtol=0)
    want = 0 if kind == "zero" else np.broadcast_to(mean, (t.n_pos, len(neurons)))
    np.testing.assert_allclose(t.mlp_act[layer][:, list(neurons)], want, atol=1e-6)
    # it did change the run, by far more than the parity tolerance above
    assert np.abs(t.logits - plain.logits).max() > 1e-4
    (a,) = t.info["ablations"]
    assert a["target"] == "neurons" and a["index"] == list(neurons) and a["kind"] == kind
    assert a["text"].startswith(f"{kind}-ablate neurons 3, 5, 7,") and \
        a["text"].endswith("119 of layer 1 at every position")
    # its own cache entry (the same neurons in another order are the same spec)
    again = trace(PROMPT, str(model_dir), ablate=[Ablation("neurons", layer, neurons[::-1], kind=kind)])
    assert again.from_cache and again.cache_path == t.cache_path
    np.testing.assert_array_equal(again.logits, t.logits)


@pytest.mark.parametrize("target", ["mlp", "attn", "heads"])
def test_block_and_head_ablation_equal_editing_the_weights(model_dir, target):
    layer = 0
    t = trace(PROMPT, str(model_dir), ablate=Ablation(target, layer, (1,) if target == "heads" else ()))
    d_head = t.info["d_head"]

    def change(m):
        mod, W = (down_proj if target == "mlp" else out_proj)(m, layer)
        if target == "heads":
            W[d_head:2 * d_head] = 0                                     # head 1's rows of W_O
        else:
            W[:] = 0
            mod.bias[:] = 0

    np.testing.assert_allclose(t.logits, hf_logits_with(model_dir, change), atol=1e-5, rtol=0)
    if target == "heads":
        assert np.all(t.head_out[layer, 1] == 0) and np.any(t.head_out[layer, 0] != 0)
    else:
        assert np.all((t.mlp_out if target == "mlp" else t.attn_out)[layer] == 0)
    # the residual stream identities still hold in the changed run
    L = t.info["n_layer"]
    np.testing.assert_allclose(t.resid[1:], t.resid_mid + t.mlp_out, atol=1e-5)
    np.testing.assert_allclose(t.resid_mid, t.resid[:L] + t.attn_out, atol=1e-5)


def test_derived_z_carries_a_mean_head_ablation(model_dir):
    """z is derived (pattern @ v) with the run's head ablation: a mean-ablated head's z is its
    unchanged z averaged over positions, and the heads still add up to the hooked attn_out."""
    layer, head = 1, 2
    t = trace(PROMPT, str(model_dir), ablate=Ablation("heads", layer, (head,), kind="mean"))
    unchanged = np.einsum("hqk,hkd->hqd", t.pattern[layer], t.v[layer])
    np.testing.assert_allclose(t.z[layer, head], np.broadcast_to(unchanged[head].mean(0), unchanged[head].shape),
                               atol=1e-6, rtol=0)
    others = [h for h in range(t.info["n_head"]) if h != head]
    np.testing.assert_allclose(t.z[layer][others], unchanged[others], atol=1e-6, rtol=0)
    np.testing.assert_allclose(t.head_out[layer].sum(0) + t.weights.get("b_O", layer), t.attn_out[layer],
                               atol=1e-5, rtol=0)


def test_ablation_at_a_position_leaves_earlier_positions_alone(model_dir):
    plain = trace(PROMPT, str(model_dir))
    p = plain.n_pos - 2
    t = trace(PROMPT, str(model_dir), ablate=[Ablation("mlp", 0, pos=[p])])
    np.testing.assert_array_equal(t.logits[:p], plain.logits[:p])       # causal: nothing earlier moves
    assert np.all(t.mlp_out[0, p] == 0) and not np.allclose(t.logits[p:], plain.logits[p:])


def test_bad_ablations_are_one_line_user_errors(tiny_gpt2_dir):
    d = str(tiny_gpt2_dir)
    cases = [
        (lambda: Ablation("neuron", 0, (1,)), "target 'neuron' is not one of"),
        (lambda: Ablation("neurons", 0), r"needs index=\(…\), the neuron numbers"),
        (lambda: Ablation("mlp", 0, (1,)), "takes no index"),
        (lambda: Ablation("heads", -1, (0,)), "layer -1 must be a whole number"),
        (lambda: Ablation("heads", 0, (0,), kind="random"), "kind 'random'"),
        (lambda: Ablation("neurons", 0, (1.5,)), "whole numbers"),
        (lambda: trace(PROMPT, d, ablate=["mlp 3"]), "must be Ablation"),
        (lambda: trace(PROMPT, d, ablate=[Ablation("mlp", 3)]), r"layer 3 is out of range.*0\.\.2"),
        (lambda: trace(PROMPT, d, ablate=[Ablation("neurons", 0, (256,))]), r"neuron 256 .*0\.\.255"),
        (lambda: trace(PROMPT, d, ablate=[Ablation("heads", 0, (4,))]), r"head 4 .*0\.\.3"),
        (lambda: trace(PROMPT, d, ablate=[Ablation("attn", 0, pos=(99,))]), r"position 99 .*11 tokens.*0\.\.10"),
    ]
    for make, msg in cases:
        with pytest.raises(UserError, match=msg) as e:
            make()
        assert "\n" not in str(e.value)
