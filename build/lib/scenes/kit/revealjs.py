"""reveal.js on disk, so manim-slides' HTML works without internet (a lecture hall, a USB stick).

manim-slides 5.7 writes HTML that loads reveal.js 6.0.1 from a CDN. The set-up fetches the
same release from the npm registry once (pinned, sha256-checked) into
``$GPT_SCENES_HOME/reveal.js-6.0.1``; converting with :func:`convert_options` copies it next
to the HTML and points the page at that copy (manim-slides' own ``cdn_url`` option)::

    python -m scenes.kit.revealjs fetch                        # scripts/setup.sh does this
    manim-slides convert AttentionSlides out/slides/attention.html \\
        $(python -m scenes.kit.revealjs options out/slides)   # -ccdn_url=reveal.js-6.0.1

The folder with the HTML, its ``*_assets`` and ``reveal.js-6.0.1`` is then self-contained.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from tensors import UserError, home

VERSION = "6.0.1"
#: sha256 of ``reveal.js-6.0.1.tgz`` as served by the npm registry (its sha512 "integrity"
#: is 9eacArNIgqO2HGWOK+93gJNn+gvdGDVbSq+i2u3Ja9kjiHps0XNLpgYTZTYjKRH91uXy3clGimeGiw4umHG/tg==).
SHA256 = "7a3bc5096c435b893fd7488ff444c1c1c232e1e6987b6de68696e706437d0a4f"
REGISTRY = "https://registry.npmjs.org"
FOLDER = f"reveal.js-{VERSION}"
#: What manim-slides' template loads (relative to the reveal.js package root).
NEEDED = ("dist/reveal.css", "dist/reveal.js", "dist/theme/black.css", "dist/plugin/notes.js",
          "dist/plugin/markdown.js", "dist/plugin/highlight/zenburn.css")


def reveal_dir() -> Path:
    """Where the fetched reveal.js lives: ``$GPT_SCENES_HOME/reveal.js-6.0.1``."""
    return home() / FOLDER


def is_fetched(root: Path | None = None) -> bool:
    root = root or reveal_dir()
    return all((root / f).is_file() for f in (*NEEDED, "LICENSE", "package.json"))


def fetch(registry: str | None = None) -> Path:
    """Download reveal.js from the npm registry once, check its sha256, unpack ``dist/``."""
    dst = reveal_dir()
    if is_fetched(dst):
        return dst
    base = (registry or os.environ.get("npm_config_registry") or REGISTRY).rstrip("/")
    url = f"{base}/reveal.js/-/reveal.js-{VERSION}.tgz"
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            data = r.read()
    except OSError as e:
        raise UserError(f"could not download reveal.js {VERSION} from {url} ({e}); "
                        "run scripts/setup.sh where the npm registry is reachable") from None
    got = hashlib.sha256(data).hexdigest()
    if got != SHA256:
        raise UserError(f"reveal.js {VERSION} from {url} has sha256 {got}, expected {SHA256}; "
                        "not using it (check the registry / proxy)")
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".reveal-", dir=dst.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            members = [m for m in tar.getmembers()
                       if m.name.startswith("package/dist/")
                       or m.name in ("package/LICENSE", "package/package.json")]
            tar.extractall(tmp, members=members, filter="data")
        shutil.rmtree(dst, ignore_errors=True)
        os.replace(tmp / "package", dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not is_fetched(dst):
        raise UserError(f"reveal.js {VERSION} unpacked without {NEEDED}; delete {dst} and retry")
    return dst


def copy_next_to(html_dir: Path) -> Path:
    """Copy the fetched reveal.js into ``html_dir/reveal.js-6.0.1`` (once); returns it."""
    src = reveal_dir()
    if not is_fetched(src):
        raise UserError(f"reveal.js {VERSION} is not in {src}; run scripts/setup.sh "
                        "(or python -m scenes.kit.revealjs fetch)")
    dst = Path(html_dir) / FOLDER
    if not is_fetched(dst):
        html_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".reveal-", dir=html_dir))
        try:
            shutil.copytree(src, tmp / FOLDER)
            shutil.rmtree(dst, ignore_errors=True)
            os.replace(tmp / FOLDER, dst)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return dst


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
