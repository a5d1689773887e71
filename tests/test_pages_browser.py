"""The interactive pages in a real browser: headless Chromium (Debian's chromium-headless-shell,
driven by Playwright; no browser download) with networking off. Each page loads with no
console error and requests nothing but file:// URLs; a scripted interaction (pick a head,
move the slider, hover a cell, switch to the changed run, rotate) changes what is drawn
(screenshots compared) and the values read back from the page are the Trace's; the page's
softmax equals tensors.sampling's at every slider stop tried; one slider update takes ≤ 16 ms.

Screenshots go to $GPT_SCENES_PAGES_SHOTS when set (else a temporary folder).
"""
from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
import pytest

from offline_browser import browser  # noqa: F401 - fixture
from pages_site import SCENES, pages, site  # noqa: F401 - fixtures
from scenes.kit.pages.data import unpack
from tensors.sampling import distribution

pytest.importorskip("playwright.sync_api", reason="pip install playwright (no browser download needed)")
#: Slider positions tried (T = 10 ** value): both ends, the video's temperatures, between.
STOPS = (-1.3, -1.0, -0.5, -0.2, 0.0, 0.3, 0.699, 1.0, 1.3)


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    d = os.environ.get("GPT_SCENES_PAGES_SHOTS")
    out = Path(d) if d else tmp_path_factory.mktemp("page-shots")
    out.mkdir(parents=True, exist_ok=True)
    return out


class Page:
    """One page open in the browser, with its console errors and the URLs it requested."""

    def __init__(self, browser, html: Path):
        self.p = browser.new_page(viewport={"width": 1250, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.p.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.p.on("pageerror", lambda e: self.errors.append(str(e)))
        self.p.on("request", lambda r: self.requests.append(r.url))
        self.p.goto(html.as_uri())
        if html.name != "index.html":
            self.p.wait_for_function("window.gptPages && window.gptPages.ready", timeout=20000)

    def js(self, expr: str, arg=None):
        return self.p.evaluate(expr, arg)

    def shot(self, path: Path, selector: str = "body") -> np.ndarray:
        from PIL import Image

        png = self.p.locator(selector).screenshot(path=str(path))
        return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))

    def readout(self, selector: str) -> float:
        return float(self.p.get_attribute(selector, "data-value"))


