"""TEMPORARY shim of the beat-composition contract (see /work/wt/BRIEF.md) so that new scenes
can be written before the structure work lands; the structure helper's scenes/kit/scene.py
replaces this file at merge time. A need is satisfied when the scene has an attribute of
that name; otherwise ``build_<need>()`` makes it silently (no animation)."""
from __future__ import annotations

from typing import Any, Callable

from scenes.base import GPTScene as _BaseScene, clear, light  # noqa: F401  (re-exported)
from tensors import exit_on_user_error
from scenes.theme import THEME
from scenes.kit.ledger import LedgerMixin


def beat(needs: tuple[str, ...] | list[str] = ()) -> Callable:
    """Mark a method as a beat that needs the named state (attributes) before it runs."""
    def deco(f: Callable) -> Callable:
        f.needs = tuple(needs)
        return f
    return deco


class GPTScene(LedgerMixin, _BaseScene):
    def need(self, name: str) -> Any:
        if not hasattr(self, name):
            getattr(self, f"build_{name}")()
        return getattr(self, name)

    def construct(self) -> None:
        with exit_on_user_error("manim render"):
            self.apply_course_config()
            self.camera.background_color = THEME.background
            self.trace = self.load_trace()
            self.prepare()
            for name in self.beats:
                method = getattr(self, name)
                self._current_beat = f"{type(self).__name__}.{name}"
                for n in getattr(method, "needs", ()):
                    self.need(n)
                method()
                self.end_beat(name)
