"""Links between one render's outputs, both ways and relative: a scene's interactive page
(``html/<scene>.html``, ``--html``) ↔ its slide deck (``slides/<scene>.html``, ``--slides``)
and its video; the pages' index ↔ the lecture's deck (``slides/lecture.html``).

Every such file carries marked blocks of links
(``<!--gpt-scenes-links KIND KEY-->…<!--/gpt-scenes-links-->``); :func:`relink` rewrites
each block from what is in the render folder *now*. It runs after slides are converted and
after pages are written, so whichever comes last links both ways — in one
``./render.sh --slides --html`` run or in two runs into the same folder. A link is written
only when its target file exists (a deck without pages links nothing). All links are
relative (``../html/attention.html``): the folder works wherever it is copied.

>>> block("slides", "attention", '<a href="x">x</a>')
'<!--gpt-scenes-links slides attention--><a href="x">x</a><!--/gpt-scenes-links-->'
"""
from __future__ import annotations

import html
import os
import re
from pathlib import Path

from tensors.store import atomic_write

_BLOCK = re.compile(r"<!--gpt-scenes-links (\w+) ([\w.-]*)-->(.*?)<!--/gpt-scenes-links-->", re.S)
#: How a deck shows its link: a small tab in the top-left corner (the scenes keep their
#: model tag top-right and captions at the bottom), not printed.
_DECK_STYLE = ("<style>#gpt-scenes-links{position:fixed;left:10px;top:8px;z-index:40;"
               "font:15px/1.3 system-ui,'DejaVu Sans',sans-serif;background:#000a;"
               "border-radius:4px;padding:3px 9px;opacity:.9}"
               "#gpt-scenes-links:hover{opacity:1}#gpt-scenes-links a{color:#8ecae6}"
               "#gpt-scenes-links:empty{display:none}"
               "@media print{#gpt-scenes-links{display:none}}</style>")
VIDEO_EXTS = (".mp4", ".mov")


def block(kind: str, key: str, inner: str) -> str:
    """A marked block :func:`relink` can rewrite."""
    return f"<!--gpt-scenes-links {kind} {key}-->{inner}<!--/gpt-scenes-links-->"


def anchors(links: dict[str, str], sep: str = " ") -> str:
    """``<a>`` elements for ``{text: relative url}``."""
    return sep.join(f'<a href="{html.escape(u)}">{html.escape(k)}</a>' for k, u in links.items())


def page_links(out: Path, scene: str) -> dict[str, str]:
    """Links from ``html/<scene>.html`` (relative to html/) to what exists of its scene."""
    links = {"index": "index.html"}
    for ext in VIDEO_EXTS:
        if (out / f"{scene}{ext}").is_file():
            links["video"] = f"../{scene}{ext}"
            break
    if (out / "slides" / f"{scene}.html").is_file():
        links["slides"] = f"../slides/{scene}.html"
    return links


def lecture_links(out: Path) -> dict[str, str]:
    """Links from ``html/index.html`` to the lecture's video and slide deck, when written."""
    return {text: f"../{rel}" for text, rel in (("the lecture's video", "lecture.mp4"),
                                                 ("the lecture's slides", "slides/lecture.html"))
            if (out / rel).is_file()}


def deck_links(out: Path, deck: str) -> dict[str, str]:
    """Links from ``slides/<deck>.html`` (relative to slides/): the scene's interactive
    page, or for the lecture's deck the pages' index."""
    target = "index" if deck == "lecture" else deck
    if not (out / "html" / f"{target}.html").is_file():
        return {}
    text = "interactive pages" if deck == "lecture" else "interactive page"
    return {text: f"../html/{target}.html"}


def inner(out: Path, kind: str, key: str) -> str:
    """What block ``kind key`` holds now."""
    if kind == "page":                       # a page's top line: index · video · slides
        return anchors(page_links(out, key), " · ")
    if kind == "row":                        # the index's "also" cell of a scene
        return anchors({k: v for k, v in page_links(out, key).items() if k != "index"})
    if kind == "lecture":                    # the index's line on the whole lecture
        return anchors(lecture_links(out))
    if kind == "slides":                     # a deck's corner tab
        return anchors(deck_links(out, key))
    raise ValueError(f"unknown link block kind {kind!r}")


def _is_deck(text: str) -> bool:
    return 'class="reveal"' in text and "Reveal.initialize" in text


def _deck_block(out: Path, deck: str) -> str:
    return (f'{_DECK_STYLE}<div id="gpt-scenes-links">'
            + block("slides", deck, inner(out, "slides", deck)) + "</div>")


def relink(out: str | os.PathLike) -> list[Path]:
    """Rewrite the link blocks of every page in ``out/html`` and every slide deck in
    ``out/slides`` (adding the block to a deck manim-slides just wrote) from the files there
    now. Returns the files changed."""
    out = Path(out)
    changed = []
    for f in sorted([*(out / "html").glob("*.html"), *(out / "slides").glob("*.html")]):
        text = f.read_text(encoding="utf-8")
        new = _BLOCK.sub(lambda m: block(m[1], m[2], inner(out, m[1], m[2])), text)
        if f.parent.name == "slides" and "<!--gpt-scenes-links slides " not in new and _is_deck(new):
            i = new.rfind("</body>")
            if i < 0:
                continue
            new = new[:i] + _deck_block(out, f.stem) + "\n" + new[i:]
        if new != text:
            with atomic_write(f, "w") as fh:
                fh.write(new)
            changed.append(f)
    return changed
