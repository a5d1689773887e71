"""Writing the pages: one ``<scene>.html`` per scene and ``index.html``, with d3 and the page
script copied beside them (no CDN: the folder works offline, from a USB stick).

>>> "<\\/script>" in embed_json({"a": "</script>"})
True
"""
from __future__ import annotations

import html
import json
import shutil
from pathlib import Path
from typing import Any, Iterable

from tensors.store import atomic_write

from .links import anchors, block, lecture_links, page_links, relink
from .vendor import D3

SCRIPT = Path(__file__).with_name("gpt-pages.js")
#: The default course's pages, scripts included, must stay under this (the issue's budget).
BUDGET_BYTES = 5_000_000

_CSS = """
:root { %(vars)s }
body { background: var(--background); color: var(--text); font: 15px/1.45 system-ui, "DejaVu Sans", sans-serif;
  margin: 0 auto; max-width: 1200px; padding: 12px 24px 40px; }
h1 { font-size: 22px; margin: 8px 0 2px; } h2 { font-size: 18px; margin: 26px 0 4px; color: var(--highlight); }
h3 { font-size: 14px; margin: 10px 0 4px; color: var(--dim); font-weight: normal; }
a { color: var(--positive); } .blurb, .small { color: var(--dim); max-width: 980px; } .small { font-size: 13px; }
section { border-top: 1px solid var(--neutral); margin-top: 14px; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; } .chip { background: var(--neutral); border-radius: 6px;
  padding: 4px 8px; display: flex; flex-direction: column; align-items: center; font-family: "DejaVu Sans Mono", monospace; }
.chip .tid { color: var(--positive); font-size: 13px; } .chip .pos { color: var(--dim); font-size: 11px; }
.controls { margin: 8px 0; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
select, button { background: var(--neutral); color: var(--text); border: 1px solid var(--dim); border-radius: 4px;
  padding: 3px 8px; font-size: 14px; } button.on { border-color: var(--highlight); color: var(--highlight); }
.now { color: var(--highlight); font-family: "DejaVu Sans Mono", monospace; }
.readout { font-family: "DejaVu Sans Mono", monospace; color: var(--text); min-height: 1.4em; }
.row { display: flex; gap: 28px; flex-wrap: wrap; align-items: flex-start; }
svg text.lab { fill: var(--dim); font-size: 12px; font-family: "DejaVu Sans Mono", monospace; }
svg text.val, svg text.tok { fill: var(--text); font-size: 11px; font-family: "DejaVu Sans Mono", monospace; }
.tip { position: absolute; pointer-events: none; background: #000c; color: #fff; padding: 4px 8px;
  border-radius: 4px; font: 13px "DejaVu Sans Mono", monospace; max-width: 520px; }
ul#notes { color: var(--dim); font-size: 13px; } table { border-collapse: collapse; }
td, th { padding: 3px 10px; text-align: left; border-bottom: 1px solid var(--neutral); }
"""


def theme_vars() -> str:
    """The course's colours (scenes.kit.theme) as CSS variables: the page looks like the video."""
    from scenes.kit.theme import THEME

    names = ("background", "text", "dim", "positive", "negative", "neutral", "highlight",
             "accent", "query", "key", "value", "masked")
    return " ".join(f"--{n}: {getattr(THEME, n)};" for n in names)


def embed_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def page_html(data: dict[str, Any], links: dict[str, str]) -> str:
    """One scene's page; ``links`` (index, video, slides) in a block :func:`.links.relink`
    keeps up to date."""
    esc = html.escape
    nav = block("page", data["scene"], anchors(links, " · "))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(data['scene'])} — gpt-scenes</title>
<style>{_CSS % {"vars": theme_vars()}}</style>
</head><body>
<p class="small">{nav}</p>
<h1>{esc(data['scene'])}: {esc(data['title'])}</h1>
<p class="small">Every number on this page comes from the same model run (Trace) as the video's
scene {esc(data['class'])}. Works offline: its scripts are in this folder.</p>
<div id="sections"></div>
<h2>What is left out</h2>
<ul id="notes"><li>Fonts are the browser's own (no font files are loaded).</li></ul>
<script id="page-data" type="application/json">{embed_json(data)}</script>
<script src="{D3.src('dist/d3.min.js')}"></script>
<script src="{SCRIPT.name}"></script>
</body></html>
"""


def index_html(title: str, rows: list[dict[str, Any]], total: int,
               lecture: dict[str, str] | None = None) -> str:
    """The lecture's index: a line per scene (page, video when there is one, sections)."""
    esc = html.escape
    body = "\n".join(
        f'<tr><td><a href="{esc(r["page"])}">{esc(r["scene"])}</a></td><td>{esc(r["title"])}</td>'
        f'<td>{esc(", ".join(r["sections"]))}</td><td>{r["bytes"] / 1e3:.0f} kB</td>'
        f'<td>{block("row", r["scene"], anchors(r["links"]))}</td></tr>'
        for r in rows)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)} — gpt-scenes pages</title>
<style>{_CSS % {"vars": theme_vars()}}</style></head><body>
<h1>{esc(title)}: interactive pages</h1>
<p class="small">One page per scene, from the same model run as its video. Open any of them in a
browser (double-click; no server, no internet needed). All pages with their scripts:
{total / 1e6:.2f} MB.</p>
<p>{block("lecture", "", anchors(lecture or {}))}</p>
<table><tr><th>scene</th><th>what</th><th>sections</th><th>size</th><th>also</th></tr>
{body}
</table></body></html>
"""


def write_site(html_dir: Path, pages: Iterable[dict[str, Any]], title: str = "Lecture") -> list[Path]:
    """Write each page's data as ``<scene>.html``, ``index.html``, d3 and the page script into
    ``html_dir``; returns the pages written (index last)."""
    html_dir = Path(html_dir)
    html_dir.mkdir(parents=True, exist_ok=True)
    D3.copy_next_to(html_dir)
    shutil.copyfile(SCRIPT, html_dir / SCRIPT.name)
    written, rows = [], []
    for data in pages:
        links = page_links(html_dir.parent, data["scene"])
        dst = html_dir / f"{data['scene']}.html"
        _write(dst, page_html(data, links))
        written.append(dst)
        rows.append({"scene": data["scene"], "title": data["title"], "page": dst.name,
                     "sections": data["sections"], "bytes": dst.stat().st_size,
                     "links": {k: v for k, v in links.items() if k != "index"}})
    total = site_bytes(html_dir, written)
    index = html_dir / "index.html"
    _write(index, index_html(title, rows, total, lecture_links(html_dir.parent)))
    relink(html_dir.parent)  # the decks already there link to these pages
    return [*written, index]


def _write(path: Path, text: str) -> None:
    with atomic_write(path, "w") as f:
        f.write(text)


def site_bytes(html_dir: Path, pages: Iterable[Path]) -> int:
    """Bytes of the given pages plus the scripts they load (what a USB stick must hold)."""
    scripts = [html_dir / SCRIPT.name, *(html_dir / D3.folder).rglob("*")]
    return sum(p.stat().st_size for p in [*pages, *scripts] if p.is_file())
