"""Slides without internet: manim-slides HTML pointed at a local reveal.js (scenes/kit/revealjs.py),
opened in headless Chromium with networking off."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from scenes.kit import revealjs


def _browser() -> str | None:
    return shutil.which("chromium-headless-shell") or shutil.which("chromium")


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
        slides.append(SlideConfig(file=a, rev_file=r))
    PresentationConfig(slides=slides, resolution=(64, 36)).to_file(d / "Demo.json")
    return d


def _convert(folder: Path, dst: Path, options: list[str]) -> None:
    r = subprocess.run([sys.executable, "-m", "manim_slides", "convert", "--folder", str(folder),
                        "Demo", str(dst), *options], capture_output=True, text=True)
    assert r.returncode == 0 and dst.is_file(), r.stderr[-2000:]


def _dom(html: Path) -> str:
    browser = _browser()
    if browser is None:
        pytest.skip("no headless Chromium: scripts/setup.sh installs Debian's chromium-headless-shell")
    prefix = _offline_prefix()
    flags = [] if prefix else ["--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND"]
    r = subprocess.run([*prefix, browser, "--headless", "--no-sandbox", "--disable-gpu",
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
