"""Load a resolved model into memory: (model, tokenizer, device), once per process.

Resolving a spec is :mod:`tensors.resolve`, fetching the bundled model :mod:`tensors.fetch`,
choosing the device :mod:`tensors.device`. Always fp32 with eager attention: with
transformers 5's default ``sdpa``, ``output_attentions=True`` silently returns nothing.

>>> from tensors.resolve import resolve                    # doctest: +SKIP
>>> model, tok, dev = load(resolve("smollm2", quiet=True))  # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any

from .device import pick_device
from .errors import UserError
from .fetch import bundled_dir
from .resolve import ModelRef

_LOADED: dict[tuple[str, str], tuple[Any, Any]] = {}


def load(ref: ModelRef, device: str | None = None) -> tuple[Any, Any, str]:
    """Load (model, tokenizer, device); memoised per (model folder, device).

    A folder whose weights cannot be read (empty, truncated, corrupt) is a
    :class:`UserError` naming the folder and the fix.
    """
    dev = pick_device(device)
    key = (str(ref.path), dev)
    if key not in _LOADED:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:
            tok = AutoTokenizer.from_pretrained(ref.path)
            model = AutoModelForCausalLM.from_pretrained(
                ref.path, dtype=torch.float32, attn_implementation="eager")
        except (MemoryError, KeyboardInterrupt):
            raise
        except Exception as e:  # safetensors/torch/tokenizers each raise their own types
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            fix = ("run: python -m tensors fetch --force" if ref.bundled or ref.path == bundled_dir()
                   else "save it again with save_pretrained")
            raise UserError(f"cannot load the model in '{ref.path}' ({type(e).__name__}: "
                            f"{first[:160]}); its files are damaged or incomplete — {fix}") from None
        model.to(dev).eval()
        _LOADED[key] = (model, tok)
    model, tok = _LOADED[key]
    return model, tok, dev
