"""Legibility checks: what is on screen can be read — at the end of each beat
(:func:`check_beats`) and in every sampled frame *inside* the animations
(:func:`scenes.kit.frame_checks.check_frames`: every ¼ s of video plus both ends of each
animation).

Three rules, on the bounding boxes of the *elements* on screen (texts and filled boxes):

- **size** — every text is drawn at least :data:`scenes.kit.theme.MIN_TEXT_PX` pixels tall
  per row of digits at 1080p (the size it is drawn at is known for every text made by
  :mod:`scenes.kit.text`, after any scaling);
- **overlap** — no two texts overlap; a text overlaps a box only when it is its label
  (inside it); two boxes overlap only when one holds the other;
- **frame** — nothing leaves the frame.

Two more in :func:`scenes.kit.frame_checks.check_frames` (``full=True``):

- **line** — no drawn line (a stroke-only path: an arrow, an arc, an axis, a bracket) crosses
  a text's box;
- **contrast** — a text's fill colour against what is drawn behind its centre: the fill of
  the topmost filled box painted before it there (composited over the background by its
  opacity), or the mean of the image pixels under it, or the background — at least 4.5:1,
  3:1 for digits ≥ 36 px (WCAG 2, :func:`scenes.kit.theme.contrast_ratio`). It compares
  declared colours, not rendered pixels: glyph anti-aliasing and lines under a text are not
  counted, and texts that are fading (opacity < 0.95, inside an animation) are not asked to
  be read. A text at rest at partial opacity is composited and checked.

Inside a play, what is in flight (moved since the previous sample, or a copy marked
:func:`scenes.kit.transitions.in_flight`) is exempt from the overlap and line rules, and so
is what fades in or out quickly (:data:`scenes.kit.frame_checks.FADE_STEP`: a number cross-fading into its new
value); a text on a box in transition is not asked for contrast. What an opaque curtain
(a background-coloured box, such as the band under a zoomed caption) covers is hidden.
Both ends of every play are at rest: everything is checked there.

In a 3D scene (a ``ThreeDCamera``) boxes are taken where the camera draws them: mobjects
fixed in the frame (captions, tables) as they are, the others projected. Through a zoomed 2D
camera (:class:`scenes.kit.camera.FrameZoom`) they are taken as seen on screen
(:func:`in_view`): magnified, and what lies outside the view is not checked.

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

import contextlib
import dataclasses
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import numpy as np
from manim import (ManimColor, MathTex, Mobject, Rectangle, SingleStringMathTex, Tex, Text, VMobject,
                   config, tempconfig)
from manim.camera.three_d_camera import ThreeDCamera

from .text import font_size_of, num_text
from .theme import MIN_TEXT_PX, REFERENCE_PX, THEME, contrast_ratio, min_contrast_for

__all__ = ["Element", "elements", "scan", "Scan", "problems_in", "view_of", "in_view", "check_mobjects",
           "check_scene", "check_beats", "beat_stills", "digit_px"]

#: Bounding boxes may touch: overlaps smaller than this (frame units, ≈1.3 px) are ignored.
EPS = 0.01


_DIGIT_REF: dict[str, float] = {}


def digit_px(size: float) -> float:
    """Height in pixels (at 1080p) of a row of digits drawn at font size ``size``."""
    if THEME.font not in _DIGIT_REF:                 # one measurement per font
        _DIGIT_REF[THEME.font] = num_text("0", 100.0).height / 100.0
    return size * _DIGIT_REF[THEME.font] * REFERENCE_PX / config.frame_height


@dataclass
class Element:
    kind: str                 # "text" or "box"
    mob: Mobject
    lo: np.ndarray            # bounding box corners (x, y)
    hi: np.ndarray
    label: str
    size: float | None = None  # font size drawn at (texts made by scenes.kit.text)
    order: int = 0             # paint order (later is drawn on top)

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
        pts = m.get_all_points()                     # one pass (get_center/width/height: three)
        if not len(pts):
            c = m.get_center()[:2]
            return c, c
        return pts[:, :2].min(0), pts[:, :2].max(0)
    pts = [camera.transform_points_pre_display(f, f.points)
           for f in m.family_members_with_points()]
    pts = np.vstack(pts)[:, :2]
    return pts.min(0), pts.max(0)


def _points(m: VMobject, camera: Any = None) -> np.ndarray:
    """Points along ``m``'s own curves (9 per cubic), as drawn; [n, 2]."""
    pts = m.points
    if camera is not None:
        pts = camera.transform_points_pre_display(m, pts)
    n = len(pts) // 4 * 4
    if not n:
        return np.zeros((0, 2))
    t = np.linspace(0, 1, 9)[:, None]
    w = np.hstack([(1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t ** 2, t ** 3])  # [9, 4]
    return np.einsum("sk,ckd->csd", w, pts[:n].reshape(-1, 4, 3))[..., :2]  # [curves, 9, 2]


def _is_curtain(m: Mobject) -> bool:
    """An opaque box in the background colour: it hides what is painted under it."""
    return (isinstance(m, Rectangle) and _fill_op(m) >= 0.95
            and m.get_fill_color().to_hex().upper() == THEME.background.upper())


def _is_line(m: Mobject) -> bool:
    if not isinstance(m, VMobject) or not len(m.points) or _fill_op(m) > 0.05:
        return False
    if float(np.ptp(m.points, axis=0).max()) < 1e-6:
        return False                      # no length: draws nothing (a Create at its start)
    return bool(m.get_stroke_width() > 0 and len(m.stroke_rgbas)
                and float(np.max(m.stroke_rgbas[:, 3])) > 0.3)


@dataclass
class Scan:
    """What :func:`scan` found: texts and boxes (``els``), drawn lines as polylines
    (label, [curves, 9, 2]) and images (mobject, lo, hi, order)."""

    els: list[Element]
    lines: list[tuple[str, np.ndarray, Mobject]]
    images: list[tuple[Mobject, np.ndarray, np.ndarray, int]]
    #: ids of the elements and lines inside copies in flight (scenes.kit.transitions.in_flight)
    flying: frozenset = frozenset()
    #: opaque background-coloured boxes (lo, hi, paint order): they hide what is under them
    curtains: tuple = ()
    #: line mobject id → paint order
    line_order: dict = dataclasses.field(default_factory=dict)


def scan(mobs: Iterable[Mobject], camera: Any = None) -> Scan:
    """The texts, filled boxes, lines and images among ``mobs`` and their families, in
    paint order (a text is one element: its glyphs are not looked into); ``camera``: a
    ThreeDCamera to place them as drawn."""
    from manim import ImageMobject

    if camera is not None:
        # where the camera looks now (it updates its rotation only when it paints a frame,
        # and a dry run paints none)
        camera.reset_rotation_matrix()
    out: list[Element] = []
    lines: list[tuple[str, np.ndarray, Mobject]] = []
    images: list = []
    seen: set[int] = set()
    flying: set[int] = set()
    curtains: list = []
    line_order: dict[int, int] = {}
    order = [0]

    def walk(m: Mobject, fly: bool = False) -> None:
        if id(m) in seen:
            return
        seen.add(id(m))
        order[0] += 1
        fly = fly or bool(getattr(m, "in_flight", False))
        if fly:
            flying.add(id(m))
        if _is_text(m):
            if not (getattr(m, "text", "x") or "").strip() or not _visible(m):
                return
            lo, hi = _corners(m, camera)
            if camera is None:                     # font_size_of, from the corners in hand
                w, h = hi - lo
                made, ext = getattr(m, "font_size_made", None), getattr(m, "extent_made", None)
                size = (None if made is None else made if not ext or ext[0] * ext[1] <= 0
                        else made * float(np.sqrt(max(w * h, 0.0) / (ext[0] * ext[1]))))
            else:
                w, size = m.width, font_size_of(m)
            if w > 0 and not (size is not None and digit_px(size) < 1.0):  # (< 1 px: not seen yet)
                out.append(Element("text", m, lo, hi, _label(m), size, order[0]))
            return
        if _is_box(m) and _visible(m):
            out.append(Element("box", m, *_corners(m, camera), _label(m), order=order[0]))
        elif _is_curtain(m):
            curtains.append((*_corners(m, camera), order[0]))
        elif _is_line(m):
            lines.append((type(m).__name__, _points(m, camera), m))
            line_order[id(m)] = order[0]
        elif isinstance(m, ImageMobject):
            images.append((m, *_corners(m), order[0]))      # (3D: placed unprojected)
        for sub in m.submobjects:
            walk(sub, fly)

    for m in sorted(mobs, key=lambda m: getattr(m, "z_index", 0)):
        walk(m)
    # what an opaque curtain painted later covers wholly is not seen
    out = [e for e in out if not any(o > e.order and np.all(e.lo >= lo - EPS) and np.all(e.hi <= hi + EPS)
                                     for lo, hi, o in curtains)]
    return Scan(out, lines, images, frozenset(flying), tuple(curtains), line_order)


def elements(mobs: Iterable[Mobject], camera: Any = None) -> list[Element]:
    """The texts and filled boxes among ``mobs`` and their families (a text is one element:
    its glyphs are not looked into); ``camera``: a ThreeDCamera to place them as drawn."""
    return scan(mobs, camera).els


def view_of(scene: Any) -> tuple[np.ndarray, float] | None:
    """Where a 2D moving camera looks (its frame's centre, and how much it magnifies:
    full frame width ÷ frame width), or None when it shows the whole stage."""
    frame = getattr(getattr(scene, "camera", None), "frame", None)
    if frame is None or isinstance(scene.camera, ThreeDCamera):
        return None
    c, w = np.asarray(frame.get_center()[:2], float), float(frame.width)
    if abs(w - config.frame_width) < 1e-6 and np.allclose(c, 0, atol=1e-6):
        return None
    return c, config.frame_width / w


def in_view(sc: Scan, view: tuple[np.ndarray, float] | None) -> Scan:
    """``sc`` as it is seen through a zoomed 2D camera (:func:`view_of`): corners, lines and
    font sizes in screen units. What lies wholly outside the view is not drawn and dropped;
    what the view's edge crosses is cut with it (a close-up crops the grid it looks into,
    as a film does: not a layout error, and the frame rule is for the whole stage)."""
    if view is None:
        return sc
    c, k = view
    hw, hh = config.frame_width / 2, config.frame_height / 2
    lim = np.array([hw, hh])
    els = []
    for e in sc.els:
        lo, hi = (e.lo - c) * k, (e.hi - c) * k
        if np.any(hi < -lim) or np.any(lo > lim):
            continue
        lo, hi = np.maximum(lo, -lim), np.minimum(hi, lim)
        els.append(Element(e.kind, e.mob, lo, hi, e.label,
                           None if e.size is None else e.size * k, e.order))
    lines = [(lab, (p - c) * k, m) for lab, p, m in sc.lines]
    images = [(m, (lo - c) * k, (hi - c) * k, o) for m, lo, hi, o in sc.images]
    curtains = tuple(((lo - c) * k, (hi - c) * k, o) for lo, hi, o in sc.curtains)
    return Scan(els, lines, images, sc.flying, curtains, sc.line_order)


def check_mobjects(mobs: Iterable[Mobject], camera: Any = None, full: bool = False,
                   at_rest: bool = True) -> list[str]:
    """Every broken rule among ``mobs``, one line each (empty: all legible). ``full``: also
    the line and contrast rules; ``at_rest``: no animation is half-way (fading texts are
    then checked for contrast too)."""
    return problems_in(scan(mobs, camera), full=full, at_rest=at_rest)


def problems_in(sc: Scan, full: bool = False, at_rest: bool = True,
                moving: frozenset[int] = frozenset(),
                animating: frozenset[int] | None = None) -> list[str]:
    """The broken rules in a :func:`scan`. Elements and lines whose mobject id is in
    ``moving`` (in flight between two sampled frames) are exempt from the overlap and line
    rules: a number flying to its place may cross others; it may not leave the frame."""
    els = sc.els
    problems: list[str] = []
    moving = moving | sc.flying
    if animating is not None:
        animating = animating | sc.flying
    if full:
        problems += _line_problems(sc, moving) + _contrast_problems(sc, at_rest, animating)
    hw, hh = config.frame_width / 2, config.frame_height / 2
    for e in els:
        if e.kind == "text" and e.size is not None and digit_px(e.size) < MIN_TEXT_PX - 0.05 \
                and id(e.mob) not in moving \
                and (at_rest or animating is None or id(e.mob) not in animating):
            # (not a copy shrinking as it lands, nor a text morphing into another mid-play)
            problems.append(f"size: {e.label!r} is {digit_px(e.size):.1f} px "
                            f"(floor {MIN_TEXT_PX:g} px)")
        (lx, ly), (hx, hy) = e.lo.tolist(), e.hi.tolist()
        if lx < -hw - EPS or ly < -hh - EPS or hx > hw + EPS or hy > hh + EPS:
            problems.append(f"frame: {e.label!r} leaves the frame")
    if len(els) < 2:
        return problems
    lo = np.array([e.lo for e in els])
    hi = np.array([e.hi for e in els])
    ov = np.all(np.minimum(hi[:, None], hi[None]) - np.maximum(lo[:, None], lo[None]) > EPS, -1)
    for i, j in zip(*np.nonzero(np.triu(ov, 1))):
        a, b = els[i], els[j]
        if id(a.mob) in moving or id(b.mob) in moving:
            continue
        if _hidden_under(a, b, sc) or _hidden_under(b, a, sc):
            continue
        if a.kind == "text" and b.kind == "text":
            if a.label == b.label and np.allclose(a.lo + a.hi, b.lo + b.hi, atol=0.04) and \
                    np.allclose(a.hi - a.lo, b.hi - b.lo, atol=0.04):
                continue                     # a copy on its source (as TransformFromCopy
                #                              starts: its curves re-cut): drawn as one
            problems.append(f"overlap: {a.label!r} × {b.label!r}")
        elif a.kind != b.kind:
            t, bx = (a, b) if a.kind == "text" else (b, a)
            if not t.inside(bx):
                problems.append(f"overlap: {t.label!r} × box {bx.label!r}")
        elif not (a.inside(b) or b.inside(a)):
            problems.append(f"overlap: box {a.label!r} × box {b.label!r}")
    return problems


def _hidden_under(top: Element, other: Element, sc: Scan) -> bool:
    """Whether ``top`` sits on a curtain painted after ``other``: where they meet, ``other``
    is covered."""
    return any(other.order < o < top.order and np.all(top.lo >= lo - EPS) and np.all(top.hi <= hi + EPS)
               for lo, hi, o in sc.curtains)


def _line_problems(sc: Scan, moving: frozenset[int] = frozenset()) -> list[str]:
    """Texts crossed by a drawn line (a segment of its polyline enters the text's box,
    shrunk by EPS on each side)."""
    out: list[str] = []
    if not sc.lines:
        return out
    segs = []
    for lab, p, m in sc.lines:
        if id(m) in moving:
            continue
        a, b = p[:, :-1].reshape(-1, 2), p[:, 1:].reshape(-1, 2)
        if not len(a):
            continue
        # the line's bounding box in plain floats: most (text, line) pairs are far apart
        (x0, y0), (x1, y1) = p.reshape(-1, 2).min(0).tolist(), p.reshape(-1, 2).max(0).tolist()
        segs.append((lab, a, b, sc.line_order.get(id(m), 0), x0, y0, x1, y1))
    curtains = [(*clo.tolist(), *chi.tolist(), o) for clo, chi, o in sc.curtains]
    for e in sc.els:
        if e.kind != "text" or id(e.mob) in moving:
            continue
        (lx, ly), (hx, hy) = e.lo.tolist(), e.hi.tolist()
        lo, hi = e.lo + EPS, e.hi - EPS
        if hx - EPS <= lx + EPS or hy - EPS <= ly + EPS:
            continue
        # curtains under this text: a line painted before one of them is hidden here
        cover = [o for cx0, cy0, cx1, cy1, o in curtains
                 if o < e.order and lx >= cx0 - EPS and ly >= cy0 - EPS
                 and hx <= cx1 + EPS and hy <= cy1 + EPS]
        top = max(cover) if cover else None
        for lab, a, b, lo_order, x0, y0, x1, y1 in segs:
            if top is not None and lo_order < top:
                continue
            if x1 < lx + EPS or x0 > hx - EPS or y1 < ly + EPS or y0 > hy - EPS:
                continue
            if segments_hit(a, b, lo, hi):
                out.append(f"line: {e.label!r} × {lab}")
    return out


def segments_hit(a: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> bool:
    """Whether any segment a[i]→b[i] meets the box [lo, hi] (Liang–Barsky, vectorised)."""
    box_lo, box_hi = np.minimum(a, b), np.maximum(a, b)
    near = np.all(box_hi >= lo, axis=1) & np.all(box_lo <= hi, axis=1)
    if not near.any():
        return False
    a, b = a[near], b[near]
    d = b - a
    t0, t1 = np.zeros(len(a)), np.ones(len(a))
    for k in range(2):
        with np.errstate(divide="ignore", invalid="ignore"):
            ta, tb = (lo[k] - a[:, k]) / d[:, k], (hi[k] - a[:, k]) / d[:, k]
        flat = d[:, k] == 0
        inside = (a[:, k] >= lo[k]) & (a[:, k] <= hi[k])
        t0 = np.where(flat, np.where(inside, t0, 2.0), np.maximum(t0, np.minimum(ta, tb)))
        t1 = np.where(flat, t1, np.minimum(t1, np.maximum(ta, tb)))
    return bool(np.any(t0 <= t1))


def _rgba(m: Mobject) -> tuple[np.ndarray, float]:
    """A text's or box's fill colour (rgb 0…1) and opacity (the most opaque part)."""
    best = (np.zeros(3), 0.0)
    for f in m.get_family():
        if isinstance(f, VMobject) and len(f.points) and len(f.fill_rgbas):
            k = int(np.argmax(f.fill_rgbas[:, 3]))
            if f.fill_rgbas[k, 3] > best[1]:
                best = (np.asarray(f.fill_rgbas[k, :3], float), float(f.fill_rgbas[k, 3]))
    return best


def _behind(e: Element, sc: Scan, bg: np.ndarray,
            boxes: tuple[np.ndarray, np.ndarray, np.ndarray, list[Element]] | None = None
            ) -> tuple[np.ndarray, str, set[int]]:
    """The colour drawn behind text ``e``'s centre, what it is, and the ids of the boxes
    painted there. ``boxes``: :func:`_boxes` of ``sc`` (computed here when not given)."""
    c = (e.lo + e.hi) / 2
    lo, hi, order, els = boxes if boxes is not None else _boxes(sc)
    hit = (order < e.order) & np.all(lo <= c, axis=1) & np.all(c <= hi, axis=1)
    under = [els[i] for i in np.flatnonzero(hit)]
    col, what = bg, "background"
    for m, lo, hi, order in sc.images:
        if order < e.order and np.all(lo <= c) and np.all(c <= hi):
            px = np.asarray(m.get_pixel_array(), float)
            h, w = px.shape[:2]
            x0, x1 = [int(np.clip((v - lo[0]) / (hi[0] - lo[0]) * w, 0, w - 1)) for v in (e.lo[0], e.hi[0])]
            y0, y1 = [int(np.clip((hi[1] - v) / (hi[1] - lo[1]) * h, 0, h - 1)) for v in (e.hi[1], e.lo[1])]
            patch = px[y0:y1 + 1, x0:x1 + 1].reshape(-1, px.shape[2])
            a = patch[:, 3:4] / 255 if px.shape[2] == 4 else np.ones((len(patch), 1))
            col = ((patch[:, :3] / 255) * a + col * (1 - a)).mean(0)
            what = "image"
    for b in sorted(under, key=lambda b: b.order):
        rgb, op = _rgba(b.mob)
        col, what = rgb * op + col * (1 - op), f"box {b.label}"
    return col, what, {id(b.mob) for b in under}


def _boxes(sc: Scan) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Element]]:
    """The filled boxes of ``sc`` as arrays (lo [n, 2], hi [n, 2], paint order [n]) and
    the elements themselves, for :func:`_behind`."""
    els = [b for b in sc.els if b.kind == "box"]
    if not els:
        return np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0, int), els
    return (np.array([b.lo for b in els]), np.array([b.hi for b in els]),
            np.array([b.order for b in els]), els)


