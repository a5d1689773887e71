"""Fidelity of the Trace against the Hugging Face forward pass, for a GPT-2-shaped and a
Llama-shaped (GQA, RoPE, untied, biased) model; cache behaviour; bad input; the CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tensors import UserError, trace
from tensors import models
from tensors.trace import load_trace

ATOL = 1e-5
PROMPT = "a fluffy blue creature roamed the verdant forest"


def hf_reference(model_dir: Path, prompt: str):
    """The Hugging Face model's own outputs, plus the q/k/v that its eager attention saw."""
    import importlib

    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    m = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32,
                                             attn_implementation="eager").eval()
    mod = importlib.import_module(type(m).__module__)
    seen = []
    orig = mod.eager_attention_forward

    def spy(module, query, key, value, *a, **kw):
        out = orig(module, query, key, value, *a, **kw)
        # q, k, v [head, pos, d_head] as they entered; z [pos, head, d_head] as it left
        seen.append((query[0].clone(), key[0].clone(), value[0].clone(), out[0][0].clone()))
        return out

    attn_out = []
    attn_mods = [b.attn for b in m.transformer.h] if hasattr(m, "transformer") else \
        [b.self_attn for b in m.model.layers]
    hooks = [a.register_forward_hook(lambda _m, _a, o: attn_out.append(o[0][0])) for a in attn_mods]
    mod.eager_attention_forward = spy
    try:
        with torch.no_grad():
            ids = tok(prompt, return_tensors="pt")["input_ids"]
            r = m(ids, output_hidden_states=True, output_attentions=True)
    finally:
        mod.eager_attention_forward = orig
        for h in hooks:
            h.remove()
    return m, ids[0], r, seen, attn_out


@pytest.fixture(params=["gpt2", "llama"])
def model_dir(request, tiny_gpt2_dir, tiny_llama_dir):
    return tiny_gpt2_dir if request.param == "gpt2" else tiny_llama_dir


def close(a, b, atol=ATOL):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=atol, rtol=0)


def test_trace_matches_hf_forward(model_dir):
    t = trace(PROMPT, str(model_dir), device="cpu")
    m, ids, r, seen, attn_out = hf_reference(model_dir, PROMPT)
    L, H = t.info["n_layer"], t.info["n_head"]
    assert t.token_ids.tolist() == ids.tolist()
    close(t.logits, r.logits[0])
    close(t.pattern, torch.stack([a[0] for a in r.attentions]))
    # hidden_states: the input of each block, then the final-normed output of the last one
    close(t.resid[:L], torch.stack(r.hidden_states[:L])[:, 0])
    close(t.final, r.hidden_states[-1][0])
    close(t.attn_out, torch.stack(attn_out))
    # q and k exactly as they entered the model's dot product (after RoPE for Llama)
    group = H // t.info["n_kv_head"]
    d_head = t.info["d_head"]
    for layer, (q, k, v, z) in enumerate(seen):
        close(t.q[layer], q)
        close(t.k[layer], k.repeat_interleave(group, dim=0))
        close(t.v[layer], v.repeat_interleave(group, dim=0))
        # each head's write: its z times its rows of the model's output projection (by hand)
        if hasattr(m, "transformer"):
            W_O = m.transformer.h[layer].attn.c_proj.weight          # Conv1D [in, out]
        else:
            W_O = m.model.layers[layer].self_attn.o_proj.weight.T    # Linear [out, in] -> [in, out]
        for h in range(H):
            close(t.head_out[layer, h], (z[:, h] @ W_O[h * d_head:(h + 1) * d_head]).detach(), 1e-5)
    assert t.q.shape == (L, H, len(ids), t.info["d_head"])


def test_trace_internal_consistency(model_dir):
    t = trace(PROMPT, str(model_dir))
    n = t.n_pos
    upper = np.triu(np.ones((n, n), bool), 1)
    # pattern rows sum to 1 and are zero above the diagonal; scores are -inf there
    close(t.pattern.sum(-1), np.ones(t.pattern.shape[:-1]))
    assert np.all(t.pattern[..., upper] == 0)
    assert np.all(np.isneginf(t.scores[..., upper]))
    assert np.all(np.isfinite(t.scores[..., ~upper]))
    # scores really are scaled q.k
    close(np.einsum("lhqd,lhkd->lhqk", t.q, t.k)[..., ~upper] * t.info["attn_scale"], t.scores[..., ~upper], 1e-4)
    # logits = final @ W_U.T, over the whole vocabulary
    close(t.final @ t.W_U().T, t.logits, 1e-4)
    # the heads' outputs (+ the output bias) add up to the attention block's output
    close(t.head_out.sum(1) + t.weights.get("b_O")[:, None, :], t.attn_out, 1e-5)
    # the embedding is a lookup of W_E rows; position is added only for learned positions
    close(t.embed, t.W_E(t.token_ids))
    if t.info["positional"] == "learned":
        close(t.pos_embed, t.weights.get("W_pos")[:n])
        close(t.resid[0], t.embed + t.pos_embed)
    else:
        assert t.pos_embed is None
        close(t.resid[0], t.embed)


