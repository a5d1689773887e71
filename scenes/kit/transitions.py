"""Cheap transitions for scenes of many glyphs: fade a curtain, not the content.

Fading a group of hundreds of glyphs redraws all of them every frame. A *curtain* (one
rectangle in the background colour over the region) fades instead: the content stays a
static, cached image and each frame draws one rectangle. :class:`Curtains` is a mixin for a
:class:`scenes.kit.scene.GPTScene`; the scene's ``tag`` and caption stay in front.

Where content changes *in place* (a number becoming another), :meth:`Curtains.cross_fade`
fades the old glyphs out and the new ones in within ONE animation that only rescales the
glyphs' alpha (cheap for hundreds of glyphs), and :meth:`Curtains.settle` leaves exactly the
new piece on stage after transforms between pieces.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from manim import Group, Mobject, Rectangle, UpdateFromAlphaFunc, VGroup, VMobject

from .theme import THEME

__all__ = ["Curtains", "curtain", "drawn_parts", "set_alpha", "in_flight", "become"]


#: what a text made by scenes.kit.text carries besides its shape (what it says, its size)
TEXT_ATTRS = ("text", "value", "font_size_made", "extent_made")


def become(m: Any, other: Any) -> Any:
    """``m.become(other)``, and what ``other``'s texts say and how large they were made
    (manim's ``become`` copies points and style only: ``m`` would go on claiming its old
    words — to the ledger and the legibility checker)."""
    m.become(other)
    for a, b in zip(m.get_family(), other.get_family()):
        for k in TEXT_ATTRS:
            if k in vars(b):                  # set on the text itself (not a computed property)
                setattr(a, k, vars(b)[k])
    return m


def in_flight(m: Any) -> Any:
    """Mark ``m`` as a copy in flight (numbers flying into the entry they make, shrinking
    and fading as they land): the legibility checker does not ask it to be read, nor to
    keep clear of what it crosses. Returns ``m``."""
    m.in_flight = True
    return m


def curtain(mobs: Sequence[Any], opacity: float, margin: float = 0.08) -> Rectangle:
    """A background-coloured rectangle over ``mobs`` with the given fill opacity."""
    box = Group(*mobs)
    r = Rectangle(width=box.width + 2 * margin, height=box.height + 2 * margin,
                  stroke_width=0, fill_color=THEME.background, fill_opacity=opacity)
    return r.move_to(box.get_center())


def drawn_parts(mobs: Sequence[Any]) -> list:
    """Per mobject: its drawn parts with their fill/stroke colours (to fade them by alpha)."""
    return [[(m, m.fill_rgbas.copy(), m.stroke_rgbas.copy()) if isinstance(m, VMobject)
             else (m, None, None) for m in mob.family_members_with_points()] for mob in mobs]


def set_alpha(parts: list, t: float) -> None:
    """Draw one entry of :func:`drawn_parts` at ``t`` × its own opacity (images: opacity t)."""
    for m, f, st in parts:
        if f is None:
            m.set_opacity(t)
            continue
        f2, s2 = f.copy(), st.copy()
        f2[:, 3] *= t
        s2[:, 3] *= t
        m.fill_rgbas, m.stroke_rgbas = f2, s2


class Curtains:
    """Reveal, swap, morph and clear by curtain (mixin for a GPTScene with a ``tag``)."""

    def chrome_front(self) -> None:
        """Model tag and caption above everything (curtains included)."""
        front = [m for m in (getattr(self, "tag", None), getattr(self, "_caption", None))
                 if m is not None and m in self.mobjects]
        if front:
            self.bring_to_front(*front)

    def reveal(self, *mobs: Any, run_time: float = 0.5, extra: Sequence = ()) -> None:
        """Fade ``mobs`` in (by uncovering them); ``extra`` animations run alongside."""
        mobs = [m for m in mobs if m is not None]
        cur = curtain(mobs, 1.0)
        self.add(*mobs, cur)
        self.chrome_front()
        self.play(cur.animate.set_fill(opacity=0.0), *extra, run_time=run_time)
        self.remove(cur)

    def swap(self, old: Any, new: Any, region: Any = None, run_time: float = 0.5,
             margin: float = 0.08) -> None:
        """Dip the region of ``old`` to the background, put ``new`` there, and back."""
        olds = list(old) if isinstance(old, (list, tuple)) else [old]
        cur = curtain([region] if region is not None else olds, 0.0, margin=margin)
        self.add(cur)
        self.chrome_front()
        self.play(cur.animate.set_fill(opacity=1.0), run_time=run_time / 2)
        self.remove(*olds)
        self.add(new)
        self.bring_to_front(cur)
        self.chrome_front()
        self.play(cur.animate.set_fill(opacity=0.0), run_time=run_time / 2)
        self.remove(cur)

    def fresh(self, *keep: Any) -> None:
        """Start a beat on a clean stage (the model tag, the caption and ``keep`` stay)."""
        keep = [m for m in (getattr(self, "tag", None), getattr(self, "_caption", None), *keep)
                if m is not None]
        gone = [m for m in self.mobjects if m not in keep]
        if not gone:
            return
        cur = curtain(gone, 0.0)
        self.add(cur)
        self.bring_to_front(*[m for m in keep if m in self.mobjects])
        self.play(cur.animate.set_fill(opacity=1.0), run_time=0.3)
        self.remove(*gone, cur)

    def clean_stage(self, *keep: Any) -> None:
        """:meth:`fresh` without animating (for silent builders)."""
        keep = [m for m in (getattr(self, "tag", None), getattr(self, "_caption", None), *keep)
                if m is not None]
        self.remove(*[m for m in self.mobjects if m not in keep])

    def cross_fade(self, out: Sequence = (), into: Sequence = (), run_time: float = 0.8,
                   each: float = 1.0, extra: Sequence = (), overlap: float = 1.0,
                   rate_func: Any = None) -> None:
        """``out`` fades away while ``into`` fades in, in ONE animation (no blank frame);
        with ``each`` < 1 the ``into`` items start one after another. ``overlap`` < 1: the
        share of the time both are on screen — ``out`` is mostly gone before ``into`` comes
        (a new layout over an old one, never a double exposure). ``extra`` animations run
        alongside. ``rate_func``: the fade's own (default manim's ``smooth``; ``linear``
        for a fade that is quick from its first frame, without an ease-in)."""
        po, pi = drawn_parts(out), drawn_parts(into)
        n = len(pi)
        for p in pi:
            set_alpha(p, 0.0)
        self.add(*into)
        half = (1 + overlap) / 2                      # each side's share of the time

        def step(_: Mobject, alpha: float) -> None:
            a_out = min(1.0, alpha / half)
            a_in = max(0.0, (alpha - (1 - half)) / half)
            for p in po:
                set_alpha(p, 1.0 - a_out)
            for i, p in enumerate(pi):
                start = (1 - each) * i / max(n - 1, 1)
                set_alpha(p, min(1.0, max(0.0, (a_in - start) / each)))

        fade = UpdateFromAlphaFunc(VGroup(), step, **({} if rate_func is None else {"rate_func": rate_func}))
        self.play(fade, *extra, run_time=run_time)
        for p in pi:
            set_alpha(p, 1.0)
        self.remove(*out)
        for p in po:
            set_alpha(p, 1.0)

    def mobjects_in(self, m: Any) -> list:
        """Top-level mobjects on stage that share part of ``m`` (after transforms)."""
        fam = set(m.get_family())
        return [x for x in self.mobjects if x in fam or any(y in fam for y in x.get_family())]

    def settle(self, *old_new: Any) -> None:
        """After transforms between pieces: only the new piece (the last one) stays, once."""
        *old, new = old_new
        for m in (*old, new):
            self.remove(*self.mobjects_in(m))
        self.add(new)


def glide(m: Any, to: Any, *, fade: bool = False, **kwargs: Any) -> UpdateFromAlphaFunc:
    """``m`` slides to ``to`` (a point, or a mobject: its centre), ``fade``: fading out as it
    goes — what ``m.animate.move_to(to)`` (``.set_opacity(0)``) draws, without copying ``m``
    and matching its points to a target copy (a pure translation: cheap for a whole grid).

    >>> from manim import Dot, RIGHT, Scene, tempconfig
    >>> with tempconfig({"dry_run": True}):
    ...     s = Scene(skip_animations=True)
    ...     d = Dot()
    ...     s.play(glide(d, 2 * RIGHT))
    >>> d.get_center().tolist()
    [2.0, 0.0, 0.0]
    """
    target = to.get_center() if hasattr(to, "get_center") else np.asarray(to, dtype=float)
    delta = target - m.get_center()
    done = [0.0]
    parts = drawn_parts([m])[0] if fade else []

    def step(_: Any, alpha: float) -> None:
        m.shift((alpha - done[0]) * delta)
        done[0] = alpha
        if fade:
            set_alpha(parts, 1.0 - alpha)

    return UpdateFromAlphaFunc(VGroup(), step, **kwargs)
