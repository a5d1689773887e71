"""Visual pieces: mobjects that draw exactly the real values they are given.

- :mod:`.matrix` — WeightMatrix (the one grid of numbers) and its views VectorColumn, EmbeddingMatrix;
- :mod:`.tokens` — TokenBoxes (the tokenizer's pieces, leading spaces visible);
- :mod:`.attention` — AttentionGrid, AttentionArcs, heatmap_image;
- :mod:`.bars` — ProbabilityBars, Bars;
- :mod:`.diagrams` — pipeline boxes, arrows, the softmax and norm formulas;
- :mod:`.mlp` — a box with a subscripted label, the per-layer chart of logit pushes;
- :mod:`.animations` — ``Create`` / ``Write`` on the pieces that are Groups (may hold an image).

All read colours, fonts and number formats from :data:`scenes.kit.theme.THEME`; none
invents a number (each keeps the values it draws on ``.values`` / ``.value``).
"""
from .attention import IMAGE_CELLS, AttentionArcs, AttentionGrid, heatmap_image
from .bars import Bars, ProbabilityBars
from .diagrams import box, down_arrow, formula_softmax_T, norm_formula, t_label
from .mlp import chart_value, layer_chart, markup_box
from .matrix import EmbeddingMatrix, VectorColumn, WeightMatrix, column_plan
from .tokens import TokenBoxes
from .animations import drawable

drawable(AttentionGrid)  # a Group (it may hold an image): Create and Write work on it too

__all__ = ["IMAGE_CELLS", "AttentionArcs", "AttentionGrid", "heatmap_image", "Bars",
           "ProbabilityBars", "box", "down_arrow", "formula_softmax_T", "norm_formula",
           "t_label", "chart_value", "layer_chart", "markup_box", "EmbeddingMatrix",
           "VectorColumn", "WeightMatrix", "column_plan", "TokenBoxes", "drawable"]
