"""Headless Chromium with networking off, shared by the browser tests
(tests/test_pages_browser.py, tests/test_slides_offline.py).

Debian's ``chromium-headless-shell`` (scripts/setup.sh installs it) driven by Playwright;
no browser is downloaded. Networking is off: every proxied request goes to a closed port
and every host name fails to resolve, so a page that needs the internet fails visibly.
"""
from __future__ import annotations

import shutil

import pytest

#: The headless Chromium on PATH, or None.
BROWSER = shutil.which("chromium-headless-shell") or shutil.which("chromium")
NO_BROWSER = "no headless Chromium: scripts/setup.sh installs Debian's chromium-headless-shell"
#: Chromium flags that turn networking off (for a browser outside a network namespace).
OFFLINE_FLAGS = ["--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND"]


@pytest.fixture(scope="module")
def browser():
    """A Playwright Chromium browser, networking off (skips without Playwright or Chromium)."""
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="pip install playwright (no browser download needed)")
    if BROWSER is None:
        pytest.skip(NO_BROWSER)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=BROWSER, args=OFFLINE_FLAGS)
        yield b
        b.close()
