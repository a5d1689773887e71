"""Pure-numpy analysis behind the whole-model scenes (no manim): what a scene shows is
computed here from a Trace's arrays and the model's shapes, so it can be doctested and
checked without rendering.

- :mod:`.stack` — parameter counts per component with their shape breakdown; the size of
  each block's writes into the residual stream.
- :mod:`.lens` — the logit lens: top token, probability and rank per layer and position.
- :mod:`.kvcache` — keys/values of two runs compared; multiply-adds per generation step
  with and without the cache.
- :mod:`.text` — caption wrapping (two lines instead of a smaller font).
"""