def _contrast_problems(sc: Scan, at_rest: bool,
                       animating: frozenset[int] | None = None) -> list[str]:
    """Texts under the contrast floor. Not at rest, a text that an animation is bringing
    in, drawing or fading (its id in ``animating``; None: any text not fully opaque) is not
    asked to be read yet; every other text is, composited at its opacity."""
    bg = np.asarray(ManimColor(THEME.background).to_rgb(), float)
    out: list[str] = []
    boxes = _boxes(sc)
    for e in sc.els:
        if e.kind != "text":
            continue
        rgb, op = _rgba(e.mob)
        if id(e.mob) in sc.flying:
            continue                      # a copy in flight: not there to be read
        if not at_rest and (op < 0.95 if animating is None else id(e.mob) in animating):
            continue                      # being drawn or faded: not asked to be read yet
        behind, what, under = _behind(e, sc, bg, boxes)
        if not at_rest and animating is not None and under & animating:
            continue                      # on a box that is coming or going: read it after
        ink = rgb * op + behind * (1 - op)
        px = digit_px(e.size) if e.size else (e.hi[1] - e.lo[1]) * REFERENCE_PX / config.frame_height
        need = min_contrast_for(px)
        r = contrast_ratio(np.clip(ink, 0, 1), np.clip(behind, 0, 1))
        if r < need - 1e-3:
            out.append(f"contrast: {e.label!r} {r:.1f}:1 on {what} (needs {need:g}:1)")
    return out


