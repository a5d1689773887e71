"""A tiny course file for the course/render/slides tests: two GPTScene subclasses with two
short beats each, every number on screen from the trace, knobs of the kinds courses set."""
from __future__ import annotations

from pathlib import Path

SOURCE = '''
"""A tiny course: scenes made for the tests (two beats, ~1.5 s of video each)."""
from typing import ClassVar, Sequence

from manim import Circle, Create, FadeOut

from scenes.kit.scene import GPTScene


class TinyScene(GPTScene):
    """Two beats: a circle, then the token count of the real trace."""

    config_section = "tiny"
    prompt = "Hello world"
    model = {model!r}
    #: Radius of the circle (frame units).
    radius: ClassVar[float] = 1.0
    #: Layer to name in the caption (None = the last one).
    layer: ClassVar[int | None] = None
    head: ClassVar[int] = 0
    temperatures: ClassVar[Sequence[float]] = (0.5, 1.0)
    top_k: ClassVar[int] = 3
    words: ClassVar[Sequence[str]] = ("king", "queen")
    analogies: ClassVar[Sequence[Sequence[str]]] = (("king", "man", "woman", "queen"),)
    beats: ClassVar[Sequence[str]] = ("beat_one", "beat_two")
    captions: ClassVar[dict[str, str]] = {{"count": "{{n}} tokens, layer {{layer}}"}}

    def beat_one(self):
        self.circle = Circle(radius=self.radius)
        self.play(Create(self.circle), run_time=0.5)
        layer = self.trace.info["n_layer"] - 1 if self.layer is None else self.layer
        self.show_caption(self.caption_text("count", n=len(self.trace.tokens), layer=layer),
                          run_time=0.4)

    def beat_two(self):
        self.play(FadeOut(self.circle), run_time=0.5)


class TinyTwo(TinyScene):
    """The same with its own prompt set in code (so the [tiny] section prompt skips it)."""

    prompt = "The capital of France is"
'''


def write_tiny_course(folder: Path, model: str | Path, name: str = "tiny_course.py") -> Path:
    path = Path(folder) / name
    path.write_text(SOURCE.format(model=str(model)))
    return path
