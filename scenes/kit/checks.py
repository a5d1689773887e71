"""Legibility checks: what is on screen at the end of a beat can be read.

Three rules, on the bounding boxes of the *elements* on screen (texts and filled boxes):

- **size** — every text is drawn at least :data:`scenes.kit.theme.MIN_TEXT_PX` pixels tall
  per row of digits at 1080p (the size it is drawn at is known for every text made by
  :mod:`scenes.kit.text`, after any scaling);
- **overlap** — no two texts overlap; a text overlaps a box only when it is its label
  (inside it); two boxes overlap only when one holds the other;
- **frame** — nothing leaves the frame.

In a 3D scene (a ``ThreeDCamera``) boxes are taken where the camera draws them: mobjects
fixed in the frame (captions, tables) as they are, the others projected.

Use it on any GPTScene by name, without animating (seconds per scene)::

    from scenes.kit.checks import check_beats
    problems = check_beats(TokenizationScene, prompt="a fluffy blue creature")
    # {"beat_text": [], "beat_pieces": ["overlap: '␣blue' × '42'"], ...}

>>> from manim import VGroup
>>> from scenes.kit.text import num_text
>>> a, b = num_text("12", 20), num_text("34", 20)
>>> [p.split(":")[0] for p in check_mobjects([VGroup(a, b)])]
['overlap']
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
from manim import (MathTex, Mobject, Rectangle, SingleStringMathTex, Tex, Text, VMobject,
                   config, tempconfig)
from manim.camera.three_d_camera import ThreeDCamera

from .scene import GPTScene
from .text import font_size_of, num_text
from .theme import MIN_TEXT_PX, REFERENCE_PX, THEME

__all__ = ["Element", "elements", "check_mobjects", "check_scene", "check_beats", "digit_px"]

#: Bounding boxes may touch: overlaps smaller than this (frame units, ≈1.3 px) are ignored.
EPS = 0.01


def digit_px(size: float) -> float:
    """Height in pixels (at 1080p) of a row of digits drawn at font size ``size``."""
    ref = num_text("0", 100.0).height / 100.0
    return size * ref * REFERENCE_PX / config.frame_height


@dataclass
class Element:
    kind: str                 # "text" or "box"
    mob: Mobject
    lo: np.ndarray            # bounding box corners (x, y)
    hi: np.ndarray
    label: str
    size: float | None = None  # font size drawn at (texts made by scenes.kit.text)

    def inside(self, other: "Element", tol: float = 0.02) -> bool:
        return bool(np.all(self.lo >= other.lo - tol) and np.all(self.hi <= other.hi + tol))

    def overlaps(self, other: "Element") -> bool:
        lo = np.maximum(self.lo, other.lo)
        hi = np.minimum(self.hi, other.hi)
        return bool(np.all(hi - lo > EPS))


def _visible(m: Mobject) -> bool:
    if not isinstance(m, VMobject):
        return True
    fam = [f for f in m.get_family() if len(f.points)]
    if not fam:
        return False
    return any(_fill_op(f) > 0.05 or
               (f.get_stroke_width() > 0 and float(np.max(f.stroke_rgbas[:, 3])) > 0.05
                if len(f.stroke_rgbas) else False)
               for f in fam)


def _fill_op(m: VMobject) -> float:
    return float(np.max(m.fill_rgbas[:, 3])) if len(m.fill_rgbas) else 0.0


def _label(m: Mobject) -> str:
    s = getattr(m, "text", None)
    if isinstance(s, str):
        return s if len(s) <= 40 else s[:37] + "…"
    if isinstance(m, (MathTex, Tex)):
        return "tex:" + "".join(getattr(m, "tex_strings", []) or [])[:30]
    return type(m).__name__


def _is_text(m: Mobject) -> bool:
    if isinstance(m, (Text, MathTex, Tex, SingleStringMathTex)):
        return True
    return isinstance(getattr(m, "text", None), str) and hasattr(m, "font_size_made")


def _is_box(m: Mobject) -> bool:
    if not isinstance(m, Rectangle):
        return False
    if _fill_op(m) <= 0.05:
        return False                      # outlines (highlights) are not boxes
    if m.get_fill_color().to_hex().upper() == THEME.background.upper():
        return False                      # a curtain
    return m.width < config.frame_width * 0.98


def _corners(m: Mobject, camera: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Bounding box (x, y) of ``m`` on screen; with a 3D ``camera``, where it draws ``m``."""
    if camera is None:
        c, w, h = m.get_center(), m.width, m.height
        return c[:2] - [w / 2, h / 2], c[:2] + [w / 2, h / 2]
    pts = [camera.transform_points_pre_display(f, f.points)
           for f in m.family_members_with_points()]
    pts = np.vstack(pts)[:, :2]
    return pts.min(0), pts.max(0)


def elements(mobs: Iterable[Mobject], camera: Any = None) -> list[Element]:
    """The texts and filled boxes among ``mobs`` and their families (a text is one element:
    its glyphs are not looked into); ``camera``: a ThreeDCamera to place them as drawn."""
    out: list[Element] = []
    seen: set[int] = set()

    def walk(m: Mobject) -> None:
        if id(m) in seen:
            return
        seen.add(id(m))
        if _is_text(m):
            if _visible(m) and m.width > 0 and (getattr(m, "text", "x") or "").strip():
                out.append(Element("text", m, *_corners(m, camera), _label(m), font_size_of(m)))
            return
        if _is_box(m) and _visible(m):
            out.append(Element("box", m, *_corners(m, camera), _label(m)))
        for sub in m.submobjects:
            walk(sub)

    for m in mobs:
        walk(m)
    return out


