"""A model's tokenizer without transformers and torch: :func:`load_tokenizer`.

>>> from tensors.tokenizer import load_tokenizer
>>> tok = load_tokenizer("models/smollm2")                     # doctest: +SKIP
>>> tok("The capital of France is", add_special_tokens=False)["input_ids"]  # doctest: +SKIP
[504, 3575, 282, 4649, 314]
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence


class FastTokenizer:
    """A model's ``tokenizer.json`` through the ``tokenizers`` library: the same pieces as
    its Hugging Face tokenizer (tests check it) without importing transformers and torch,
    which costs seconds of every render. Offers the calls the Trace uses."""

    def __init__(self, path: Path):
        from tokenizers import Tokenizer

        self.tk = Tokenizer.from_file(str(path))

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        return {"input_ids": self.tk.encode(text, add_special_tokens=add_special_tokens).ids}

    def convert_ids_to_tokens(self, ids: Sequence[int]) -> list[str | None]:
        return [self.tk.id_to_token(int(i)) for i in ids]

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        return self.tk.decode([int(i) for i in ids], skip_special_tokens=skip_special_tokens)

    def __len__(self) -> int:
        return self.tk.get_vocab_size()

    @property
    def all_special_ids(self) -> list[int]:
        """Ids of the added tokens marked special (end-of-text and the like)."""
        return sorted(i for i, t in self.tk.get_added_tokens_decoder().items() if t.special)


_TOKENIZERS: dict[str, Any] = {}


def load_tokenizer(model_path: str | os.PathLike) -> Any:
    """The tokenizer of the model in ``model_path``, once per process: its tokenizer.json
    through :class:`FastTokenizer` when there is one, else transformers' AutoTokenizer."""
    key = str(model_path)
    if key not in _TOKENIZERS:
        path = Path(model_path) / "tokenizer.json"
        if path.is_file():
            _TOKENIZERS[key] = FastTokenizer(path)
        else:
            from transformers import AutoTokenizer

            _TOKENIZERS[key] = AutoTokenizer.from_pretrained(model_path)
    return _TOKENIZERS[key]
