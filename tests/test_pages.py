"""Interactive pages (scenes/kit/pages): the numbers embedded in each page are the Trace's,
recomputed here independently; the folder loads nothing from the network; the size budget;
the pinned d3 download; ``--html`` and the pages CLI. The browser side: test_pages_browser.py."""
from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from pages_site import SCENES, page_data, pages, site  # noqa: F401 - fixtures
from scenes.kit.pages import data as pdata
from scenes.kit.pages import vendor
from scenes.kit.pages.html import BUDGET_BYTES, site_bytes
from scenes.kit.revealjs import remote_refs
from tensors import UserError, trace
from tensors.sampling import softmax

ROOT = Path(__file__).resolve().parents[1]


def close(a, b, tol: float = 1e-6) -> None:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=0, atol=tol)


def test_every_page_is_written_with_its_scripts_and_no_network(site):
    names = sorted(p.name for p in site.glob("*.html"))
    assert names == sorted([f"{s}.html" for s in SCENES] + ["index.html"])
    d3_copy = site / vendor.D3.folder / "dist" / "d3.min.js"
    assert d3_copy.read_bytes() == (vendor.D3.cache_dir() / "dist" / "d3.min.js").read_bytes()
    assert (site / "gpt-pages.js").is_file()
    for p in site.glob("*.html"):
        assert remote_refs(p) == [], p
        text = p.read_text(encoding="utf-8")
        assert not re.search(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", text), p
    index = (site / "index.html").read_text(encoding="utf-8")
    for s in SCENES:
        assert f'href="{s}.html"' in index


def test_the_pages_fit_the_budget(site):
    pages = [p for p in site.glob("*.html")]
    total = site_bytes(site, pages)
    assert total <= BUDGET_BYTES, f"{total / 1e6:.2f} MB"
    print(f"pages of {len(SCENES)} scenes with scripts: {total / 1e6:.2f} MB")


def test_tokens_are_the_trace(pages):
    for s, d in pages.items():
        t = trace(d["tokens"]["prompt"], "smollm2", quiet=True)
        assert d["tokens"]["pieces"] == t.tokens
        assert pdata.unpack(d["tokens"]["ids"]).tolist() == t.token_ids.tolist()
        assert d["tokens"]["n_layer"] == t.info["n_layer"]


def test_attention_is_the_trace(pages):
    from scenes.kit.analysis.attention import head_scores, select_head

    a = pages["attention"]["attention"]
    t = trace(pages["attention"]["tokens"]["prompt"], "smollm2", quiet=True)
    pattern = np.stack([np.asarray(t.pattern[i]) for i in range(t.info["n_layer"])])
    close(pdata.unpack(a["pattern"]), pattern)
    scores = head_scores(pattern)
    close(pdata.unpack(a["scores"]), scores)
    assert (a["layer"], a["head"]) == select_head(scores)[:2]     # the default course's choice


def test_mlp_and_ablation_are_the_trace(pages):
    from scenes.kit.analysis.mlp import attribute
    from tensors.ablation import Ablation

    m = pages["mlp"]["mlp"]
    t = trace(pages["mlp"]["tokens"]["prompt"], "smollm2", quiet=True)
    assert m["answer_id"] == int(np.argmax(t.logits[-1]))          # answer = "auto"
    a = attribute(t, m["answer_id"])
    close(pdata.unpack(m["attn"]), a.attn)
    close(pdata.unpack(m["mlp"]), a.mlp)
    assert abs(m["logit"] - float(t.logits[-1, m["answer_id"]])) < 1e-6
    # the terms add up to the logit (what the page says in words)
    total = m["embed"] + pdata.unpack(m["attn"]).sum() + pdata.unpack(m["mlp"]).sum() + m["bias"]
    assert abs(total - m["logit"]) < 2e-3
    assert m["layer"] == int(np.argmax(a.mlp))
    t2 = trace(t.prompt, "smollm2", quiet=True,
               ablate=[Ablation("neurons", layer=m["layer"], kind="zero", index=tuple(m["top"]))])
    close(pdata.unpack(m["p_before"]), t.probs(-1)[m["ids"]])
    close(pdata.unpack(m["p_after"]), t2.probs(-1)[m["ids"]])
    assert abs(m["after"]["logit"] - float(t2.logits[-1, m["answer_id"]])) < 1e-6
    assert not np.allclose(pdata.unpack(m["p_before"]), pdata.unpack(m["p_after"]))


def test_lens_is_the_trace(pages):
    z = pages["logit_lens"]["lens"]
    t = trace(pages["logit_lens"]["tokens"]["prompt"], "smollm2", quiet=True)
    top = pdata.unpack(z["top"])
    for layer in (0, 7, t.info["n_layer"]):                # the Trace's own lens, layer by layer
        p = softmax(t.lens_logits(layer))                   # [pos, vocab] float64
        assert top[layer].tolist() == p.argmax(-1).tolist()
        close(pdata.unpack(z["p_top"])[layer], p.max(-1))
        close(pdata.unpack(z["p_answer"])[layer], p[-1, z["answer_id"]])
    assert z["strs"][str(z["answer_id"])] == t.token_strs([z["answer_id"]])[0]


def test_softmax_logits_are_the_trace(pages):
    s = pages["softmax_temperature"]["softmax"]
    t = trace(pages["softmax_temperature"]["tokens"]["prompt"], "smollm2", quiet=True)
    z = pdata.unpack(s["logits"])
    assert z.dtype == np.float32 and np.array_equal(z, np.asarray(t.logits[-1], np.float32))
    assert s["greedy"] == int(np.argmax(t.logits[-1])) == s["ids"][0]
    assert s["temps"] == [0.1, 1.0, 5.0]


def test_embedding_space_is_the_model(pages):
    from scenes.kit.analysis.embedding import pca3

    e = pages["embedding_space"]["space"]
    t = trace(pages["embedding_space"]["tokens"]["prompt"], "smollm2", quiet=True)
    X = t.W_E(e["keys"])
    P = pca3(X)
    close(pdata.unpack(e["coords"]), P.coords)
    for an in e["analogies"]:
        ka, kb, kc = an["keys"]
        v = np.asarray(t.W_E([ka])[0], np.float64) - t.W_E([kb])[0] + t.W_E([kc])[0]
        close(pdata.unpack(an["point"]), P.project(v), 1e-5)
        assert an["top"][0][1] == t.nearest(v, 1)[0][1]


def test_embed_and_writes_are_the_trace(pages):
    from scenes.kit.analysis.stack import write_norms

    t = trace(pages["embedding"]["tokens"]["prompt"], "smollm2", quiet=True)
    close(pdata.unpack(pages["embedding"]["embed"]["rows"]), t.W_E(t.token_ids))
    close(pdata.unpack(pages["transformer"]["writes"]["norms"]),
          write_norms(t.attn_out, t.mlp_out), 1e-5)


def test_pages_of_a_gpt2_shaped_model(tmp_path, monkeypatch, tiny_gpt2_dir):
    """LayerNorm, learned positions, biases: the same pages from the tiny GPT-2 fixture."""
    from scenes.kit.pages import write_pages

    if not vendor.D3.is_fetched():
        pytest.skip("d3 is not fetched")
    course = tmp_path / "tiny.toml"
    course.write_text(f'model = "{tiny_gpt2_dir}"\n', encoding="utf-8")
    monkeypatch.setenv("GPT_SCENES_COURSE", str(course))
    write_pages(tmp_path / "h", ("attention", "embedding", "mlp", "logit_lens"))
    att, emb = page_data(tmp_path / "h" / "attention.html"), page_data(tmp_path / "h" / "embedding.html")
    t = trace(att["tokens"]["prompt"], str(tiny_gpt2_dir), quiet=True)
    close(pdata.unpack(att["attention"]["pattern"]), np.asarray(t.pattern))
    t = trace(emb["tokens"]["prompt"], str(tiny_gpt2_dir), quiet=True)
    close(pdata.unpack(emb["embed"]["pos_embed"]), t.pos_embed)
    m = page_data(tmp_path / "h" / "mlp.html")["mlp"]
    assert len(pdata.unpack(m["mlp"])) == t.info["n_layer"]


def test_long_prompts_store_attention_in_8_bits_and_say_so(monkeypatch):
    from types import SimpleNamespace

    monkeypatch.setattr(pdata, "PATTERN_EXACT_MAX", 10)
    z = np.random.default_rng(0).normal(size=(2, 2, 4, 4))          # an input, not an answer
    z[..., np.triu_indices(4, 1)[0], np.triu_indices(4, 1)[1]] = -np.inf
    pattern = softmax(z).astype(np.float32)
    t = SimpleNamespace(pattern=pattern, info={"n_kv_head": 1}, n_pos=4)
    scene = SimpleNamespace(trace=t, head_score_table=np.zeros((2, 2)), L=1, H=0, Q=3)
    notes: list[str] = []
    a = pdata.attention_data(scene, notes)
    assert a["pattern"]["dtype"] == "u8"
    assert np.abs(pdata.unpack(a["pattern"]) - pattern).max() <= 0.5 / 255 + 1e-9
    assert any("1/255" in n for n in notes)


# ---------------------------------------------------------------------- the pinned download
def _registry(tmp_path: Path, payload: bytes) -> str:
    d = tmp_path / "reg" / "d3" / "-"
    d.mkdir(parents=True)
    (d / "d3-7.9.2.tgz").write_bytes(payload)
    return (tmp_path / "reg").as_uri()


def _tgz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return buf.getvalue()


def test_a_tarball_with_another_sha256_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("GPT_SCENES_HOME", str(tmp_path / "home"))
    bad = _tgz({"dist/d3.min.js": b"alert(1)", "LICENSE": b"x", "package.json": b"{}"})
    with pytest.raises(UserError, match="sha256"):
        vendor.D3.fetch(_registry(tmp_path, bad))
    assert not vendor.D3.cache_dir().exists()


def test_a_pinned_tarball_is_unpacked_once(tmp_path, monkeypatch):
    monkeypatch.setenv("GPT_SCENES_HOME", str(tmp_path / "home"))
    body = _tgz({"dist/d3.min.js": b"var d3={}", "LICENSE": b"ISC", "package.json": b"{}",
                 "README.md": b"not needed"})
    pkg = vendor.NpmPackage("d3", "7.9.2", hashlib.sha256(body).hexdigest(), ("dist/d3.min.js",))
    dst = pkg.fetch(_registry(tmp_path, body))
    assert (dst / "dist" / "d3.min.js").read_bytes() == b"var d3={}"
    assert not (dst / "README.md").exists()
    out = pkg.copy_next_to(tmp_path / "site")
    assert (out / "dist" / "d3.min.js").is_file() and pkg.src("dist/d3.min.js") == "d3-7.9.2/dist/d3.min.js"


def test_pages_need_the_fetched_d3(tmp_path, monkeypatch):
    monkeypatch.setenv("GPT_SCENES_HOME", str(tmp_path / "empty"))
    with pytest.raises(UserError, match="scripts/setup.sh"):
        vendor.D3.copy_next_to(tmp_path / "site")


# ---------------------------------------------------------------------- command lines
def test_cli_usage_is_one_line_exit_2():
    r = subprocess.run([sys.executable, "-m", "scenes.kit.pages", "nonsense"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "usage" in r.stderr


def test_cli_unknown_scene_is_one_line_exit_2(tmp_path):
    r = subprocess.run([sys.executable, "-m", "scenes.kit.pages", "write", str(tmp_path / "h"),
                        "no_such_scene"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "no scene named 'no_such_scene'" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "h").exists()


def test_render_html_writes_pages_beside_the_videos(tmp_path, tiny_gpt2_dir):
    """The driver's --html (render.sh's python side; render.sh itself also runs the set-up)."""
    import os

    from tiny_scene import write_tiny_course

    if not vendor.D3.is_fetched():
        pytest.skip("d3 is not fetched")
    course = write_tiny_course(tmp_path, tiny_gpt2_dir)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "render.py"), str(course), "--html",
                        "-j", "2", "--out", str(out)], cwd=tmp_path, capture_output=True, text=True,
                       env={**os.environ, "GPT_SCENES_COURSE": "none"}, timeout=600,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    h = out / "480p15" / "html"
    for name in ("tiny", "tiny_two"):
        d = page_data(h / f"{name}.html")
        assert d["sections"] == ["tokens"] and d["tokens"]["pieces"]
        assert f'href="../{name}.mp4"' in (h / f"{name}.html").read_text(encoding="utf-8")
        assert (out / "480p15" / f"{name}.mp4").is_file()
    index = (h / "index.html").read_text(encoding="utf-8")
    assert 'href="tiny.html"' in index and 'href="tiny_two.html"' in index
    assert "[render] html " in r.stderr


def test_render_sh_takes_html():
    from scenes.render import cli

    assert cli.parse(["--html", "attention"]).html is True
    assert cli.parse(["attention"]).html is False