def check_mobjects(mobs: Iterable[Mobject], camera: Any = None) -> list[str]:
    """Every broken rule among ``mobs``, one line each (empty: all legible)."""
    els = elements(mobs, camera)
    problems: list[str] = []
    hw, hh = config.frame_width / 2, config.frame_height / 2
    for e in els:
        if e.kind == "text" and e.size is not None and digit_px(e.size) < MIN_TEXT_PX - 0.05:
            problems.append(f"size: {e.label!r} is {digit_px(e.size):.1f} px "
                            f"(floor {MIN_TEXT_PX:g} px)")
        if np.any(e.lo < [-hw - EPS, -hh - EPS]) or np.any(e.hi > [hw + EPS, hh + EPS]):
            problems.append(f"frame: {e.label!r} leaves the frame")
    for i, a in enumerate(els):
        for b in els[i + 1:]:
            if not a.overlaps(b):
                continue
            if a.kind == "text" and b.kind == "text":
                problems.append(f"overlap: {a.label!r} × {b.label!r}")
            elif a.kind != b.kind:
                t, bx = (a, b) if a.kind == "text" else (b, a)
                if not t.inside(bx):
                    problems.append(f"overlap: {t.label!r} × box {bx.label!r}")
            elif not (a.inside(b) or b.inside(a)):
                problems.append(f"overlap: box {a.label!r} × box {b.label!r}")
    return problems


def check_scene(scene: Any) -> list[str]:
    """:func:`check_mobjects` on everything on screen in ``scene`` now."""
    camera = getattr(scene, "camera", None)
    return check_mobjects(scene.mobjects, camera if isinstance(camera, ThreeDCamera) else None)


def check_beats(cls: type, **knobs: Any) -> dict[str, list[str]]:
    """Run scene class ``cls`` (a GPTScene) with ``knobs`` and animations skipped; the
    problems at the end of each beat, by beat name. The scene is kept as ``.scene``
    on the returned dict's class (see :class:`BeatReport`)."""
    report = BeatReport()

    class Checked(cls):  # type: ignore[misc, valid-type]
        def end_beat(self, name: str) -> None:
            report[name] = check_scene(self)
            super().end_beat(name)

    Checked.__name__ = cls.__name__
    for k, v in knobs.items():
        setattr(Checked, k, v)
    with tempconfig({"dry_run": True, "disable_caching": True}):
        scene = Checked(skip_animations=True)
        scene.render()
    report.scene = scene
    return report


class BeatReport(dict):
    """Beat name → problems; ``.scene`` is the scene that ran."""

    scene: Any = None


def beat_stills(cls: type, outdir: str, quality: str = "high_quality", **knobs: Any) -> list[str]:
    """Save the frame at the end of every beat of ``cls`` as ``<outdir>/<scene>_<beat>.png``
    (animations skipped: one frame drawn per beat). Returns the paths.

        .venv/bin/python -m scenes.kit.checks tokenization /tmp/stills
    """
    from pathlib import Path

    from PIL import Image

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[str] = []
    stem = cls.__module__.rsplit(".", 1)[-1]

    class Stills(cls):  # type: ignore[misc, valid-type]
        def end_beat(self, name: str) -> None:
            self.renderer.update_frame(self, ignore_skipping=True)
            p = out / f"{stem}_{name.removeprefix('beat_')}.png"
            Image.fromarray(self.renderer.get_frame()).convert("RGB").save(p)
            paths.append(str(p))
            super().end_beat(name)

    Stills.__name__ = cls.__name__
    for k, v in knobs.items():
        setattr(Stills, k, v)
    with tempconfig({"quality": quality, "disable_caching": True, "write_to_movie": False,
                     "progress_bar": "none"}):
        Stills(skip_animations=True).render()
    return paths


def _main(argv: list[str]) -> None:
    import importlib

    if len(argv) < 2 or argv[0] in ("-h", "--help"):
        print("usage: python -m scenes.kit.checks SCENE_ID OUTDIR [knob=value ...]\n"
              "  beat stills + legibility of a story scene; any scene file, with the "
              "equation ledger too: gpt-scenes check FILE.py [SCENE] (see --help there)")
        raise SystemExit(0 if argv[:1] in (["-h"], ["--help"]) else 2)
    name, outdir, *rest = argv
    mod = importlib.import_module(f"scenes.{name}")
    classes = [c for c in vars(mod).values() if isinstance(c, type) and
               issubclass(c, GPTScene) and c is not GPTScene and c.__module__ == mod.__name__]
    import ast

    def value(v: str) -> Any:
        try:
            return ast.literal_eval(v)
        except (ValueError, SyntaxError):
            return v

    knobs = {k: value(v) for k, v in (a.split("=", 1) for a in rest)}
    for c in classes:
        for p in beat_stills(c, outdir, **knobs):
            print(p)
        print(check_beats(c, **knobs))


if __name__ == "__main__":
    import sys

    _main(sys.argv[1:])
