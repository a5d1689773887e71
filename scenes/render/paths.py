"""Where the render driver's fixed places are (standard library only, imported by every
module of the driver; it imports none of them, so no module needs :mod:`.cli`)."""
from __future__ import annotations

from pathlib import Path

#: The folder holding the ``scenes`` and ``tensors`` packages: the checkout, or
#: site-packages when installed (``python -m scenes.render.…`` finds them from there).
ROOT = Path(__file__).resolve().parents[2]
#: The README gallery (``--gallery``): a checkout's assets/gallery/.
GALLERY_DIR = ROOT / "assets" / "gallery"
STILLS_DIR = ROOT / "assets" / "stills"   # every beat's last frame, for the README and docs
STILLS_WIDTH = 1280                       # px: 1080p frames scaled down (readable, small files)
GALLERY_GIF = (360, 8)  # width px, fps: small enough for a README
