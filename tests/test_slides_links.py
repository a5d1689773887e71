"""Slides ↔ interactive pages (issue 24): in one render folder, each scene's deck links to its
page and the lecture's deck to the pages' index, and the pages link back to the decks —
relative links whose targets exist, whichever of the two is written first; and in the
browser (networking off) the deck's link opens the page, whose link opens the deck."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from scenes.kit import revealjs
from test_slides_offline import _tiny_video, browser, slides_folder  # noqa: F401 - fixtures

SCENES = ("tokenization", "embedding")   # a page is written for the first only
_BLOCK = re.compile(r"<!--gpt-scenes-links (\w+) ([\w.-]*)-->(.*?)<!--/gpt-scenes-links-->", re.S)


def _links(f: Path) -> dict[str, list[str]]:
    """``"kind key"`` → the hrefs of that link block in ``f``."""
    return {f"{m[1]} {m[2]}": re.findall(r'href="([^"]+)"', m[3])
            for m in _BLOCK.finditer(f.read_text(encoding="utf-8"))}


def _slides(out: Path, presentation: Path) -> None:
    """What ``./render.sh --slides`` does after manim-slides rendered (here: the demo deck
    stands for every scene's presentation)."""
    from scenes.render.slides import convert_slides
    from scenes.render.summary import Row

    shutil.copytree(presentation, out / "slides", dirs_exist_ok=True)
    todo = [SimpleNamespace(id=s, cls=None) for s in SCENES]
    rows = {s: Row(s, "Demo", video=out / f"{s}.mp4") for s in SCENES}
    html = convert_slides(todo, rows, out / "slides", dict(os.environ), lambda cls: "Demo",
                          revealjs.convert_options(out / "slides"))
    assert [h.name for h in html] == [*(f"{s}.html" for s in SCENES), "lecture.html"], rows


def _pages(out: Path, presentation: Path) -> None:
    """What ``./render.sh --html`` does (the default course, one scene's page)."""
    from scenes.kit.pages import write_pages

    write_pages(out / "html", SCENES[:1])


@pytest.fixture(scope="module")
def render_folder(slides_folder, tmp_path_factory):  # noqa: F811
    """Factory: a render folder with videos, then decks and pages written in ``order``."""
    from scenes.kit.pages import vendor

    if not vendor.D3.is_fetched():
        pytest.skip("d3 is not fetched: python -m scenes.kit.pages fetch")
    cache = tmp_path_factory.mktemp("link-traces")

    def make(order: str) -> Path:
        out = tmp_path_factory.mktemp(order) / "480p15"
        out.mkdir()
        for s in SCENES:
            _tiny_video(out / f"{s}.mp4", (0, 0, 200))
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("GPT_SCENES_CACHE", str(cache))
            mp.setenv("GPT_SCENES_COURSE", "none")
            for step in order.split("-"):
                {"slides": _slides, "pages": _pages}[step](out, slides_folder)
        return out

    return make


@pytest.mark.parametrize("order", ["slides-pages", "pages-slides"])
def test_decks_and_pages_link_both_ways(render_folder, order):
    out = render_folder(order)
    deck, other, lecture = (out / "slides" / f"{n}.html" for n in (*SCENES, "lecture"))
    page, index = out / "html" / "tokenization.html", out / "html" / "index.html"
    assert _links(deck) == {"slides tokenization": ["../html/tokenization.html"]}
    assert _links(lecture) == {"slides lecture": ["../html/index.html"]}
    assert _links(other) == {"slides embedding": []}   # no page written for it: no link
    assert _links(page) == {"page tokenization": ["index.html", "../tokenization.mp4",
                                                  "../slides/tokenization.html"]}
    assert _links(index) == {"lecture ": ["../slides/lecture.html"],
                             "row tokenization": ["../tokenization.mp4",
                                                  "../slides/tokenization.html"]}
    for f in (deck, lecture, other, page, index):   # every link is relative and lands
        for href in sum(_links(f).values(), []):
            assert not re.match(r"^(?:[a-z]+:|/)", href), href
            assert (f.parent / href).resolve().is_file(), (f, href)
    assert deck.read_text().count("<!--gpt-scenes-links") == 1   # relinking never duplicates


def test_the_decks_link_opens_the_page_and_back_offline(render_folder, browser, tmp_path):  # noqa: F811
    out = render_folder("slides-pages")
    page = browser.new_page(viewport={"width": 1100, "height": 620})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto((out / "slides" / "tokenization.html").as_uri())
    page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=20000)
    tab = page.locator("#gpt-scenes-links a")
    assert tab.is_visible() and tab.inner_text() == "interactive page"
    shot = tmp_path / "deck-with-link.png"
    page.screenshot(path=str(shot))
    tab.click()
    page.wait_for_function("window.gptPages && window.gptPages.ready", timeout=20000)
    assert Path(page.url.removeprefix("file://")) == out / "html" / "tokenization.html"
    page.locator("a", has_text="slides").first.click()
    page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=20000)
    assert Path(page.url.split("#")[0].removeprefix("file://")) == out / "slides" / "tokenization.html"
    assert errors == []
    assert [u for u in requests if not u.startswith(("file:", "about:", "data:"))] == []
    shots = os.environ.get("GPT_SCENES_PAGES_SHOTS")
    if shots:
        shutil.copy(shot, Path(shots) / shot.name)
