"""Pure-numpy analyses the scenes draw (no torch, no manim)."""
