"""Manim's standard introducing animations on every piece.

A piece that can hold an image (:class:`~scenes.kit.pieces.attention.AttentionGrid`: a big
grid is one nearest-neighbour image) is a ``Group``, not a ``VGroup``, and Manim's
``Create`` and ``Write`` accept only vector mobjects (``TypeError``). :func:`drawable`
registers a Manim animation override on such a class: ``Create(piece)`` / ``Write(piece)``
draw its vector parts with that animation and fade its images in, all at once (the piece is
added to the scene as one mobject, so ``FadeOut(piece)`` later removes all of it).

>>> from manim import Create
>>> from scenes.kit.pieces import AttentionGrid
>>> import numpy as np
>>> g = AttentionGrid(np.array([[1.0, 0.0], [0.25, 0.75]]), ["a", " b"], ["a", " b"])
>>> type(Create(g)).__name__
'PieceAnimation'
"""
from __future__ import annotations

from typing import Any, Callable

from manim import AnimationGroup, Create, FadeIn, Mobject, VMobject, Write
from manim.animation.animation import Animation

__all__ = ["drawable", "PieceAnimation"]


class PieceAnimation(AnimationGroup):
    """An AnimationGroup that introduces its ``group`` (the piece) as one mobject (Manim's
    own AnimationGroup leaves introducing to its parts)."""

    def _setup_scene(self, scene: Any) -> None:
        if scene is not None and self.is_introducer():
            scene.add(self.group)
        super()._setup_scene(scene)


def _parts(anim: type[Animation], mob: Mobject) -> list[Animation]:
    out: list[Animation] = []
    for m in mob.submobjects:
        if isinstance(m, VMobject):
            a = anim(m)
        elif m.submobjects:
            out += _parts(anim, m)
            continue
        else:
            a = FadeIn(m)            # an image: nothing to trace, it fades in
        a.introducer = False         # the piece itself is added, as one mobject
        out.append(a)
    return out


def _override(anim: type[Animation]) -> Callable[..., Animation]:
    def make(mob: Mobject, **kwargs: Any) -> Animation:
        kwargs.pop("introducer", None)
        return PieceAnimation(*_parts(anim, mob), group=mob, introducer=True, **kwargs)

    make.__name__ = f"{anim.__name__.lower()}_piece"
    return make


def drawable(cls: type[Mobject]) -> type[Mobject]:
    """Let ``Create`` and ``Write`` animate the Group piece class ``cls`` (see above)."""
    for anim in (Create, Write):
        if cls.animation_override_for(anim) is None:
            cls.add_animation_override(anim, _override(anim))
    return cls
