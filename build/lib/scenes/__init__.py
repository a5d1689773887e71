"""gpt-scenes: one story scene per file here (``manim render scenes/attention.py``); the
library they are built from is :mod:`scenes.kit`."""

from tensors._version import __version__

__all__ = ["__version__"]
