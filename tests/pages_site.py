"""The interactive pages of the default course, written once per test session (shared by
tests/test_pages.py and tests/test_pages_browser.py)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

#: The story scenes whose pages the tests write (each section kind at least once).
SCENES = ("tokenization", "embedding", "transformer", "embedding_space", "attention", "mlp",
          "logit_lens", "softmax_temperature")


def page_data(html: Path) -> dict:
    """The JSON a page embeds (what its JavaScript draws from)."""
    m = re.search(r'<script id="page-data" type="application/json">(.*?)</script>',
                  html.read_text(encoding="utf-8"), re.S)
    assert m, f"{html} has no page data"
    return json.loads(m.group(1).replace("<\\/", "</"))


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """The pages of SCENES for the default course (bundled model), in one folder."""
    from scenes.kit.pages import vendor, write_pages

    if not vendor.D3.is_fetched():
        pytest.skip("d3 is not fetched: scripts/setup.sh runs python -m scenes.kit.pages fetch")
    d = tmp_path_factory.mktemp("pages")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GPT_SCENES_CACHE", str(tmp_path_factory.mktemp("page-traces")))
        mp.setenv("GPT_SCENES_COURSE", "none")
        write_pages(d / "html", SCENES)
    return d / "html"


@pytest.fixture(scope="session")
def pages(site) -> dict[str, dict]:
    return {s: page_data(site / f"{s}.html") for s in SCENES}
