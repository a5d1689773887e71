"""reveal.js on disk, so manim-slides' HTML works without internet (a lecture hall, a USB stick).

manim-slides 5.7 writes HTML that loads reveal.js 6.0.1 from a CDN. The set-up fetches the
same release from the npm registry once (pinned, sha256-checked, with
:class:`scenes.kit.pages.vendor.NpmPackage`, as the pages get d3) into
``$GPT_SCENES_HOME/reveal.js-6.0.1``; converting with :func:`convert_options` copies it next
to the HTML and points the page at that copy (manim-slides' own ``cdn_url`` option)::

    python -m scenes.kit.revealjs fetch                        # scripts/setup.sh does this
    manim-slides convert AttentionSlides out/slides/attention.html \\
        $(python -m scenes.kit.revealjs options out/slides)   # -ccdn_url=reveal.js-6.0.1

The folder with the HTML, its ``*_assets`` and ``reveal.js-6.0.1`` is then self-contained.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from scenes.kit.pages.vendor import NpmPackage

VERSION = "6.0.1"
#: What manim-slides' template loads (relative to the reveal.js package root).
NEEDED = ("dist/reveal.css", "dist/reveal.js", "dist/theme/black.css", "dist/plugin/notes.js",
          "dist/plugin/markdown.js", "dist/plugin/highlight/zenburn.css")
#: reveal.js 6.0.1 (MIT) from the npm registry: its whole ``dist/`` (themes and plugins a
#: course may pick), sha256 of ``reveal.js-6.0.1.tgz`` (npm's sha512 "integrity" is
#: 9eacArNIgqO2HGWOK+93gJNn+gvdGDVbSq+i2u3Ja9kjiHps0XNLpgYTZTYjKRH91uXy3clGimeGiw4umHG/tg==).
REVEAL = NpmPackage("reveal.js", VERSION,
                    "7a3bc5096c435b893fd7488ff444c1c1c232e1e6987b6de68696e706437d0a4f",
                    NEEDED, folders=("dist/",))
SHA256 = REVEAL.sha256
FOLDER = REVEAL.folder
_FETCH_HINT = "python -m scenes.kit.revealjs fetch"


def reveal_dir() -> Path:
    """Where the fetched reveal.js lives: ``$GPT_SCENES_HOME/reveal.js-6.0.1``."""
    return REVEAL.cache_dir()


def is_fetched(root: Path | None = None) -> bool:
    return REVEAL.is_fetched(root)


def fetch(registry: str | None = None) -> Path:
    """Download reveal.js from the npm registry once, check its sha256, unpack ``dist/``."""
    return REVEAL.fetch(registry)


def copy_next_to(html_dir: Path) -> Path:
    """Copy the fetched reveal.js into ``html_dir/reveal.js-6.0.1`` (once); returns it."""
    return REVEAL.copy_next_to(Path(html_dir), _FETCH_HINT)


def convert_options(html_dir: Path) -> list[str]:
    """``manim-slides convert`` options for HTML in ``html_dir`` that loads the local copy.

    Copies reveal.js next to the HTML and returns ``["-ccdn_url=reveal.js-6.0.1"]`` (a URL
    relative to the HTML file, so the folder can be moved anywhere).
    """
    copy_next_to(Path(html_dir))
    return [f"-ccdn_url={FOLDER}"]


_REF = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.I)


def remote_refs(html: Path) -> list[str]:
    """The scripts and stylesheets an HTML file loads from the network (should be none)."""
    text = Path(html).read_text(encoding="utf-8")
    return [u for u in _REF.findall(text) if re.match(r"(?:https?:)?//", u)]


def main(argv: list[str]) -> int:
    from tensors import exit_on_user_error

    with exit_on_user_error("scenes.kit.revealjs"):
        if argv == ["fetch"]:
            print(fetch())
            return 0
        if len(argv) == 2 and argv[0] == "options":
            print(" ".join(convert_options(Path(argv[1]))))
            return 0
    print("usage: python -m scenes.kit.revealjs fetch | options HTML_DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
