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
    fails the build); nothing is fetched (no intersphinx, the bundled theme). Each piece's
    example is rendered by the build into its page (a still of real values); the Trace's
    table lists every field with its shape and TransformerLens hook."""
    pytest.importorskip("sphinx", reason="the docs extra (sphinx, myst-parser) is not installed")
    pytest.importorskip("myst_parser", reason="the docs extra (sphinx, myst-parser) is not installed")
    import dataclasses
    import re

    import numpy as np
    from PIL import Image

    from tensors import HOOK_NAMES, Trace

    before = sorted(p.relative_to(ROOT) for p in (ROOT / "docs").rglob("*") if p.is_file()
                    and "__pycache__" not in p.parts)
    r = subprocess.run([sys.executable, "-m", "sphinx", "-E", "-W", "-q", "-b", "html",
                        str(ROOT / "docs"), str(tmp_path / "html")], capture_output=True,
                       text=True, timeout=600, cwd=tmp_path,
                       env=dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1"))
    assert r.returncode == 0, r.stderr[-3000:]
    after = sorted(p.relative_to(ROOT) for p in (ROOT / "docs").rglob("*") if p.is_file()
                   and "__pycache__" not in p.parts)
    assert after == before            # the build writes nothing into the source tree
    tutorial = (tmp_path / "html" / "tutorial.html").read_text()
    assert "PreviousTokenHead" in tutorial
    api = (tmp_path / "html" / "api" / "tensors.html").read_text()
    for name in ("tensors.trace", "tensors.Trace", "HOOK_NAMES", "blocks.{l}.attn.hook_pattern"):
        assert name in api, name
    # the Trace table: a row per field (stored and derived), each with a shape and a hook
    table = re.search(r'<table class="[^"]*trace-fields.*?</table>', api, re.S).group(0)
    rows = {}
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)[1:]:
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        rows[cells[0]] = cells[1:]
    fields = {f.name for f in dataclasses.fields(Trace)} | set(HOOK_NAMES)
    assert set(rows) == fields, set(rows) ^ fields
    for name, hook in HOOK_NAMES.items():
        shape, shown_hook, _ = rows[name]
        assert shape.startswith(("[", "list[str]")), (name, shape)
        assert html_unescape(shown_hook).startswith(hook), (name, shown_hook)
    kit = (tmp_path / "html" / "api" / "kit.html").read_text()
    for name in ("GPTScene", "check_beats", "LedgerMixin", "pieces.html"):
        assert name in kit, name
    pieces = (tmp_path / "html" / "api" / "pieces.html").read_text()
    from scenes.kit import pieces as P

    for name in ("TokenBoxes", "EmbeddingMatrix", "WeightMatrix", "VectorColumn",
                 "MatrixProduct", "AttentionGrid", "AttentionArcs", "ProbabilityBars", "Bars",
                 "layer_chart", "box", "down_arrow", "norm_formula", "formula_softmax_T"):
        assert f'id="scenes.kit.pieces.{name}"' in pieces or \
            f'id="scenes.kit.pieces.product.{name}"' in pieces, name
        assert name == "MatrixProduct" or hasattr(P, name)
    shots = re.findall(r'<img class="piece-example" src="(_pieces/\w+\.png)"', pieces)
    assert len(shots) == 10, shots
    bg = np.array(Image.open(tmp_path / "html" / "api" / shots[0]).convert("RGB"))[0, 0]
    for src in shots:                 # each a drawn frame, not an empty background
        img = np.asarray(Image.open(tmp_path / "html" / "api" / src).convert("RGB"))
        assert img.shape == (480, 854, 3), src
        assert (np.abs(img.astype(int) - bg).sum(-1) > 60).mean() > 0.01, src


def html_unescape(s: str) -> str:
    """The text of a table cell (Sphinx's smart quotes undone)."""
    import html

    return html.unescape(s).replace("\u2019", "'")
