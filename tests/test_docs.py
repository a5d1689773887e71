"""The scene writer's docs: the tutorial scene (docs/previous_token.py, included in
docs/tutorial.md) passes every check and renders; `gpt-scenes check` on any scene file."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "previous_token.py"


def gpt_scenes(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "scenes", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)


def test_tutorial_is_short_and_is_what_the_page_shows():
    code = TUTORIAL.read_text()
    assert len(code.splitlines()) <= 60
    page = (ROOT / "docs" / "tutorial.md").read_text()
    assert code.strip() in page  # the page shows the file that the tests run, verbatim


def test_tutorial_scene_passes_the_checks_and_finds_a_previous_token_head(tmp_path):
    r = gpt_scenes("check", str(TUTORIAL), "--stills", str(tmp_path / "stills"), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr[-2000:]
    assert "OK: 1 scene(s) checked" in r.stdout
    assert "ledger: 1 equation(s) shown, 0 wrong" in r.stdout
    assert len(list((tmp_path / "stills").glob("*.png"))) == 2  # a still per beat


def test_tutorial_scene_renders(tmp_path):
    r = subprocess.run([sys.executable, "-m", "manim", "render", "-ql", "--media_dir",
                        str(tmp_path / "media"), "--progress_bar", "none", str(TUTORIAL),
                        "PreviousTokenHead"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=600, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 0, r.stderr[-2000:]
    video = next((tmp_path / "media").rglob("PreviousTokenHead.mp4"))
    from scenes.render.media import video_seconds

    assert video_seconds(video) > 3
    srt = video.with_suffix(".srt").read_text()
    assert "Every head scored" in srt and "each token looks one step back" in srt


def test_the_head_it_finds_is_a_previous_token_head_in_the_model():
    """The scene's rule, recomputed: the best head's mean attention one step back."""
    import numpy as np

    from tensors import trace

    sys.path.insert(0, str(TUTORIAL.parent))
    try:
        from previous_token import PreviousTokenHead
    finally:
        sys.path.remove(str(TUTORIAL.parent))
    t = trace(PreviousTokenHead.prompt, "smollm2", quiet=True)
    p = np.asarray(t.pattern)
    n = p.shape[-1]
    prev = np.mean([p[:, :, q, q - 1] for q in range(1, n)], axis=0)
    l, h = np.unravel_index(prev.argmax(), prev.shape)
    assert prev[l, h] > 0.5          # most of each token's attention goes one step back
    assert prev[l, h] > 4 * np.median(prev)


@pytest.mark.parametrize("args, msg", [
    (["no/such.py"], "no/such.py: no such file"),
    (["tokenization", "nosuch=1"], "has no knob nosuch"),
    (["nosuch_scene"], "no scene named 'nosuch_scene'"),
])
def test_check_bad_input_is_one_line_exit_2(tmp_path, args, msg):
    r = gpt_scenes("check", *args, cwd=tmp_path)
    assert r.returncode == 2 and msg in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len([ln for ln in r.stderr.splitlines() if "error" in ln]) == 1


def test_console_script_help_and_version(tmp_path):
    from tensors import __version__

    r = gpt_scenes("--version", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == f"gpt-scenes {__version__}"
    r = gpt_scenes("--help", cwd=tmp_path)
    assert r.returncode == 0
    for cmd in ("render", "check", "course", "extract", "info", "fetch"):
        assert f"\n  {cmd} " in r.stdout
        h = gpt_scenes(cmd, "--help", cwd=tmp_path) if cmd != "course" else gpt_scenes("course", "--help", cwd=tmp_path)
        assert h.returncode == 0 and "usage:" in h.stdout, (cmd, h.stderr[-500:])
    r = gpt_scenes("rendr", cwd=tmp_path)
    assert r.returncode == 2 and "did you mean render" in r.stderr


def test_docs_build_offline_without_warnings(tmp_path):
    """Sphinx with autodoc: the tutorial and the API of tensors and the kit, -W (a warning
    fails the build); nothing is fetched (no intersphinx, the bundled theme)."""
    pytest.importorskip("sphinx", reason="the docs extra (sphinx, myst-parser) is not installed")
    pytest.importorskip("myst_parser", reason="the docs extra (sphinx, myst-parser) is not installed")
    r = subprocess.run([sys.executable, "-m", "sphinx", "-E", "-W", "-q", "-b", "html",
                        str(ROOT / "docs"), str(tmp_path / "html")], capture_output=True,
                       text=True, timeout=600, env=dict(os.environ, PYTHONPATH=str(ROOT),
                                                        HF_HUB_OFFLINE="1"))
    assert r.returncode == 0, r.stderr[-3000:]
    tutorial = (tmp_path / "html" / "tutorial.html").read_text()
    assert "PreviousTokenHead" in tutorial
    api = (tmp_path / "html" / "api" / "tensors.html").read_text()
    for name in ("tensors.trace", "tensors.Trace", "HOOK_NAMES", "blocks.{l}.attn.hook_pattern"):
        assert name in api, name
    kit = (tmp_path / "html" / "api" / "kit.html").read_text()
    for name in ("GPTScene", "AttentionGrid", "ProbabilityBars", "check_beats", "LedgerMixin"):
        assert name in kit, name
