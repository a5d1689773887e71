"""Tokens drawable and honest, labels that say what is computed (issue 20, items 3 and 4)."""
from __future__ import annotations

import numpy as np
import pytest
from manim import tempconfig

from scenes.kit.checks import digit_px
from scenes.kit.pieces import TokenBoxes
from scenes.kit.text import (bytes_str, displayable, font_size_of, has_glyph, joined_pieces,
                             token_label)
from scenes.kit.theme import MIN_TEXT_PX
from scenes.softmax_temperature import SoftmaxTemperatureScene
from tensors import trace

pytestmark = pytest.mark.usefixtures("shared_traces")


def test_cjk_has_a_real_font():
    """度 (sampled at T = 5 in softmax_temperature) is drawn with a real glyph: a CJK font is
    installed (scripts/setup.sh: fonts-wqy-microhei), so it is neither a hex box nor U+5EA6."""
    for c in "度温日本語":
        assert has_glyph(c), f"no installed font has {c!r}: apt-get install fonts-wqy-microhei"
        assert displayable(c) == c
    assert displayable("\u200b") == "U+200B"          # a zero-width space has nothing to draw


def test_fragments_shown_as_bytes_never_replacement_char():
    t = trace("The capital of France is", "smollm2", quiet=True)
    ids = t.encode("度 温度 😀")
    pieces = t.token_strs(ids)
    labels = [token_label(p) for p in pieces]
    assert all("\ufffd" not in s and "\\x" not in s for s in labels)
    assert "␣⟨E6⟩" in labels                     # ' \xe6': the first byte of 温
    # generated one after another, the pieces join back into the text …
    assert joined_pieces(pieces) == "度 温度 😀"
    # … and a text cut inside a character shows the bytes left over
    assert joined_pieces(pieces[:2]) == "度 ⟨E6⟩"
    assert bytes_str("度".encode()[:2]) == "⟨E5 BA⟩"


def test_byte_token_box_is_readable():
    """A byte token's box text is drawn at the box's own size (≥ the pixel floor at 1080p)."""
    tb = TokenBoxes([" \\xe6", "\\xb8", "度"], font_size=22)
    for body in tb.bodies:
        assert digit_px(font_size_of(body)) >= MIN_TEXT_PX
    assert [b.text for b in tb.bodies] == ["⟨E6⟩", "⟨B8⟩", "度"]


def test_temperature_label_is_what_the_bars_use(tmp_path):
    """Mid-sweep, the label's T is the T the bars are computed at (issue: 'T = 1' over
    bars at T = 1.03)."""
    class Sweep(SoftmaxTemperatureScene):
        model = "smollm2"
        beats = ("beat_logits", "beat_softmax")

    with tempconfig({"dry_run": True, "disable_caching": True, "media_dir": str(tmp_path),
                     "quality": "low_quality", "verbosity": "ERROR"}):
        scene = Sweep(skip_animations=True)
        scene.render()
    scene.follow()
    for T in (1.0312, 1.953, 0.1049, 4.9871):
        scene.tracker.set_value(float(np.log10(T)))
        for m in (scene.bars, scene.rest_bar, scene.pointer, scene.t_text):
            m.update(0)
        label = scene.t_text.text
        assert label.startswith("T = ")
        shown = float(label[4:])
        assert shown == pytest.approx(T, rel=5e-3)          # three significant digits
        assert np.allclose(scene.bars.values, scene.shown_probs(shown))
        assert scene.bars.values[0] != pytest.approx(scene.shown_probs(1.0)[0], abs=1e-4) \
            or shown == 1.0
