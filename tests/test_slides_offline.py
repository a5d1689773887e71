"""Slides without internet: manim-slides HTML pointed at a local reveal.js (scenes/kit/revealjs.py),
opened in headless Chromium with networking off — the deck, and the presenter (speaker) view
with a slide's notes."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from offline_browser import BROWSER, NO_BROWSER, OFFLINE_FLAGS, browser  # noqa: F401 - fixture
from scenes.kit import revealjs


def _offline_prefix() -> list[str]:
    """Run the browser in a network namespace with no interfaces (root, or user namespaces)."""
    for cmd in (["unshare", "-n"], ["unshare", "-rn"]):
        try:
            if subprocess.run([*cmd, "true"], capture_output=True, timeout=10).returncode == 0:
                return cmd
        except (OSError, subprocess.SubprocessError):
            pass
    return []


def _tiny_video(path: Path, rgb: tuple[int, int, int]) -> None:
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 64, 36, "yuv420p"
        for _ in range(5):
            for p in s.encode(av.VideoFrame.from_ndarray(np.full((36, 64, 3), rgb, np.uint8),
                                                         format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


#: The demo slides' speaker notes (markdown, as scenes.kit.slides writes them).
NOTES = ("**Demo — beat 1 of 2: red**\n\n> the first caption", "**Demo — beat 2 of 2: green**")


@pytest.fixture(scope="module")
def slides_folder(tmp_path_factory) -> Path:
    """A two-slide manim-slides presentation (what ``manim-slides render`` leaves behind)."""
    from manim_slides.config import PresentationConfig, SlideConfig

    d = tmp_path_factory.mktemp("slides")
    (d / "files").mkdir()
    slides = []
    for i, rgb in enumerate([(200, 0, 0), (0, 200, 0)]):
        a, r = d / "files" / f"s{i}.mp4", d / "files" / f"s{i}_rev.mp4"
        _tiny_video(a, rgb)
        _tiny_video(r, rgb)
        slides.append(SlideConfig(file=a, rev_file=r, notes=NOTES[i]))
    PresentationConfig(slides=slides, resolution=(64, 36)).to_file(d / "Demo.json")
    return d


def _convert(folder: Path, dst: Path, options: list[str]) -> None:
    r = subprocess.run([sys.executable, "-m", "manim_slides", "convert", "--folder", str(folder),
                        "Demo", str(dst), *options], capture_output=True, text=True)
    assert r.returncode == 0 and dst.is_file(), r.stderr[-2000:]


def _dom(html: Path) -> str:
    if BROWSER is None:
        pytest.skip(NO_BROWSER)
    prefix = _offline_prefix()
    flags = [] if prefix else OFFLINE_FLAGS
    r = subprocess.run([*prefix, BROWSER, "--headless", "--no-sandbox", "--disable-gpu",
                        "--virtual-time-budget=3000", *flags, "--dump-dom", html.as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_manim_slides_still_expects_our_reveal_version():
    from manim_slides.convert import RevealJS

    assert RevealJS.model_fields["reveal_version"].default == revealjs.VERSION


def test_fetched_copy_is_the_pinned_release():
    root = revealjs.fetch()            # idempotent; scripts/setup.sh already fetched it
    assert revealjs.is_fetched(root)
    meta = json.loads((root / "package.json").read_text())
    assert (meta["name"], meta["version"]) == ("reveal.js", revealjs.VERSION)


def test_npm_package_unpacks_its_folders_and_refuses_a_wrong_sha256(tmp_path, monkeypatch):
    """The one npm fetcher (vendor.NpmPackage, used for reveal.js and d3): from a registry
    (here a folder, file://), only the listed files and folders, LICENSE and package.json
    are unpacked; a tarball with another sha256 is refused in one line, nothing kept."""
    import hashlib
    import io
    import tarfile

    from scenes.kit.pages.vendor import NpmPackage
    from tensors import UserError

    monkeypatch.setenv("GPT_SCENES_HOME", str(tmp_path / "home"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in ("package/dist/a.js", "package/dist/theme/b.css", "package/src/c.js",
                     "package/LICENSE", "package/package.json", "package/README.md"):
            data = name.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    reg = tmp_path / "registry" / "demo" / "-"
    reg.mkdir(parents=True)
    (reg / "demo-1.0.0.tgz").write_bytes(buf.getvalue())
    good = NpmPackage("demo", "1.0.0", hashlib.sha256(buf.getvalue()).hexdigest(),
                      ("dist/a.js",), folders=("dist/",))
    root = good.fetch(registry=(tmp_path / "registry").as_uri())
    got = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert got == ["LICENSE", "dist/a.js", "dist/theme/b.css", "package.json"]
    copy = good.copy_next_to(tmp_path / "site")
    assert (copy / "dist" / "theme" / "b.css").read_text() == "package/dist/theme/b.css"

    bad = NpmPackage("demo", "1.0.0", "0" * 64, ("dist/a.js",))
    monkeypatch.setenv("GPT_SCENES_HOME", str(tmp_path / "home2"))
    with pytest.raises(UserError, match="has sha256 .* expected 0{64}; not using it"):
        bad.fetch(registry=(tmp_path / "registry").as_uri())
    assert not bad.cache_dir().exists()


def test_offline_html_works_without_network_and_cdn_html_does_not(slides_folder, tmp_path):
    out = tmp_path / "stick" / "slides"
    local, cdn = out / "demo.html", out / "demo_cdn.html"
    _convert(slides_folder, local, revealjs.convert_options(out))
    _convert(slides_folder, cdn, [])
    assert revealjs.remote_refs(local) == []
    assert revealjs.remote_refs(cdn)                      # the default loads from a CDN

    # the folder works wherever it is copied to (a USB stick): move it, then open it
    moved = tmp_path / "elsewhere"
    shutil.move(str(out), moved)
    dom = _dom(moved / "demo.html")
    reveal = re.search(r'<div class="(reveal\b[^"]*)"', dom)
    assert reveal and "ready" in reveal.group(1).split(), "reveal.js did not initialise"
    first = re.search(r'<div class="slide-background present"[^>]*>(.*?)</div></div>', dom)
    assert first, "no current slide background"
    src = re.search(r'<video[^>]*>\s*<source src="([^"]+)"', first.group(1))
    assert src and src.group(1) == "demo_assets/s0.mp4"
    assert (moved / src.group(1)).is_file()

    # control: the CDN page, offline, is the blank page this module exists to prevent
    dom_cdn = _dom(moved / "demo_cdn.html")
    reveal = re.search(r'<div class="(reveal\b[^"]*)"', dom_cdn)
    assert reveal and "ready" not in reveal.group(1).split()


def _watch(page, errors: list[str], requests: list[str]) -> None:
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))


def _notes_shown(speaker) -> str:
    return speaker.evaluate("document.querySelector('.speaker-controls-notes .value')?.innerText || ''")


def test_presenter_view_works_offline_and_shows_the_notes(slides_folder, tmp_path, browser):
    """Press S in the deck: reveal.js's speaker view opens (a window of its own, the current
    and next slide, a timer) and shows the current slide's notes; → moves both on."""
    out = tmp_path / "slides"
    deck = out / "demo.html"
    _convert(slides_folder, deck, revealjs.convert_options(out))
    ctx = browser.new_context()
    errors: list[str] = []
    requests: list[str] = []
    ctx.on("page", lambda p: _watch(p, errors, requests))
    page = ctx.new_page()
    page.goto(deck.as_uri())
    page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=20000)
    with page.expect_popup(timeout=20000) as popup:
        page.keyboard.press("s")
    speaker = popup.value
    speaker.wait_for_function("document.querySelector('.speaker-controls-notes .value')"
                              "?.innerText.includes('beat 1 of 2')", timeout=20000)
    shown = _notes_shown(speaker)
    assert "Demo — beat 1 of 2: red" in shown and "the first caption" in shown
    # the speaker view's previews are the deck itself (iframes of the same file)
    frames = [f.url for f in speaker.frames if f.url.startswith("file:")]
    assert frames and all(Path(f.split("?")[0].removeprefix("file://")) == deck for f in frames)
    page.keyboard.press("ArrowRight")
    speaker.wait_for_function("document.querySelector('.speaker-controls-notes .value')"
                              "?.innerText.includes('beat 2 of 2')", timeout=20000)
    speaker.screenshot(path=str(tmp_path / "speaker.png"))
    shots = os.environ.get("GPT_SCENES_PAGES_SHOTS")
    if shots:
        shutil.copy(tmp_path / "speaker.png", Path(shots) / "speaker-view.png")
    assert errors == []
    assert [u for u in requests if not u.startswith(("file:", "about:", "data:"))] == []
    ctx.close()
