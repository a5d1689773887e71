"""Issue 22, check = render: what a render would refuse, ``course check`` and
``./render.sh --dry-run`` refuse first, with the render's own line (the scene's
``prepare`` runs on a bare instance with the course's values: validate.dry_prepare)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scenes.kit.course import config as C
from scenes.kit.course import discover as D
from tensors import UserError

pytestmark = pytest.mark.usefixtures("shared_traces")
ROOT = Path(__file__).resolve().parents[1]
LONG = " ".join(["word"] * 2000)


def check(tmp_path: Path, text: str, scene: str) -> None:
    p = tmp_path / "course.toml"
    p.write_text(text, encoding="utf-8")
    course = C.load_course(p)
    entries, _ = D.discover()
    D.check_course(course, entries, rendered=[e for e in entries if e.id == scene])


@pytest.mark.parametrize("scene,text,words", [
    ("kv_cache", "[kv_cache]\nlong_context = -5\n", ["[kv_cache] long_context = -5: choose a whole number"]),
    ("kv_cache", '[kv_cache]\nprompt = "one two three four five six seven eight nine ten eleven twelve"\n',
     ["the prompt has 12 tokens; this scene draws up to 7"]),
    ("kv_cache", f'[kv_cache]\nprompt = "{LONG}"\n', ["the prompt has 2000 tokens"]),
    ("embedding_space", '[embedding_space]\nanalogies = [["king","man"]]\n', ["give (a, b, c) or (a, b, c, expected)"]),
    ("embedding_space", '[embedding_space]\nanalogies = [["kingdomhood","man","woman","queen"]]\n',
     ["'kingdomhood' is 2 tokens", "single token"]),
    ("tokenization", '[tokenization]\nmodel = "no-such/model-xyz"\n', ["unknown model 'no-such/model-xyz'"]),
    ("tokenization", '[tokenization]\ndevice = "cuda"\n', ["device 'cuda'", "not one this machine can use"]),
    ("tokenization", '[tokenization]\ndevice = "mps"\n', ["device 'mps'", "not one this machine can use"]),
    ("kv_cache", '[kv_cache.captions]\nscores = "{n:>999999999}"\n', ["format spec {n:>999999999} is not allowed"]),
    ("kv_cache", '[kv_cache.captions]\nscores = "{n:{n}}"\n', ["format spec {n:{n}} is not allowed"]),
    ("kv_cache", "[kv_cache]\nlayer = -1\n", ["layer = -1 — must be an integer ≥ 0"]),
])
def test_check_refuses_what_the_render_would(tmp_path, scene, text, words):
    if "cuda" in text:
        pytest.importorskip("torch")
        import torch
        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
    with pytest.raises(UserError) as e:
        check(tmp_path, text, scene)
    msg = str(e.value)
    assert msg.startswith("course config ") and "\n" not in msg, msg
    for w in words:
        assert w in msg, msg


def test_what_the_render_accepts_check_accepts(tmp_path):
    check(tmp_path, '[kv_cache]\nlong_context = 4096\nlayer = 2\n'
                    '[kv_cache.captions]\nscores = "{n:>4} keys, scale {scale}, {tok}"\n', "kv_cache")


def test_the_template_says_what_the_code_does():
    """A course's layer is 0 to n_layer - 1 (negative values are refused in one line), and
    the shipped template no longer promises counting from the end."""
    shipped = C.DEFAULT_PATH.read_text(encoding="utf-8")
    assert "Layer whose keys and values are drawn (0 to n_layer - 1)" in shipped
    assert "negative counts from the end" not in shipped.split("[kv_cache]")[1].split("\n[")[0]


def test_render_dry_run_refuses_with_the_same_line(tmp_path):
    (tmp_path / "c.toml").write_text("[kv_cache]\nlong_context = -5\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    a = subprocess.run([sys.executable, "-m", "scenes.kit.course", "check", "c.toml"], cwd=tmp_path,
                       capture_output=True, text=True, env=env, timeout=600)
    b = subprocess.run([str(ROOT / "render.sh"), "--course", "c.toml", "--dry-run", "kv_cache"],
                       cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    la = [l for l in a.stderr.splitlines() if "error:" in l]
    lb = [l for l in b.stderr.splitlines() if "error:" in l]
    assert a.returncode == b.returncode == 2 and len(la) == len(lb) == 1, (a.stderr, b.stderr)
    assert la[0].split("error: ", 1)[1] == lb[0].split("error: ", 1)[1]
