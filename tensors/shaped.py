"""Small models of a real architecture built from a config (random weights, seeded) with a
real tokenizer: the tests' GPT-2- and Llama-shaped models, and the benchmarks' second family.

Random weights make every number meaningless but every *shape* real: a scene drawn from one
exercises the family's code paths (LayerNorm with biases, learned positions, GELU, GQA …).

>>> import inspect; "n_positions" in inspect.signature(gpt2_shaped).parameters
True
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["randomize_biases_and_norms", "gpt2_shaped", "llama_shaped"]


def randomize_biases_and_norms(model: Any, seed: int = 1) -> None:
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


def _save(model: Any, tok: Any, path: Path) -> Path:
    randomize_biases_and_norms(model)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def gpt2_shaped(path: Path, n_positions: int = 128) -> Path:
    """A GPT-2-shaped model (3 layers, 4 heads, d_model 64; random weights, seed 0; random
    biases and LayerNorm gains and biases) with the real GPT-2 tokenizer, saved in ``path``.
    ``n_positions``: its context (GPT-2's own is 1,024)."""
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    from .fetch import fetch_gpt2_tokenizer

    torch.manual_seed(0)
    cfg = GPT2Config(n_layer=3, n_head=4, n_embd=64, n_positions=n_positions, vocab_size=50257,
                     attn_implementation="eager")
    model = GPT2LMHeadModel(cfg).eval()
    tok = AutoTokenizer.from_pretrained(fetch_gpt2_tokenizer())
    return _save(model, tok, Path(path))


def llama_shaped(path: Path) -> Path:
    """A Llama-shaped model with grouped-query attention (6 query heads, 2 kv heads), RoPE,
    untied embeddings, random q/k/v/o and MLP biases and random RMSNorm gains — and the
    bundled model's tokenizer — saved in ``path``."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from .fetch import bundled_dir

    tok = AutoTokenizer.from_pretrained(bundled_dir())
    torch.manual_seed(0)
    cfg = LlamaConfig(num_hidden_layers=2, num_attention_heads=6, num_key_value_heads=2,
                      hidden_size=96, intermediate_size=192, vocab_size=len(tok),
                      max_position_embeddings=256, tie_word_embeddings=False,
                      attention_bias=True, mlp_bias=True, attn_implementation="eager")
    model = LlamaForCausalLM(cfg).eval()
    return _save(model, tok, Path(path))
