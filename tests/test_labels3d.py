"""Labels in a 3D picture (scenes.kit.labels3d): placed clear of lines, tips and each other
in every view, as the frame checker's line rule measures it."""
from __future__ import annotations

import numpy as np
from manim import DEGREES, ORIGIN, Line, VGroup
from manim.camera.three_d_camera import ThreeDCamera

from scenes.kit.checks import _line_problems, scan
from scenes.kit.labels3d import Obstacles, View, camera_at, clashes, place_labels
from scenes.kit.text import num_text


def _camera() -> ThreeDCamera:
    cam = ThreeDCamera()
    cam.set_phi(68 * DEGREES)
    cam.set_theta(-50 * DEGREES)
    return cam


def _crowded():
    """Two arrows whose tips nearly meet, a third line through both tips' outward side."""
    tips = np.array([[2.0, 0.0, 0.0], [2.0, 0.25, 0.1]])
    segs = [(ORIGIN, t) for t in tips] + [(np.array([3.0, -1.5, 0.0]), np.array([3.0, 1.5, 0.0]))]
    ob = Obstacles(segments=np.array(segs, float), spots=tips)
    halves = np.array([[0.45, 0.12], [0.4, 0.12]])
    return tips, ob, halves


def test_labels_clear_in_every_view_and_not_at_their_tips():
    cam = _camera()
    tips, ob, halves = _crowded()
    views = [View(cam.get_theta() + d) for d in np.linspace(0, 0.3, 7)]
    with camera_at(cam):
        assert clashes(cam, tips, halves, ob) == 2          # on its own tip: not clear
    anchors = place_labels(cam, views, tips, tips / np.linalg.norm(tips, axis=1, keepdims=True),
                           halves, ob)
    for v in views:
        with camera_at(cam, v):
            assert clashes(cam, anchors, halves, ob) == 0
    # each label stays beside its own tip (on screen, within about a label's width)
    with camera_at(cam, views[0]):
        a, t = cam.project_points(anchors)[:, :2], cam.project_points(tips)[:, :2]
    assert np.all(np.linalg.norm(a - t, axis=1) < 1.6)


def test_a_clear_label_stays_where_it_is():
    cam = _camera()
    tips, ob, halves = _crowded()
    views = [View(cam.get_theta())]
    first = place_labels(cam, views, tips, tips, halves, ob)
    again = place_labels(cam, views, tips, -tips, halves, ob, keep=list(first))
    assert np.allclose(first, again)


def test_placed_labels_pass_the_frame_checkers_line_rule():
    """What clashes() calls clear is what the checker's line rule sees: real texts moved to
    the anchors, with the lines drawn, through the same camera."""
    cam = _camera()
    tips, ob, _ = _crowded()
    texts = [num_text(w, 24) for w in ("woman", "king")]
    halves = np.array([[t.width / 2, t.height / 2] for t in texts])
    anchors = place_labels(cam, [View(cam.get_theta())], tips, tips, halves, ob)
    lines = VGroup(*[Line(a, b) for a, b in ob.segments])
    for t, a in zip(texts, anchors):
        t.move_to(a)
    cam.add_fixed_orientation_mobjects(*texts)
    with camera_at(cam):
        assert _line_problems(scan([lines, *texts], cam)) == []
        for t, tip in zip(texts, tips):                    # at the tips they are crossed
            t.move_to(tip)
        assert _line_problems(scan([lines, *texts], cam)) != []
