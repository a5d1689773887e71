"""``./render.sh --gallery``: the README's gallery (stills 480 px wide, small GIFs) copied
into assets/gallery/, the Markdown table printed, and assets/stills/ made again: the last
frame of every beat of every story scene, drawn at 1080p (scenes.kit.checks.beat_stills)
and saved 1280 px wide — one command for every picture the README and docs show."""
from __future__ import annotations

import shutil
from pathlib import Path

from .paths import GALLERY_DIR, GALLERY_GIF, STILLS_DIR, STILLS_WIDTH
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
    make_stills(todo)


def make_stills(todo: list) -> None:
    """assets/stills/<scene>_<beat>.png for every beat of the scenes in ``todo`` (stale
    stills of those scenes removed first)."""
    import tempfile

    from scenes.kit.checks import beat_stills

    STILLS_DIR.mkdir(parents=True, exist_ok=True)
    for e in todo:
        with tempfile.TemporaryDirectory(prefix="stills-") as tmp:
            made = beat_stills(e.cls, tmp)
            # (not another scene's whose name starts with this one's: embedding_space_*)
            longer = [q.stem for q in (STILLS_DIR.parents[1] / "scenes").glob(f"{e.id}_*.py")]
            for old in STILLS_DIR.glob(f"{e.id}_*.png"):
                if not any(old.name.startswith(f"{o}_") for o in longer):
                    old.unlink()
            (STILLS_DIR / f"{e.id}.png").unlink(missing_ok=True)
            for p in map(Path, made):
                small_png(p, STILLS_DIR / p.name.replace(f"{e.cls.__module__.rsplit('.', 1)[-1]}_",
                                                         f"{e.id}_", 1), width=STILLS_WIDTH)
        say(f"stills {STILLS_DIR}/{e.id}_*.png ({len(made)} beats)")


def small_png(src: Path, dst: Path, width: int = 480) -> None:
    from PIL import Image

    im = Image.open(src)
    if im.width > width:
        im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
    im.save(dst, optimize=True)