def test_tying_is_read_from_the_model(tiny_gpt2_dir, tiny_llama_dir):
    g = trace(PROMPT, str(tiny_gpt2_dir))
    assert g.info["tied_embeddings"] and g.weights.tied
    assert g.weights.W_U is g.weights.W_E
    lm = trace(PROMPT, str(tiny_llama_dir))
    assert not lm.info["tied_embeddings"] and not lm.weights.tied
    assert not np.allclose(lm.W_U(slice(0, 50)), lm.W_E(slice(0, 50)))
    assert lm.info["n_kv_head"] == 2 and lm.info["n_head"] == 6 and lm.kv_head_of(5) == 1 and lm.kv_head_of(2) == 0


def test_weight_blocks_reproduce_q(tiny_gpt2_dir, tiny_llama_dir):
    # GPT-2: q = ln_1(resid) @ W_Q + b_Q; check the stored W_Q/b_Q through the model's own ln_1
    t = trace(PROMPT, str(tiny_gpt2_dir))
    m, _, _ = models.load(models.resolve(str(tiny_gpt2_dir), quiet=True), "cpu")
    with torch.no_grad():
        x = m.transformer.h[1].ln_1(torch.from_numpy(t.resid[1])).numpy()
    q = x @ t.block("W_Q", 1, 2) + t.weights.get("b_Q", (1, 2))
    close(q, t.q[1, 2], 1e-4)


def test_nearest_and_logits_of(tiny_gpt2_dir):
    t = trace(PROMPT, str(tiny_gpt2_dir))
    tid = int(t.token_ids[1])
    best = t.nearest(t.W_E([tid])[0], k=3)
    assert best[0][0] == tid and abs(best[0][2] - 1.0) < 1e-5
    assert best[0][2] >= best[1][2] >= best[2][2]
    close(t.logits_of(t.final[-1]), t.logits[-1], 1e-4)


def test_cache_hit_does_not_load_the_model(tiny_gpt2_dir, monkeypatch):
    t1 = trace(PROMPT, str(tiny_gpt2_dir))
    assert t1.cache_path is not None and t1.cache_path.exists()
    assert not list(t1.cache_path.parent.glob("*.tmp"))

    def boom(*a, **k):
        raise AssertionError("model loaded on a cache hit")

    monkeypatch.setattr(models, "load", boom)
    t2 = trace(PROMPT, str(tiny_gpt2_dir))
    assert t2.from_cache and t2.tokens == t1.tokens
    close(t2.pattern, t1.pattern, 0)
    assert t2.info == t1.info


def test_corrupt_or_stale_cache_is_recomputed(tiny_gpt2_dir, capsys):
    t1 = trace(PROMPT, str(tiny_gpt2_dir))
    path = t1.cache_path
    data = bytearray(path.read_bytes())
    data[-8:] = b"\x00\x01\x02\x03\x04\x05\x06\x07"  # flip bytes inside the tensor data
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="digest"):
        load_trace(path)
    t2 = trace(PROMPT, str(tiny_gpt2_dir))
    err = capsys.readouterr().err
    assert "stale or corrupt" in err and len([l for l in err.splitlines() if "corrupt" in l]) == 1
    assert not t2.from_cache
    close(t2.logits, t1.logits, 0)
    path.write_bytes(b"not a safetensors file")
    t3 = trace(PROMPT, str(tiny_gpt2_dir))
    close(t3.logits, t1.logits, 0)
    assert load_trace(path).tokens == t1.tokens  # rewritten whole


def test_prompt_is_part_of_the_key(tiny_gpt2_dir):
    a = trace("the cat sat", str(tiny_gpt2_dir))
    b = trace("the cat sat on", str(tiny_gpt2_dir))
    assert a.cache_path != b.cache_path and b.n_pos == a.n_pos + 1


