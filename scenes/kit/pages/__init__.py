"""Interactive pages: per scene, an offline HTML page drawn from the very Trace the scene
renders — tokens, attention (any layer and head), the MLP's direct effects and ablation, the
logit lens, softmax with a temperature slider, the embedding space in 3D.

- :mod:`.data` — what each page shows, read from the scene's Trace and its ``prepare()``;
- :mod:`.html` — the pages and the index, written with d3 and the page script beside them;
- :mod:`.vendor` — d3 from the npm registry, pinned and sha256-checked (like reveal.js);
- a Trace in Jupyter: :mod:`tensors.display` (``Trace._repr_html_``); the example notebook
  is assets/notebooks/explore.ipynb.

``./render.sh --html`` writes ``out/<quality>/html/<scene>.html`` and ``index.html``;
alone: ``python -m scenes.kit.pages write out/html [SCENE ...]``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

__all__ = ["write_pages", "write_for_entries"]


def write_for_entries(entries: Iterable[Any], html_dir: str | os.PathLike,
                      title: str = "Lecture", say: Any = None,
                      env: dict[str, str] | None = None) -> list[Path]:
    """Pages of the given scene entries (:class:`scenes.kit.course.discover.SceneEntry`)
    into ``html_dir``, with the course config in effect (``$GPT_SCENES_COURSE``; taken from
    ``env`` when given, as a render batch's environment)."""
    from scenes.kit.course.config import ENV_VAR
    from tensors import UserError

    from .data import scene_page_data
    from .html import BUDGET_BYTES, site_bytes, write_site

    before = os.environ.get(ENV_VAR)
    if env is not None and ENV_VAR in env:
        os.environ[ENV_VAR] = env[ENV_VAR]
    pages = []
    try:
        for e in entries:
            try:
                pages.append(scene_page_data(e.cls, e.id))
            except UserError as ex:      # that scene's render says the same, one line
                if say is None:
                    raise
                say(f"html {e.id}: no page ({ex})")
    finally:
        if before is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = before
    written = write_site(Path(html_dir), pages, title)
    total = site_bytes(Path(html_dir), written)
    if say is not None:
        say(f"html {html_dir}/index.html: {len(written) - 1} page(s), {total / 1e6:.2f} MB with "
            f"scripts" + ("" if total <= BUDGET_BYTES else f" (over the {BUDGET_BYTES / 1e6:.0f} MB budget)"))
    return written


def write_pages(html_dir: str | os.PathLike, scenes: Iterable[str] = (),
                title: str = "Lecture") -> list[Path]:
    """Pages of the story scenes named (ids or class names; all when empty) into ``html_dir``."""
    from scenes.kit.course.discover import discover, select

    entries, _ = discover()
    return write_for_entries(select([e for e in entries if e.primary], list(scenes)), html_dir, title)
