"""Layout check at the end of every beat: text inside the frame, no two texts overlapping,
digits at least 20 px tall at 1080p (bounding boxes of the drawn text mobjects).

Used by the long-prompt tests of the attention and embedding scenes (issue 11.6). Text
mobjects are the leaves that carry a ``.text`` (``num_text``/``flat_text`` set it).
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from manim import config, tempconfig

#: 20 px at 1080p in frame units (the frame is 8 units tall).
MIN_DIGIT = 20 / 1080 * 8


def text_leaves(scene: Any) -> list:
    shown = scene.get_mobject_family_members()
    fixed = set(getattr(getattr(scene, "camera", None), "fixed_in_frame_mobjects", set()) or set())
    out = []
    for m in shown:
        if getattr(m, "text", None) and m.has_points() and not m.submobjects:
            if m.get_fill_opacity() > 0.05 or m in fixed:
                out.append(m)
    return out


def problems(scene: Any, tol: float = 0.03) -> list[str]:
    """What is wrong with the frame now: texts leaving the frame or overlapping."""
    w, h = config.frame_width / 2, config.frame_height / 2
    boxes = []
    bad = []
    for m in text_leaves(scene):
        lo, hi = m.get_corner(np.array([-1, -1, 0])), m.get_corner(np.array([1, 1, 0]))
        if lo[0] < -w - tol or hi[0] > w + tol or lo[1] < -h - tol or hi[1] > h + tol:
            bad.append(f"outside the frame: {m.text!r}")
        boxes.append((m, lo + tol, hi - tol))
    for (a, la, ha), (b, lb, hb) in itertools.combinations(boxes, 2):
        if la[0] < hb[0] and lb[0] < ha[0] and la[1] < hb[1] and lb[1] < ha[1]:
            bad.append(f"overlap: {a.text!r} / {b.text!r}")
    return bad


def render_checking(cls, tmp_path) -> dict[str, list[str]]:
    """Render ``cls`` (every beat, no video) and return {beat: problems at its end}."""
    found: dict[str, list[str]] = {}

    class Checked(cls):
        def end_beat(self, name):
            found[name] = problems(self)
            super().end_beat(name)

    Checked.__name__ = cls.__name__
    with tempconfig({"media_dir": str(tmp_path / "media"), "quality": "low_quality",
                     "dry_run": True}):
        Checked(skip_animations=True).render()
    return found
