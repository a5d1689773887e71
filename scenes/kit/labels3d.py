"""Labels in a 3D picture that stay readable while the camera turns and zooms.

A label drawn with ``add_fixed_orientation_mobjects`` keeps its size and faces the viewer;
only its centre (an anchor point in the world) is projected. :func:`place_labels` picks
each label's anchor beside its point (an arrow's tip) so that, in every camera view given,
its box on screen crosses no drawn line (:class:`Obstacles`: arrows, axes, arithmetic
arrows drawn later), covers no arrow tip or dot, overlaps no label placed before it, stays
off the notes fixed in the frame and inside the allowed part of the screen.

All geometry is projected with the scene's own camera (batched: one projection per view),
so it is what the frame checker (:mod:`scenes.kit.checks`) measures.

>>> ob = Obstacles(segments=np.zeros((0, 2, 3)), spots=np.zeros((0, 3)))
>>> len(ob.segments), ob.spot_half
(0, 0.1)
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np

__all__ = ["Obstacles", "View", "camera_at", "place_labels", "clashes", "SAMPLES"]

#: Points per straight 3D segment when it is projected (a perspective camera keeps a line
#: straight, the exponential one nearly so: a few subsegments follow it closely).
SAMPLES = 9


@dataclass
class View:
    """One camera state: the angle ``theta`` (radians), ``zoom`` and ``center`` (world)."""

    theta: float
    zoom: float = 1.0
    center: np.ndarray = field(default_factory=lambda: np.zeros(3))


@dataclass
class Obstacles:
    """What labels must stay clear of. ``segments`` [M, 2, 3]: drawn straight lines (world);
    ``spots`` [K, 3]: small filled marks (arrow tips, dots), each a square of half-side
    ``spot_half`` on screen; ``fixed``: screen boxes (lo, hi) of what is fixed in the frame;
    ``bounds``: the screen box (lo, hi) a label must stay inside."""

    segments: np.ndarray
    spots: np.ndarray
    spot_half: float = 0.1
    fixed: Sequence[tuple[np.ndarray, np.ndarray]] = ()
    bounds: tuple[np.ndarray, np.ndarray] = (np.array([-np.inf, -np.inf]), np.array([np.inf, np.inf]))


@contextmanager
def camera_at(cam: Any, view: View | None = None) -> Iterator[Any]:
    """The camera put in ``view`` (its rotation matrix refreshed), restored afterwards."""
    th0, z0 = cam.get_theta(), float(cam.zoom_tracker.get_value())
    c0 = cam._frame_center.get_center().copy()
    try:
        if view is not None:
            cam.set_theta(view.theta)
            cam.zoom_tracker.set_value(view.zoom)
            cam._frame_center.move_to(view.center)
        cam.reset_rotation_matrix()
        yield cam
    finally:
        cam.set_theta(th0)
        cam.zoom_tracker.set_value(z0)
        cam._frame_center.move_to(c0)
        cam.reset_rotation_matrix()


def _seen(cam: Any, ob: Obstacles) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The obstacles on screen in the camera's current state: subsegment ends a, b [n, 2]
    and spot centres [K, 2]."""
    t = np.linspace(0, 1, SAMPLES)[None, :, None]
    seg = ob.segments
    pts = seg[:, :1] * (1 - t) + seg[:, 1:] * t                       # [M, S, 3]
    allp = np.vstack([pts.reshape(-1, 3), ob.spots.reshape(-1, 3)])
    p = cam.project_points(allp)[:, :2] if len(allp) else np.zeros((0, 2))
    lines = p[:len(seg) * SAMPLES].reshape(len(seg), SAMPLES, 2)
    return (lines[:, :-1].reshape(-1, 2), lines[:, 1:].reshape(-1, 2), p[len(seg) * SAMPLES:])


def _box_clear(lo: np.ndarray, hi: np.ndarray, seen: tuple, ob: Obstacles,
               others: Sequence[tuple[np.ndarray, np.ndarray]]) -> bool:
    """Whether the screen box [lo, hi] is inside the bounds and clear of every obstacle and
    of the ``others`` boxes."""
    from .checks import segments_hit

    if np.any(lo < ob.bounds[0]) or np.any(hi > ob.bounds[1]):
        return False
    a, b, spots = seen
    if len(a) and segments_hit(a, b, lo, hi):
        return False
    s = ob.spot_half
    if len(spots) and np.any(np.all((spots + s > lo) & (spots - s < hi), axis=1)):
        return False
    return not any(np.all(hi > olo) and np.all(lo < ohi) for olo, ohi in (*ob.fixed, *others))