def changed(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape != b.shape or bool((a != b).any())


def test_every_page_loads_offline_without_errors(browser, site):
    for name in [*SCENES, "index"]:
        pg = Page(browser, site / f"{name}.html")
        assert pg.errors == [], (name, pg.errors)
        assert pg.requests and all(u.startswith("file://") for u in pg.requests), (name, pg.requests)
        if name != "index":
            assert pg.js("window.gptPages.data.sections") == pages_sections(site, name)
        pg.p.close()


def pages_sections(site: Path, name: str) -> list[str]:
    from pages_site import page_data

    return page_data(site / f"{name}.html")["sections"]


def test_networking_is_really_off(browser, site):
    pg = Page(browser, site / "tokenization.html")
    got = pg.js("""async () => { try { await fetch('http://example.com/'); return 'reached'; }
                               catch (e) { return 'failed'; } }""")
    assert got == "failed"
    pg.p.close()


def test_the_slider_is_tensors_softmax_at_every_stop(browser, site, pages, shots):
    s = pages["softmax_temperature"]["softmax"]
    z, ids = unpack(s["logits"]), s["ids"]
    pg = Page(browser, site / "softmax_temperature.html")
    before = pg.shot(shots / "softmax_temperature-before.png", "#softmax")
    for v in STOPS:
        pg.p.locator("#temp").fill(str(v))           # moves the range input, fires 'input'
        T = pg.js("window.gptPages.temperature")
        assert math.isclose(T, 10 ** v, rel_tol=1e-12)
        p = distribution(z, T)                       # tensors.sampling, float64
        shown = np.array(pg.js("window.gptPages.shown"))
        np.testing.assert_allclose(shown[:-1], p[ids], rtol=0, atol=1e-12)
        np.testing.assert_allclose(shown[-1], np.delete(p, ids).sum(), rtol=0, atol=1e-9)
        full = np.array(pg.js("T => Array.from(window.gptPages.softmax(T))", T))
        np.testing.assert_allclose(full, p, rtol=1e-9, atol=1e-15)
        assert int(np.argmax(full)) == s["greedy"]
        # what is drawn: the greedy bar's data and its percentage text
        assert math.isclose(float(pg.p.get_attribute("#softmax rect.bar >> nth=0", "data-v")),
                            p[ids[0]], rel_tol=1e-12)
    pg.p.locator("#temp").fill("0.699")
    after = pg.shot(shots / "softmax_temperature-after.png", "#softmax")
    assert changed(before, after)
    pg.p.hover("#softmax rect.bar >> nth=1")
    assert math.isclose(pg.readout("#soft-readout"), distribution(z, 10 ** 0.699)[ids[1]], rel_tol=1e-12)
    assert pg.errors == []
    pg.p.close()


def test_a_slider_update_takes_at_most_a_frame(browser, site):
    pg = Page(browser, site / "softmax_temperature.html")
    ms = pg.js("""() => {
        const s = document.getElementById('temp'), out = [];
        for (let i = 0; i < 120; i++) {
            s.value = (-1.3 + 2.6 * ((i * 37) % 120) / 119).toFixed(2);
            const t0 = performance.now();
            s.dispatchEvent(new Event('input'));
            void document.getElementById('softmax').getBoundingClientRect();   // + style and layout
            out.push(performance.now() - t0);
        }
        return out; }""")
    ms = np.array(ms[20:])                          # after the JIT has warmed up
    print(f"slider update: median {np.median(ms):.2f} ms, 90th percentile "
          f"{np.percentile(ms, 90):.2f} ms, max {ms.max():.2f} ms over {len(ms)} moves")
    assert np.median(ms) <= 16.0
    pg.p.close()


def test_pick_a_head_and_hover_a_cell(browser, site, pages, shots):
    a = pages["attention"]["attention"]
    P = unpack(a["pattern"])
    L, H, Q, _ = P.shape
    pg = Page(browser, site / "attention.html")
    q, k = Q - 1, 2
    cell = f'#attention rect.pat[data-i="{q}"][data-j="{k}"]'
    before = pg.shot(shots / "attention-before.png", "#attention")
    assert pg.js("window.gptPages.attention") == {"layer": a["layer"], "head": a["head"]}
    pg.p.hover(cell)        # (a screenshot scrolls: read what a hover shows before taking one)
    assert abs(pg.readout("#att-readout") - P[a["layer"], a["head"], q, k]) < 1e-6
    pg.p.select_option("#att-layer", "3")
    pg.p.select_option("#att-head", "5")
    assert pg.js("window.gptPages.attention") == {"layer": 3, "head": 5}
    pg.p.hover(cell)
    assert abs(pg.readout("#att-readout") - P[3, 5, q, k]) < 1e-6
    after = pg.shot(shots / "attention-after.png", "#attention")
    assert changed(before, after)
    pg.p.click(f"#score-{L - 1}-{H - 1}")            # a head-choice score cell picks its head
    assert pg.js("window.gptPages.attention") == {"layer": L - 1, "head": H - 1}
    pg.p.hover(f'#attention rect.pat[data-i="{q}"][data-j="0"]')
    assert abs(pg.readout("#att-readout") - P[L - 1, H - 1, q, 0]) < 1e-6
    assert pg.errors == []
    pg.p.close()


def test_the_ablation_before_and_after(browser, site, pages, shots):
    m = pages["mlp"]["mlp"]
    pg = Page(browser, site / "mlp.html")
    before = pg.shot(shots / "mlp-before.png", "#mlp")
    pg.p.hover("#mlp svg >> nth=1 >> rect.bar >> nth=0")
    assert abs(pg.readout("#mlp-readout") - unpack(m["p_before"])[0]) < 1e-6
    pg.p.click("#mlp-after")
    assert pg.js("window.gptPages.mlpRun") == "changed"
    pg.p.hover("#mlp svg >> nth=1 >> rect.bar >> nth=0")
    assert abs(pg.readout("#mlp-readout") - unpack(m["p_after"])[0]) < 1e-6
    layer = m["layer"]
    pg.p.hover(f"#mlp svg >> nth=0 >> rect.bar >> nth={2 * layer + 1}")
    assert abs(pg.readout("#mlp-readout") - unpack(m["after"]["mlp"])[layer]) < 1e-6
    after = pg.shot(shots / "mlp-after.png", "#mlp")
    assert changed(before, after)
    assert pg.errors == []
    pg.p.close()


def test_lens_embed_and_writes_hover(browser, site, pages, shots):
    z = pages["logit_lens"]["lens"]
    pg = Page(browser, site / "logit_lens.html")
    before = pg.shot(shots / "logit_lens-before.png", "#lens")
    pg.p.hover('#lens rect.cell[data-i="20"][data-j="1"]')
    assert abs(pg.readout("#lens-readout") - unpack(z["p_top"])[20, 1]) < 1e-6
    after = pg.shot(shots / "logit_lens-after.png", "#lens")     # the tooltip is drawn
    assert changed(before, after)
    pg.p.close()
    for name, sel, key, value in (
            ("embedding", '#embed rect.cell[data-i="1"][data-j="7"]', "#embed-readout",
             unpack(pages["embedding"]["embed"]["rows"])[1, 7]),
            ("transformer", "#writes rect.bar >> nth=5", "#writes-readout",
             unpack(pages["transformer"]["writes"]["norms"])[2, 1])):
        pg = Page(browser, site / f"{name}.html")
        b = pg.shot(shots / f"{name}-before.png", "#sections")
        pg.p.hover(sel)
        assert abs(pg.readout(key) - value) < 1e-6
        assert changed(b, pg.shot(shots / f"{name}-after.png", "#sections"))
        assert pg.errors == []
        pg.p.close()
    pg = Page(browser, site / "tokenization.html")
    pg.shot(shots / "tokenization.png", "#sections")
    pg.p.close()


def test_rotate_the_embedding_space(browser, site, pages, shots):
    pg = Page(browser, site / "embedding_space.html")
    before = pg.shot(shots / "embedding_space-before.png", "#space")
    v0 = pg.js("window.gptPages.view")
    box = pg.p.locator("#space-svg").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    pg.p.mouse.move(x, y)
    pg.p.mouse.down()
    pg.p.mouse.move(x + 120, y + 40, steps=8)
    pg.p.mouse.up()
    v1 = pg.js("window.gptPages.view")
    assert v1["yaw"] > v0["yaw"] + 0.5 and v1["pitch"] > v0["pitch"] + 0.1
    after = pg.shot(shots / "embedding_space-after.png", "#space")
    assert changed(before, after)
    assert pg.errors == []
    pg.p.close()