def check_scene(scene: Any, full: bool = False, at_rest: bool = True) -> list[str]:
    """:func:`check_mobjects` on everything on screen in ``scene`` now."""
    camera = getattr(scene, "camera", None)
    sc = scan(scene.mobjects, camera if isinstance(camera, ThreeDCamera) else None)
    return problems_in(in_view(sc, view_of(scene)), full=full, at_rest=at_rest)


def check_beats(cls: type, **knobs: Any) -> dict[str, list[str]]:
    """Run scene class ``cls`` (a GPTScene) with ``knobs`` and animations skipped; the
    problems at the end of each beat, by beat name. The scene is kept as ``.scene``
    on the returned dict's class (see :class:`BeatReport`)."""
    report = BeatReport()

    class Checked(cls):  # type: ignore[misc, valid-type]
        def end_beat(self, name: str) -> None:
            report[name] = check_scene(self)
            super().end_beat(name)

    with scene_under_check(Checked, cls, knobs) as scene:
        scene.render()
    report.scene = scene
    return report


#: a check's render: nothing written, manim's hashing off
DRY = {"dry_run": True, "disable_caching": True}


@contextlib.contextmanager
def scene_under_check(checked: type, cls: type, knobs: dict[str, Any],
                      cfg: dict[str, Any] = DRY) -> Iterator[Any]:
    """An instance of ``checked`` (a subclass of scene class ``cls`` that checks it), named
    as ``cls``, with ``knobs`` set, animations skipped, under manim config ``cfg``: render
    it in the ``with`` block."""
    checked.__name__ = cls.__name__
    for k, v in knobs.items():
        setattr(checked, k, v)
    with tempconfig(cfg):
        yield checked(skip_animations=True)


class BeatReport(dict):
    """Beat name → problems; ``.scene`` is the scene that ran."""

    scene: Any = None


def beat_stills(cls: type, outdir: str, quality: str = "high_quality", **knobs: Any) -> list[str]:
    """Save the frame at the end of every beat of ``cls`` as ``<outdir>/<scene>_<beat>.png``
    (animations skipped: one frame drawn per beat). Returns the paths.

        .venv/bin/gpt-scenes check tokenization --stills /tmp/stills
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

    with scene_under_check(Stills, cls, knobs, {"quality": quality, "disable_caching": True,
                                                 "write_to_movie": False, "progress_bar": "none"}) as scene:
        scene.render()
    return paths