@pytest.mark.parametrize("prompt", ["Crème brûlée à la café", "東京は日本の首都です", "I 💙 GPTs 🦊!"])
def test_unicode_prompts(prompt, tiny_gpt2_dir):
    t = trace(prompt, str(tiny_gpt2_dir))
    assert t.tokenizer.decode(t.token_ids.tolist()) == prompt
    assert all(isinstance(s, str) and s for s in t.tokens)
    if all(ord(c) < 0x3000 for c in prompt):  # no character split over two tokens
        assert "".join(t.tokens) == prompt


def test_bad_input_raises_user_errors(tiny_gpt2_dir, tmp_path):
    with pytest.raises(UserError, match="empty"):
        trace("   ", str(tiny_gpt2_dir))
    with pytest.raises(UserError, match="context is 128"):
        trace("word " * 200, str(tiny_gpt2_dir))
    with pytest.raises(UserError, match="offline"):
        trace("hi", "someone/not-a-model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="not a model directory"):
        trace("hi", str(tmp_path / "empty"))
    with pytest.raises(UserError, match="does not exist"):
        trace("hi", str(tmp_path / "missing" / "dir"))
    t = trace("hi there", str(tiny_gpt2_dir))
    with pytest.raises(UserError, match=r"layer 3 is out of range.*0\.\.2"):
        t.check_layer_head(3, 0)
    with pytest.raises(UserError, match=r"head 4 is out of range.*0\.\.3"):
        t.check_layer_head(0, 4)
    t.check_layer_head(-1, -4)  # negative indexes count from the end, as in numpy


def test_unwritable_cache_falls_back(tiny_gpt2_dir, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("GPT_SCENES_CACHE", str(blocker / "traces"))  # cannot be created
    t = trace("hello", str(tiny_gpt2_dir))
    assert t.cache_path is not None and blocker not in t.cache_path.parents
    assert "not writable" in capsys.readouterr().err


def run_cli(*args, env=None):
    e = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "tensors", *args], capture_output=True,
                          text=True, env=e, timeout=300)


def test_cli_bad_input_one_line_exit_2_nothing_written(tmp_path, tiny_gpt2_dir, monkeypatch, capsys):
    cache = tmp_path / "cli-cache"
    env = {"GPT_SCENES_CACHE": str(cache)}
    cases = [
        ["extract", "--prompt", "  ", "--model", str(tiny_gpt2_dir)],
        ["extract", "--prompt", "x " * 300, "--model", str(tiny_gpt2_dir)],
        ["extract", "--prompt", "hi", "--model", "nobody/nothing"],
        ["extract", "--prompt", "hi", "--model", str(tmp_path)],
        ["extract", "--prompt", "hi", "--model", str(tiny_gpt2_dir), "--top", "0"],
        ["extract", "--prompt", "hi", "--model", str(tiny_gpt2_dir), "--layer", "3"],
        ["extract", "--prompt", "hi", "--model", str(tiny_gpt2_dir), "--head", "-9"],
        ["extract"],
        ["frobnicate"],
    ]
    from tensors.cli import main

    r = run_cli(*cases[0], env=env)  # one real process: exit status and stderr as a user sees them
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "prompt is empty" in r.stderr
    for args in cases[1:]:  # the rest in-process (same code path, faster)
        monkeypatch.setenv("GPT_SCENES_CACHE", str(cache))
        with pytest.raises(SystemExit) as exc:
            main(args)
        err = capsys.readouterr().err
        assert exc.value.code == 2, (args, err)
        lines = [l for l in err.splitlines() if not l.startswith("[gpt-scenes]")]
        assert len(lines) == 1 and "error" in lines[0], (args, err)
    assert not cache.exists() or not list(cache.iterdir())


def test_cli_extract_layer_head(tiny_gpt2_dir):
    r = run_cli("extract", "--prompt", "the cat sat", "--model", str(tiny_gpt2_dir), "--layer", "2",
                "--head", "1", "--json")
    assert r.returncode == 0, r.stderr
    att = json.loads(r.stdout)["attention"]
    weights = [w for _, w in att["last_token_attends_to"]]
    assert att["layer"] == 2 and abs(sum(weights) - 1) < 1e-4 and len(weights) == 3