def _candidates(half: np.ndarray, out: np.ndarray) -> list[np.ndarray]:
    """Screen offsets of a label's centre from its point, most preferred first: the box
    ``gap`` clear of the point, in the arrow's own direction ``out`` or turned from it."""
    a0 = float(np.arctan2(out[1], out[0])) if np.linalg.norm(out) > 1e-6 else np.pi / 2
    cands = []
    for gap in (0.1, 0.22, 0.36, 0.55, 0.75, 1.0):
        for turn in range(-165, 181, 15):
            a = a0 + np.radians(turn)
            u = np.array([np.cos(a), np.sin(a)])
            reach = min(half[0] / max(abs(u[0]), 1e-9), half[1] / max(abs(u[1]), 1e-9))
            cands.append((gap + 0.004 * abs(turn), (reach + gap) * u))
    return [c for _, c in sorted(cands, key=lambda c: c[0])]


def place_labels(cam: Any, views: Sequence[View], points: np.ndarray, outward: np.ndarray,
                 halves: np.ndarray, ob: Obstacles, pad: float = 0.05,
                 keep: Sequence[np.ndarray | None] | None = None) -> np.ndarray:
    """Anchors [N, 3] (world) for N labels of screen half-sizes ``halves`` [N, 2] beside
    ``points`` [N, 3], placed in order (an earlier label has the first choice): for each,
    the first candidate offset (:func:`_candidates`, around the point's direction
    ``outward`` [N, 3]) whose box, grown by ``pad``, is clear in every one of ``views``.
    The offset is laid in the screen plane of ``views[0]``, so that it reads as chosen
    there; a label with no clear candidate takes the one clear in the most views (in order).
    ``keep[i]``: where label i is now (tried first: a label that is clear stays put)."""
    points = np.asarray(points, float)
    n = len(points)
    with camera_at(cam, views[0]):
        base = cam.project_points(np.vstack([points, points + outward]))[:, :2]
    seen = []
    for v in views:
        with camera_at(cam, v):
            seen.append(_seen(cam, ob))
    placed: list[list] = [[] for _ in views]
    anchors = points.copy()
    for i in range(n):
        offsets = np.array(_candidates(halves[i] + pad, base[n + i] - base[i]))
        worlds = _to_world(cam, views[0], points[i], base[i] + offsets)
        if keep is not None and keep[i] is not None:
            worlds = np.vstack([np.asarray(keep[i], float)[None], worlds])
        proj = []
        for v in views:
            with camera_at(cam, v):
                proj.append(cam.project_points(worlds)[:, :2])
        best, best_ok = 0, -1
        for c in range(len(worlds)):
            ok = 0
            for k in range(len(views)):
                lo, hi = proj[k][c] - halves[i] - pad, proj[k][c] + halves[i] + pad
                if not _box_clear(lo, hi, seen[k], ob, placed[k]):
                    break
                ok += 1
            if ok > best_ok:
                best, best_ok = c, ok
            if ok == len(views):
                break
        anchors[i] = worlds[best]
        for k in range(len(views)):
            placed[k].append((proj[k][best] - halves[i], proj[k][best] + halves[i]))
    return anchors


def _to_world(cam: Any, view: View, point: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """World points [C, 3] that ``view`` draws at the screen ``targets`` [C, 2]: offsets
    from ``point`` in the view plane at its depth, corrected twice by the residual on screen
    (the perspective)."""
    with camera_at(cam, view):
        plane = cam.get_rotation_matrix()[:2].T                     # [3, 2]: screen x, y
        w = point[None] + (targets - cam.project_points(point[None])[:, :2]) @ plane.T
        for _ in range(2):
            w = w + (targets - cam.project_points(w)[:, :2]) @ plane.T
    return w


def clashes(cam: Any, anchors: np.ndarray, halves: np.ndarray, ob: Obstacles) -> int:
    """How many labels (anchors [N, 3], half-sizes [N, 2]) are not clear — crossed by a
    line, on a spot, on a fixed box, out of bounds or overlapping another label — with the
    camera as it is now."""
    seen = _seen(cam, ob)
    c = cam.project_points(np.asarray(anchors, float))[:, :2]
    boxes = [(c[i] - halves[i], c[i] + halves[i]) for i in range(len(c))]
    return sum(not _box_clear(lo, hi, seen, ob, boxes[:i] + boxes[i + 1:])
               for i, (lo, hi) in enumerate(boxes))
