"""Tutorial scene (docs/tutorial.md): find a previous-token head in the real model and show it."""
from typing import ClassVar, Sequence

import numpy as np
from manim import UP, Create, FadeIn

from scenes.kit.pieces import AttentionGrid, ProbabilityBars
from scenes.kit.scene import GPTScene


class PreviousTokenHead(GPTScene):
    """A previous-token head: found by scoring every head of the model."""

    config_section = "previous_token"
    prompt: ClassVar[str] = "The cat sat on the mat because it was tired"
    #: How many of the best-scoring heads the bar chart shows.
    top: ClassVar[int] = 3
    beats: ClassVar[Sequence[str]] = ("beat_scores", "beat_pattern")
    captions: ClassVar[dict[str, str]] = {
        "scores": "Every head scored: its mean attention to the token just before",
        "pattern": "Layer {layer}, head {head}: each token looks one step back ({score} on average)",
    }

    def prepare(self) -> None:
        p = np.asarray(self.trace.pattern)                 # [layer, head, query, key]
        n = p.shape[-1]
        prev = np.stack([p[:, :, q, q - 1] for q in range(1, n)], axis=-1)
        self.scores = prev.mean(-1)                        # [layer, head]
        best = np.argsort(self.scores, axis=None)[::-1][: self.top]
        self.best = [tuple(int(i) for i in np.unravel_index(b, self.scores.shape)) for b in best]
        l, h = self.best[0]  # the number on screen, recomputable from its operands: the ledger
        self.equation("mean", f"score(L{l} H{h})", self.scores[l, h], x=prev[l, h])

    def beat_scores(self) -> None:
        self.build_tag()
        labels = [f"L{l} H{h}" for l, h in self.best]
        self.bars = ProbabilityBars(labels, [self.scores[b] for b in self.best], tokens=False)
        self.play(FadeIn(self.bars.move_to(0.4 * UP)))
        self.show_caption(self.caption_text("scores"))
        self.hold()

    def beat_pattern(self) -> None:
        l, h = self.best[0]
        self.fade_out_shown(self.bars)
        t = self.trace
        grid = AttentionGrid(t.pattern[l][h], t.tokens, t.tokens, max_side=4.6)
        self.play(Create(grid.move_to(0.35 * UP)))
        self.show_caption(self.caption_text(
            "pattern", layer=l, head=h, score=f"{self.scores[l, h]:.0%}"))
        self.hold(minimum=1.0)
