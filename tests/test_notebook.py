"""The notebook path: a Trace's HTML summary (tensors.display) and the example notebook
assets/notebooks/explore.ipynb run top to bottom, offline, by nbclient (a real kernel)."""
from __future__ import annotations

import html
import os
from pathlib import Path

import pytest

from tensors import trace

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "assets" / "notebooks" / "explore.ipynb"


def test_a_trace_shows_tokens_shapes_and_top_predictions():
    t = trace("The capital of France is", "smollm2", quiet=True)
    h = t._repr_html_()
    for s, i in zip(t.tokens, t.token_ids):
        assert f"<code>{html.escape(s.replace(' ', '␣'))}</code><br><small>{int(i)}</small>" in h
    assert f"[{', '.join(map(str, t.resid.shape))}]" in h
    assert f"[{', '.join(map(str, t.pattern.shape))}]" in h
    for s, p in t.top_next(5):
        assert f"<code>{html.escape(s.replace(' ', '␣'))}</code></td><td>{p:.4f}</td>" in h
    assert t.info["name"] in h


def test_the_example_notebook_runs_offline(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), \
        "commit the notebook without outputs"
    env_before = dict(os.environ)
    os.environ.update(HF_HUB_OFFLINE="1", PYTHONPATH=os.pathsep.join(
        [str(ROOT), *[p for p in env_before.get("PYTHONPATH", "").split(os.pathsep) if p]]))
    try:
        client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                         resources={"metadata": {"path": str(tmp_path)}})
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    outs = [c.outputs for c in nb.cells if c.cell_type == "code"]
    summary = [o for o in outs[0] if "text/html" in o.get("data", {})]
    assert summary and "gpt-scenes-trace" in summary[0]["data"]["text/html"]
    t = trace("The capital of France is", "smollm2", quiet=True)
    head_text = "".join(o.get("text", "") for o in outs[1])
    from scenes.kit.analysis.attention import head_scores, select_head

    L, H, _ = select_head(head_scores(t.pattern))
    assert head_text.startswith(f"layer {L}, head {H}:")
    video = [o for o in outs[-1] if "<video" in o.get("data", {}).get("text/html", "")]
    assert video and 'src="data:video/mp4;base64,' in video[0]["data"]["text/html"]
    assert list(tmp_path.rglob("FirstBeats.mp4")), "the %%manim cell wrote no video"
