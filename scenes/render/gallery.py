"""``./render.sh --gallery``: the README's gallery (stills 480 px wide, small GIFs) copied
into assets/gallery/, and the Markdown table printed."""
from __future__ import annotations

import shutil
from pathlib import Path

from .paths import GALLERY_DIR, GALLERY_GIF
from .pool import say
from .summary import Row


def make_gallery(todo: list, rows: dict[str, Row], out: Path) -> None:
    GALLERY_DIR.mkdir(parents=True, exist_ok=True)
    lines = ["| scene | last frame (click for the animation) |", "|---|---|"]
    for e in todo:
        png, gif = out / f"{e.id}.png", out / f"{e.id}.gif"
        if not png.is_file():
            continue
        small_png(png, GALLERY_DIR / f"{e.id}.png")
        img = f"![{e.id}](assets/gallery/{e.id}.png)"
        if gif.is_file():
            shutil.copy2(gif, GALLERY_DIR / f"{e.id}.gif")
            img = f"[{img}](assets/gallery/{e.id}.gif)"
        lines.append(f"| `{e.id}` ({e.class_name}) | {img} |")
        say(f"gallery {GALLERY_DIR / e.id}.png|gif")
    print("\n".join(lines))
    print(f"\n<!-- made by ./render.sh --gallery: {len(lines) - 2} scenes, bundled model, "
          "default course, -ql; stills 480 px, GIFs "
          f"{GALLERY_GIF[0]} px at {GALLERY_GIF[1]} fps -->")


def small_png(src: Path, dst: Path, width: int = 480) -> None:
    from PIL import Image

    im = Image.open(src)
    if im.width > width:
        im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
    im.save(dst, optimize=True)
