"""Shared fixtures: small GPT-2- and Llama-shaped models built from configs (random
weights, real GPT-2 tokenizer files), an isolated cache, and manim's golden-frame options."""
from __future__ import annotations

from pathlib import Path

import pytest

from manim.utils.testing import frames_comparison

from tensors.shaped import gpt2_shaped, llama_shaped, randomize_biases_and_norms  # noqa: F401

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


@pytest.fixture(scope="session")
def tiny_gpt2_dir(tmp_path_factory, gpt2_tok_dir) -> Path:
    """A GPT-2-shaped model (random weights, seed 0; random biases and LayerNorm gains and
    biases) with the real GPT-2 tokenizer (:func:`tensors.shaped.gpt2_shaped`)."""
    return gpt2_shaped(tmp_path_factory.mktemp("tiny-gpt2"))


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory) -> Path:
    """A Llama-shaped model with grouped-query attention (:func:`tensors.shaped.llama_shaped`)."""
    return llama_shaped(tmp_path_factory.mktemp("tiny-llama"))


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