def test_cli_extract_json_bundled_model_predicts_paris():
    """The real offline model: 'The capital of France is' -> ' Paris' first."""
    r = run_cli("extract", "--prompt", "The capital of France is", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"model", "device", "tokens", "top_next", "cache"}
    assert out["model"] == "SmolLM2-135M-Instruct" and out["device"] == "cpu"
    assert out["tokens"] == ["The", " capital", " of", " France", " is"]
    assert out["top_next"][0][0] == " Paris" and out["top_next"][0][1] > 0.5
    probs = [p for _, p in out["top_next"]]
    assert probs == sorted(probs, reverse=True) and len(probs) == 5
    assert Path(out["cache"]).exists()
    assert "GPT-2 is not in the Hugging Face cache" in r.stderr  # says how to get GPT-2


def test_cli_info(tiny_llama_dir):
    r = run_cli("info", "--model", str(tiny_llama_dir), "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert (info["n_layer"], info["n_head"], info["n_kv_head"], info["d_head"]) == (2, 6, 2, 16)
    assert info["positional"] == "rope" and info["tied_embeddings"] is False


def test_device_choice():
    assert models.pick_device() in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="CUDA is not available"):
            models.pick_device("cuda")


def test_bundled_model_facts():
    t = trace("The capital of France is", "smollm2")
    i = t.info
    assert (i["family"], i["n_layer"], i["n_head"], i["n_kv_head"], i["d_model"], i["vocab_size"]) == \
        ("llama", 30, 9, 3, 576, 49152)
    assert i["tied_embeddings"] and i["positional"] == "rope"
    assert t.top_next(1)[0][0] == " Paris"
    # read from the model: 4-bit GGUF source, RoPE theta, per-layer norm eps
    assert i["quantization"] == "Q4_1 GGUF (4-bit), dequantised to fp32"
    assert i["rope"]["theta"] == 100000.0 and i["rope"]["dims"] == 64
    assert all(l["norm1"]["type"] == "RMSNorm" and not l["norm1"]["bias"] for l in i["layers"])


def test_flat_host_copy_packs_every_tensor_exactly(monkeypatch):
    """The CUDA path's one-buffer copy, run here with an ordinary (unpinned) CPU buffer."""
    from tensors.capture import to_host

    src = {"a": torch.arange(7, dtype=torch.float32).reshape(7, 1), "ids": torch.tensor([3, 1, 4]),
           "b": torch.full((2, 3, 5), -float("inf")), "c": torch.randn(33, 17)}
    empty = torch.empty
    monkeypatch.setattr(torch, "empty", lambda *a, pin_memory=False, **k: empty(*a, **k))
    out = to_host({k: v.clone() for k, v in src.items()}, pinned=True)
    for k, v in src.items():
        assert out[k].shape == tuple(v.shape) and out[k].dtype == v.numpy().dtype
        np.testing.assert_array_equal(out[k], v.numpy())
    offsets = sorted(o.__array_interface__["data"][0] for o in out.values())
    assert all(b - a >= 0 and (b - a) % 64 == 0 for a, b in zip(offsets, offsets[1:]))  # one buffer


@pytest.mark.parametrize("which", ["bundled", "gpt2", "llama"])
def test_fast_tokenizer_matches_transformers(which, tiny_gpt2_dir, tiny_llama_dir):
    """Scenes read tokenizer.json with `tokenizers` (no torch import); same pieces as HF's."""
    from transformers import AutoTokenizer

    from tensors.trace import FastTokenizer, load_tokenizer

    d = {"bundled": models.bundled_dir(), "gpt2": tiny_gpt2_dir, "llama": tiny_llama_dir}[which]
    fast, ref = load_tokenizer(d), AutoTokenizer.from_pretrained(d)
    assert isinstance(fast, FastTokenizer) and load_tokenizer(d) is fast
    for s in [" king", "tokenization", "Hello, world!\n  ok", " naïve café 東京", "I 💙 GPTs 🦊!"]:
        for special in (True, False):
            assert fast(s, add_special_tokens=special)["input_ids"] == \
                ref(s, add_special_tokens=special)["input_ids"]
        ids = ref(s)["input_ids"]
        assert fast.decode(ids) == ref.decode(ids)
    ids = [0, 1, 100, 5000, len(ref) - 1]
    assert fast.convert_ids_to_tokens(ids) == ref.convert_ids_to_tokens(ids)
    # generation stops on these: at least every special id transformers knows, eos included
    assert set(ref.all_special_ids) <= set(fast.all_special_ids) and ref.eos_token_id in fast.all_special_ids
