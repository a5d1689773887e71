"""Sphinx directives of the gpt-scenes docs (built offline, ``-W``):

- ``.. piece-example:: ClassName`` — the Python code in the directive's body (a Manim
  ``Scene`` named ``ClassName``) is shown, then run while the docs build: its last frame, at
  Manim's low quality, is drawn into the page (a PNG beside it). Like Manim's own
  ``.. manim::`` directive with ``:save_last_frame:``, minus what does not suit an offline
  build: it writes nothing into the source tree, loads no Binder script, keeps no timing
  file in the working folder. The scene's background is the kit's theme.
- ``.. trace-fields::`` — a table of every :class:`tensors.Trace` field: its shape (read
  from the class's docstring), its TransformerLens hook (:data:`tensors.HOOK_NAMES`),
  and whether it is stored or derived on access. A field without a documented shape fails
  the build.
"""
from __future__ import annotations

import dataclasses
import html
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: ``- ``a``, ``b``: [x, y]`` lines, and ``(``k_kv``, ``v_kv`` [shape])`` inside them.
_SHAPED = re.compile(r"((?:``\w+``(?:,\s*)?)+):?\s*((?:list\[str\]\s*)?\[[^\]]*\])")


#: Stored arrays that are another field's values in a compact form: (that field, how).
STORED_FORM = {"k_kv": ("k", "per key/value head: k repeats it for the query heads"),
               "v_kv": ("v", "per key/value head: v repeats it for the query heads"),
               "logits_last": ("logits", "its last position, as the model returned it")}


class PieceExample(Directive):
    has_content = True
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        from manim import tempconfig

        from scenes.kit.theme import THEME

        name = self.arguments[0]
        env = self.state.document.settings.env
        code = "\n".join(self.content)
        media = Path(tempfile.mkdtemp(prefix="gpt-docs-media-"))
        t0 = time.perf_counter()
        try:
            ns: dict[str, Any] = {"__name__": f"piece_example_{name}"}
            exec(compile(code, f"<{env.docname}: {name}>", "exec"), ns)
            with tempconfig({"quality": "low_quality", "media_dir": str(media),
                             "save_last_frame": True, "format": "png", "output_file": name,
                             "disable_caching": True, "progress_bar": "none",
                             "verbosity": "WARNING", "background_color": THEME.background}):
                scene = ns[name]()
                scene.render()
                png = Path(scene.renderer.file_writer.image_file_path)
            dest_dir = Path(env.app.builder.outdir) / Path(env.docname).parent / "_pieces"
            dest_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(png, dest_dir / f"{name}.png")
        except Exception as e:  # noqa: BLE001 - a broken example fails the build, named
            raise self.severe(f"piece-example {name}: {type(e).__name__}: {e}") from e
        finally:
            shutil.rmtree(media, ignore_errors=True)
        logger.info(f"piece-example {name}: rendered in {time.perf_counter() - t0:.1f} s")
        source = nodes.literal_block(code, code, language="python")
        img = nodes.raw("", f'<img class="piece-example" src="_pieces/{html.escape(name)}.png" '
                            f'alt="{html.escape(name)}: its last frame, rendered by the docs '
                            f'build" width="854">', format="html")
        caption = nodes.paragraph(text=f"{name}, rendered by the docs build (real values "
                                       f"from the model, Manim -ql).")
        return [source, img, caption]


def trace_fields() -> list[tuple[str, str, str, str]]:
    """(field, shape, TransformerLens hook, stored or derived) for every Trace field: the
    dataclass fields and the per-layer arrays derived on access."""
    from functools import cached_property

    from tensors import HOOK_NAMES, Trace

    shapes: dict[str, str] = {}
    for names, shape in _SHAPED.findall(Trace.__doc__ or ""):
        for n in re.findall(r"``(\w+)``", names):
            shapes.setdefault(n, " ".join(shape.split()))
    stored = [f.name for f in dataclasses.fields(Trace)]
    derived = [n for n, v in vars(Trace).items() if isinstance(v, cached_property)
               and n in HOOK_NAMES]
    types = {"prompt": "str", "info": "dict", "cache_path": "Path | None", "from_cache": "bool"}
    hooks = {**HOOK_NAMES, **{f: f"{HOOK_NAMES[of]} ({how})" for f, (of, how) in STORED_FORM.items()},
             "tokens": "model.to_str_tokens(prompt) (strings, not a hook)"}
    rows, missing = [], []
    for n in [*stored, *derived]:
        shape = shapes.get(n) or types.get(n)
        if shape is None:
            missing.append(n)
            continue
        hook = hooks.get(n, "— (not an activation)")
        rows.append((n, shape, hook, "stored" if n in stored else "derived on access"))
    if missing:
        raise ValueError(f"Trace fields without a shape in Trace's docstring: {missing}")
    return rows


class TraceFields(Directive):
    def run(self) -> list[nodes.Node]:
        try:
            rows = trace_fields()
        except ValueError as e:
            raise self.severe(str(e)) from e
        table = nodes.table(classes=["trace-fields"])
        group = nodes.tgroup(cols=4)
        table += group
        for w in (14, 26, 44, 16):
            group += nodes.colspec(colwidth=w)
        head = nodes.thead()
        body = nodes.tbody()
        group += head
        group += body

        def row(cells: tuple[str, ...], literal: bool) -> nodes.row:
            r = nodes.row()
            for i, c in enumerate(cells):
                entry = nodes.entry()
                entry += nodes.paragraph("", "", nodes.literal(c, c) if literal and i < 2
                                         else nodes.Text(c))
                r += entry
            return r

        head += row(("field", "shape", "TransformerLens hook", "kept"), False)
        for r in rows:
            body += row(r, True)
        return [table]


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("piece-example", PieceExample)
    app.add_directive("trace-fields", TraceFields)
    return {"parallel_read_safe": False, "parallel_write_safe": True}
