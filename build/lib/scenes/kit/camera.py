"""A 3D camera for a plot beside a table: content shifted on screen, overlay cached."""
from __future__ import annotations

import itertools as it
from typing import Any

import cairo
import numpy as np
from manim import VMobject
from manim.camera.three_d_camera import ThreeDCamera

__all__ = ["ShiftedThreeDCamera"]


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
