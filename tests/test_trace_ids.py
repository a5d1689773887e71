"""trace(ids=[...]) and batches: token ids in, cached like text prompts."""
from __future__ import annotations

import numpy as np
import pytest

from tensors import UserError, tokenizer, trace
from tensors import models


def test_ids_trace_is_the_text_trace_of_the_same_tokens(tiny_gpt2_dir):
    m = str(tiny_gpt2_dir)
    text = trace("The cat sat on the mat", m, quiet=True)
    ids = tokenizer(m)("The cat sat on the mat")["input_ids"]
    t = trace(ids=ids, model=m, quiet=True)
    assert list(t.token_ids) == ids and t.tokens == text.tokens
    assert t.prompt == "The cat sat on the mat" and t.info["input_ids"] == ids
    assert "input_ids" not in text.info
    assert np.array_equal(np.asarray(t.pattern), np.asarray(text.pattern))
    assert np.array_equal(t.logits_last, text.logits_last)
    assert t.cache_path != text.cache_path  # its own cache entry


def test_ids_are_cached_like_text(tiny_gpt2_dir, monkeypatch):
    m = str(tiny_gpt2_dir)
    rnd = [int(i) for i in np.random.default_rng(0).integers(1000, 5000, 8)]
    first = trace(ids=rnd * 2, model=m, quiet=True)   # a repeated random sequence
    assert first.n_pos == 16 and first.cache_path.is_file()

    def no_load(*a, **k):
        raise AssertionError("the model was loaded on a cache hit")

    monkeypatch.setattr(models, "load", no_load)
    again = trace(ids=rnd * 2, model=m, quiet=True)
    assert again.cache_path == first.cache_path
    assert np.array_equal(np.asarray(again.pattern), np.asarray(first.pattern))


def test_a_batch_is_each_prompt_traced_alone(tiny_gpt2_dir):
    m = str(tiny_gpt2_dir)
    prompts = ["The cat sat", "A dog ran far away"]
    batch = trace(prompts, m, quiet=True)
    assert [b.prompt for b in batch] == prompts
    for b, p in zip(batch, prompts):
        alone = trace(p, m, quiet=True)
        assert b.cache_path == alone.cache_path
        assert np.array_equal(b.logits_last, alone.logits_last)
    ids = [tokenizer(m)(p)["input_ids"] for p in prompts]
    by_ids = trace(ids=ids, model=m, quiet=True)
    assert [list(b.token_ids) for b in by_ids] == ids


@pytest.mark.parametrize("kw, msg", [
    (dict(ids=[]), "ids is empty"),
    (dict(ids=[1, 10 ** 9]), "not in .* vocabulary"),
    (dict(ids=[-1]), "not in .* vocabulary"),
    (dict(ids=["x"]), "whole numbers"),
    (dict(prompt="hi", ids=[1]), "not both"),
    (dict(prompt=[]), "batch of prompts is empty"),
])
def test_bad_ids_are_one_line_errors(tiny_gpt2_dir, kw, msg):
    with pytest.raises(UserError, match=msg):
        trace(model=str(tiny_gpt2_dir), quiet=True, **kw)


def test_no_import_circle_between_extract_and_trace_cache():
    import ast
    from pathlib import Path

    src = Path(__import__("tensors.trace_cache").trace_cache.__file__).read_text()
    imported = {n.module for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ImportFrom)}
    assert "extract" not in imported and "tensors.extract" not in imported


def test_every_trace_array_has_its_transformerlens_hook_name():
    import dataclasses
    import re
    from pathlib import Path

    from tensors import HOOK_NAMES, Trace
    from tensors.trace import ARRAY_FIELDS

    doc_fields = set(re.findall(r"^    - ``(\w+)``", Trace.__doc__, re.M)) - {"tokens", "info"}
    arrays = (set(ARRAY_FIELDS) - {"k_kv", "v_kv", "logits_last"}) | doc_fields
    assert arrays <= set(HOOK_NAMES), arrays - set(HOOK_NAMES)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for field, hook in HOOK_NAMES.items():
        if hook.startswith("blocks.") or hook.startswith("hook_") or hook.startswith("ln_final"):
            assert f"`{hook.split(' |')[0]}`" in readme, (field, hook)
    arrays_typed = [f.name for f in dataclasses.fields(Trace) if "ndarray" in str(f.type)]
    assert arrays_typed and not set(arrays_typed) - set(HOOK_NAMES) - {"k_kv", "v_kv", "logits_last"}
