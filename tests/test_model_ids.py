"""The bundled model by its Hugging Face id: ``HuggingFaceTB/SmolLM2-135M-Instruct`` offline
(not in the Hugging Face cache, hub unreachable) is the bundled copy of that model, said in
one note — as ``--model`` and as a course's ``model`` — while another unknown id still fails
in one line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tensors import UserError, fetch, resolve

ROOT = Path(__file__).resolve().parents[1]
HF_ID = fetch.BUNDLED["hf_id"]


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No Hugging Face cache, no hub: an empty HF_HOME and HF_HUB_OFFLINE=1."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(resolve, "_hub_cached", lambda repo_id: False)
    resolve._hub_answers.cache_clear()
    yield {**os.environ, "PYTHONPATH": str(ROOT)}
    resolve._hub_answers.cache_clear()


def test_the_bundled_models_own_id_offline_is_the_bundled_copy(offline):
    if not (fetch.bundled_dir() / "model.safetensors").is_file():
        pytest.skip("the bundled model is not installed (python -m tensors fetch)")
    bundled = resolve.resolve("smollm2", quiet=True)
    for spec in (HF_ID, HF_ID.lower()):
        ref = resolve.resolve(spec, quiet=True)
        assert (ref.key, ref.path, ref.bundled) == (bundled.key, bundled.path, True)
        assert "using the bundled copy of that model" in ref.hint and "4-bit" in ref.hint
    with pytest.raises(UserError, match="unknown model 'no-such/model-xyz' while offline"):
        resolve.resolve("no-such/model-xyz", quiet=True)


def test_model_option_and_course_model_take_the_id_offline(offline, tmp_path):
    if not (fetch.bundled_dir() / "model.safetensors").is_file():
        pytest.skip("the bundled model is not installed (python -m tensors fetch)")
    env = {**offline, "GPT_SCENES_COURSE": "none"}
    r = subprocess.run([sys.executable, "-m", "scenes", "extract", "--model", HF_ID, "--prompt",
                        "The capital of France is", "--json"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "unknown model" not in r.stderr and "using the bundled copy" in r.stderr
    top = json.loads(r.stdout)
    assert "Paris" in json.dumps(top)    # the model's own answer, read from its output

    (tmp_path / "c.toml").write_text(f'[tokenization]\nmodel = "{HF_ID}"\n')
    c = subprocess.run([sys.executable, "-m", "scenes", "course", "check", "c.toml"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert c.returncode == 0, c.stdout + c.stderr[-2000:]
    assert "unknown model" not in c.stdout + c.stderr
