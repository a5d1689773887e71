"""Cameras: :class:`ShiftedThreeDCamera` (a 3D plot beside a table: content shifted on
screen, overlay cached) and :class:`FrameZoom` (a 2D scene whose frame zooms to the cell or
row being computed and pulls back)."""
from __future__ import annotations

import itertools as it
from typing import Any

import cairo
import numpy as np
from manim import VMobject, config
from manim.camera.three_d_camera import ThreeDCamera

__all__ = ["ShiftedThreeDCamera", "FrameZoom"]


class ShiftedThreeDCamera(ThreeDCamera):
    """A ThreeDCamera that

    - draws the 3D content ``screen_shift`` (frame units) to the side, so a plot can turn
      about its own centre on the left while a table sits on the right;
    - draws the fixed-in-frame mobjects (captions, tables) once into a cached overlay and
      composites it per frame, redrawing it only when one of them changes. While the camera
      turns every frame is redrawn; glyph outlines are most of the cost, and most glyphs are
      in the (unchanging) overlay.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        self.screen_shift = np.zeros(3)
        self._ov = None
        self._ov_key = None
        super().__init__(*args, **kwargs)

    def project_points(self, points):
        out = super().project_points(points)
        return out + self.screen_shift

    def capture_mobjects(self, mobjects, **kwargs: Any) -> None:
        self.reset_rotation_matrix()
        mobs = self.get_mobjects_to_display(mobjects, **kwargs)
        fixed = self.fixed_in_frame_mobjects
        over = [m for m in mobs if m in fixed]
        if not over or any(not isinstance(m, VMobject) for m in over):
            return super().capture_mobjects(mobjects, **kwargs)
        free = [m for m in mobs if m not in fixed]
        for group_type, group in it.groupby(free, self.type_or_raise):
            self.display_funcs[group_type](list(group), self.pixel_array)
        self._paint_overlay(over)

    def _paint_overlay(self, over: list) -> None:
        key = tuple((id(m), hash(m.points.tobytes()), hash(m.fill_rgbas.tobytes()),
                     hash(m.stroke_rgbas.tobytes()), float(m.stroke_width)) for m in over)
        if self._ov is None or self._ov.shape != self.pixel_array.shape:
            self._ov = np.zeros_like(self.pixel_array)
            self._ov_surface = cairo.ImageSurface.create_for_data(
                self._ov.data, cairo.FORMAT_ARGB32, self.pixel_width, self.pixel_height)
            self._ov_key = None
        if key != self._ov_key:
            self._ov[:] = 0
            ctx = self.get_cairo_context(self._ov)
            ctx.get_target().mark_dirty()
            self.display_multiple_vectorized_mobjects(over, self._ov)
            ctx.get_target().flush()
            self._ov_surface.mark_dirty()
            self._ov_key = key
        ctx = self.get_cairo_context(self.pixel_array)
        ctx.save()
        ctx.identity_matrix()
        ctx.set_source_surface(self._ov_surface, 0, 0)
        ctx.paint()
        ctx.restore()


# ====================================================================== 2D: the frame follows the idea
class FrameZoom:
    """Mixin for a :class:`scenes.kit.scene.GPTScene` drawn by a
    :class:`manim.camera.moving_camera.MovingCamera` (as ``MovingCameraScene`` does): the
    frame zooms to what is being computed (:meth:`zoom_to`) and pulls back to the whole
    (:meth:`pull_back`). The model tag and the caption stay where they are on screen, at
    their size: they follow the frame. No caption changes while zoomed in.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        from manim.camera.moving_camera import MovingCamera

        kwargs.setdefault("camera_class", MovingCamera)
        super().__init__(*args, **kwargs)
        self._chrome_ref: dict[int, Any] = {}

    def get_moving_mobjects(self, *animations: Any) -> list:
        """While the frame moves, everything is moving (as in MovingCameraScene)."""
        from manim.utils.family import extract_mobject_family_members
        from manim.utils.iterables import list_update

        moving = super().get_moving_mobjects(*animations)
        fam = extract_mobject_family_members(moving)
        if any(m in fam for m in self.renderer.camera.get_mobjects_indicating_movement()):
            return list_update(self.mobjects, moving)
        return moving

    @property
    def zoomed(self) -> bool:
        frame = getattr(self.camera, "frame", None)
        return frame is not None and abs(frame.width - config.frame_width) > 1e-6

    def zoom_to(self, *mobs: Any, margin: float = 0.45, min_width: float = 5.5,
                run_time: float = 0.8, extra: Any = ()) -> None:
        """Frame ``mobs`` (with ``margin``), never narrower than ``min_width`` and never
        beyond the whole stage."""
        from manim import Group

        box = Group(*mobs)
        aspect = config.frame_width / config.frame_height
        w = max(box.width + 2 * margin, (box.height + 2 * margin) * aspect, min_width)
        w = min(w, config.frame_width)
        h = w / aspect
        c = box.get_center().copy()
        hx, hy = (config.frame_width - w) / 2, (config.frame_height - h) / 2
        c[0], c[1] = np.clip(c[0], -hx, hx), np.clip(c[1], -hy, hy)
        self._frame_to(c, w, run_time, extra)

    def pull_back(self, run_time: float = 0.8, extra: Any = ()) -> None:
        """Back to the whole stage."""
        if self.zoomed:
            self._frame_to(np.zeros(3), config.frame_width, run_time, extra)

    def _frame_to(self, center: np.ndarray, width: float, run_time: float, extra: Any) -> None:
        from manim import UpdateFromAlphaFunc
        from manim.utils.rate_functions import smooth

        frame = self.camera.frame
        c0, w0 = frame.get_center().copy(), float(frame.width)
        chrome = [m for m in (getattr(self, "tag", None), getattr(self, "_caption", None))
                  if m is not None and m in self.mobjects]
        if not self.zoomed:                       # what the chrome looks like unzoomed
            self._chrome_ref = {id(m): m.copy() for m in chrome}
        refs = [(m, self._chrome_ref.get(id(m))) for m in chrome]

        def step(f: Any, alpha: float) -> None:
            a = smooth(alpha)
            w = w0 + (width - w0) * a
            c = c0 + (center - c0) * a
            f.set(width=w)
            f.move_to(c)
            s = w / config.frame_width
            for m, ref in refs:
                if ref is not None:
                    m.become(ref.copy().scale(s, about_point=np.zeros(3)).shift(c))

        self.play(UpdateFromAlphaFunc(frame, step, rate_func=lambda t: t), *extra, run_time=run_time)
