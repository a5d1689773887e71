"""Shared fixtures: small GPT-2- and Llama-shaped models built from configs (random
weights, real GPT-2 tokenizer files), an isolated cache, and manim's golden-frame options."""
from __future__ import annotations

from pathlib import Path

import pytest

from manim.utils.testing import frames_comparison

# Debian 12 ships cairo 1.16; without this every frames_comparison test is silently skipped.
frames_comparison.MIN_CAIRO_VERSION = 11600


def pytest_addoption(parser):
    # manim's frames_comparison reads these two options.
    parser.addoption("--set_test", action="store_true", help="write new golden frames")
    parser.addoption("--show_diff", action="store_true", help="show a diff on failure")


@pytest.fixture(scope="session")
def gpt2_tok_dir() -> Path:
    from tensors.fetch import fetch_gpt2_tokenizer

    return fetch_gpt2_tokenizer()


def randomize_biases_and_norms(model, seed: int = 1) -> None:
    """Give every bias and every norm gain/bias random non-zero values.

    transformers initialises biases to 0 and norm gains to 1, so a model fresh from its
    config cannot catch a forgotten bias, gain or norm; these values can (issue 10).
    """
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 2)
            is_norm = any(k in name for k in ("ln_", "norm", "layernorm"))
            if leaf[-1] == "bias":
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            elif is_norm and leaf[-1] == "weight":
                p.copy_(1.0 + 0.5 * torch.randn(p.shape, generator=g))


def _save_model(model, tok, path: Path) -> Path:
    randomize_biases_and_norms(model)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_gpt2_dir(tmp_path_factory, gpt2_tok_dir) -> Path:
    """A GPT-2-shaped model (random weights, seed 0; random biases and LayerNorm gains and
    biases) with the real GPT-2 tokenizer."""
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    cfg = GPT2Config(n_layer=3, n_head=4, n_embd=64, n_positions=128, vocab_size=50257,
                     attn_implementation="eager")
    model = GPT2LMHeadModel(cfg).eval()
    tok = AutoTokenizer.from_pretrained(gpt2_tok_dir)
    return _save_model(model, tok, tmp_path_factory.mktemp("tiny-gpt2"))


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory) -> Path:
    """A Llama-shaped model with grouped-query attention (6 query heads, 2 kv heads),
    RoPE, untied embeddings, random q/k/v/o and MLP biases and random RMSNorm gains — and
    the bundled model's tokenizer."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
    from tensors.fetch import bundled_dir

    tok = AutoTokenizer.from_pretrained(bundled_dir())
    torch.manual_seed(0)
    cfg = LlamaConfig(num_hidden_layers=2, num_attention_heads=6, num_key_value_heads=2,
                      hidden_size=96, intermediate_size=192, vocab_size=len(tok),
                      max_position_embeddings=256, tie_word_embeddings=False,
                      attention_bias=True, mlp_bias=True, attn_implementation="eager")
    model = LlamaForCausalLM(cfg).eval()
    return _save_model(model, tok, tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(autouse=True)
def _isolated_traces(tmp_path, monkeypatch):
    """Each test gets its own trace cache (the model cache in GPT_SCENES_HOME is shared)."""
    monkeypatch.setenv("GPT_SCENES_CACHE", str(tmp_path / "traces"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory, request):
    """One trace cache per test module (scene tests share their forward passes)."""
    return tmp_path_factory.mktemp(f"traces-{request.module.__name__.rsplit('.', 1)[-1]}")


@pytest.fixture
def shared_traces(_isolated_traces, shared_cache, monkeypatch):
    """Opt in with ``pytestmark = pytest.mark.usefixtures("shared_traces")``."""
    monkeypatch.setenv("GPT_SCENES_CACHE", str(shared_cache))


def pytest_configure(config):
    # pytest-xdist (`tests/run.sh` uses it when installed) sends the tests of one scene to one
    # worker (`--dist loadgroup`), so the scene is rendered once per session there too.
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one xdist worker")


def pytest_collection_modifyitems(config, items):
    # with xdist (--dist loadgroup): a test not kept with its scene stays with its file, so
    # module-scoped fixtures (shared_cache: one trace cache per module) are built once
    for item in items:
        if not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(f"file-{item.path.name}"))


def scene_param(name: str, *rest):
    """A pytest param for a scene (file name in scenes/) kept on one xdist worker."""
    return pytest.param(name, *rest, marks=pytest.mark.xdist_group(f"scene-{name}"),
                        id="-".join(map(str, (name, *rest))))


@pytest.fixture(scope="session")
def scene_runs(tmp_path_factory, request):
    """Each story scene rendered ONCE per test session (per xdist worker) and every check
    reads that render: ``scene_runs(name, family, **knobs)`` → a
    :class:`scenes.kit.checks.FrameReport` — the findings of every sampled frame inside the
    animations, ``.beats`` the end-of-beat problems, ``.scene.ledger`` the equations shown.
    ``family``: "bundled" (SmolLM2) or "gpt2" (the tiny GPT-2-shaped model). Traces are
    shared by the whole session (one cache of their own)."""
    import os

    from scenes.kit.checks import check_frames

    cache = tmp_path_factory.mktemp("scene-run-traces")
    done: dict = {}

    def get(name: str, family: str = "bundled", **knobs):
        key = (name, family, tuple(sorted(knobs.items())))
        if key not in done:
            import importlib

            from scenes.kit.scene import GPTScene

            mod = importlib.import_module(f"scenes.{name}")
            (cls,) = [c for c in vars(mod).values() if isinstance(c, type)
                      and issubclass(c, GPTScene) and c.__module__ == mod.__name__]
            model = "smollm2" if family == "bundled" else str(
                request.getfixturevalue("tiny_gpt2_dir"))
            saved = os.environ.get("GPT_SCENES_CACHE")
            os.environ["GPT_SCENES_CACHE"] = str(cache)
            try:
                done[key] = check_frames(cls, model=model, **knobs)
            finally:
                if saved is None:
                    os.environ.pop("GPT_SCENES_CACHE", None)
                else:
                    os.environ["GPT_SCENES_CACHE"] = saved
        return done[key]

    return get
