"""Every piece works with Manim's standard introducing animations (Create, FadeIn, Write),
on a real attention pattern, and labels draw the text they are given."""
from __future__ import annotations

import numpy as np
import pytest
from manim import Create, FadeIn, FadeOut, Scene, Write, tempconfig

from scenes.kit.pieces import AttentionGrid, ProbabilityBars, TokenBoxes


@pytest.fixture(scope="module")
def real(tiny_gpt2_dir):
    from tensors import trace

    t = trace("The cat sat on the mat because it was tired", str(tiny_gpt2_dir), quiet=True)
    return t


def _pieces(t) -> dict[str, object]:
    pat = np.asarray(t.pattern[1][2])
    probs = t.top_next(3)
    return {
        "grid (cells)": lambda: AttentionGrid(pat[:4, :4], t.tokens[:4], t.tokens[:4]),
        "grid (image)": lambda: AttentionGrid(pat, t.tokens, t.tokens, as_image=True),
        "bars": lambda: ProbabilityBars([s for s, _ in probs], [p for _, p in probs]),
        "tokens": lambda: TokenBoxes(t.tokens[:4]),
    }


def _frame(scene: Scene) -> np.ndarray:
    scene.renderer.update_frame(scene, ignore_skipping=True)
    return np.array(scene.renderer.get_frame())


@pytest.mark.parametrize("anim", [Create, FadeIn, Write])
def test_every_piece_is_introduced_by_standard_animations(real, anim):
    for name, make in _pieces(real).items():
        with tempconfig({"quality": "low_quality", "disable_caching": True,
                         "verbosity": "ERROR", "progress_bar": "none"}):
            shown = Scene(skip_animations=True)
            piece = make()
            shown.play(anim(piece), run_time=0.3)
            assert shown.mobjects == [piece], name  # added as one mobject
            ref = Scene(skip_animations=True)
            ref.add(make())
            # at its end the animation leaves the piece exactly as drawn without it
            assert np.array_equal(_frame(shown), _frame(ref)), f"{anim.__name__}({name})"
            shown.play(FadeOut(piece), run_time=0.3)
            assert shown.mobjects == [], name  # and FadeOut takes all of it away


def test_labels_draw_the_text_they_are_given():
    b = ProbabilityBars(["L16 H0", "L3 H1"], [0.92, 0.41], tokens=False)
    assert [t.text for t in b.label_texts] == ["L16 H0", "L3 H1"]
    tok = ProbabilityBars([" Paris"], [0.77])  # token strings: the space the model sees, marked
    assert [getattr(m, "text", None) for m in tok.label_texts[0].submobjects] == ["␣", "Paris"]
