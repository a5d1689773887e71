"""Scenes that scale with the prompt (issue 25): the pieces' fitting rules cost what is
shown, not the prompt's length, and give the same layout as measuring every token."""
from __future__ import annotations

import numpy as np
import pytest

from scenes.kit.analysis.lens import AtPositions, lens_all
from scenes.kit.pieces import tokens as tokens_mod
from scenes.kit.pieces.tokens import TokenBoxes
from tensors import trace

WORDS = (" It was the best of times, it was the worst of times, it was the age of wisdom, "
         "it was the age of foolishness").split(" ")


def tokens_of(n: int) -> list[str]:
    return [(" " if i else "") + WORDS[1 + i % (len(WORDS) - 1)] for i in range(n)]


def reference_shown(toks: list[str], max_width: float, max_rows: int, keep: str) -> range:
    """The fitting rule, measuring every token's box first (the rule as stated)."""
    widths = [TokenBoxes([s], max_width=None).boxes[0].width for s in toks]
    buff, fs, n = 0.08, None, len(toks)

    def fits(ws: list[float]) -> bool:
        rows, x = 1, 0.0
        for w in ws:
            if x > 0 and x + w > max_width:
                rows, x = rows + 1, 0.0
            x += w + buff
        return rows <= max_rows

    if fits(widths):
        return range(n)
    from scenes.kit.theme import THEME
    fs = THEME.text_size
    order = range(n) if keep == "start" else range(n - 1, -1, -1)
    chosen: list[int] = []
    for i in order:
        w_note = TokenBoxes._note(n - len(chosen) - 1, keep, fs).width
        ws = [widths[j] for j in sorted(chosen + [i])]
        if not fits([w_note] + ws if keep == "end" else ws + [w_note]):
            break
        chosen.append(i)
    return range(min(chosen), max(chosen) + 1)


@pytest.mark.parametrize("keep", ["start", "end"])
@pytest.mark.parametrize("n,rows", [(3, 1), (40, 1), (40, 2), (90, 2)])
def test_fitting_rule_unchanged(n, rows, keep):
    toks = tokens_of(n)
    tb = TokenBoxes(toks, max_width=6.0, max_rows=rows, keep=keep)
    assert tb.shown == reference_shown(toks, 6.0, rows, keep)
    assert tb.n_rows <= rows
    assert (tb.note is None) == (len(tb.shown) == n)
    if tb.note is not None:
        assert tb.note.left_out == n - len(tb.shown)


def test_long_prompt_makes_only_what_fits(monkeypatch):
    """5,000 tokens in one row: the boxes made are those shown (and the one that did not
    fit), not one per token."""
    made = []
    real = tokens_mod.RoundedRectangle

    def counting(*a, **k):
        made.append(1)
        return real(*a, **k)

    monkeypatch.setattr(tokens_mod, "RoundedRectangle", counting)
    tb = TokenBoxes(tokens_of(5000), max_width=9.0, max_rows=1, keep="end")
    assert tb.shown.stop == 5000 and tb.note.left_out == 5000 - len(tb.shown)
    assert len(made) <= len(tb.shown) + 1


def test_lens_at_shown_positions_is_the_full_lens(tiny_gpt2_dir):
    t = trace("It was the best of times, it was the worst of times, it was the age",
              str(tiny_gpt2_dir), quiet=True)
    n = t.n_pos
    cols = list(range(n - 6, n))
    full = lens_all(t)
    some = AtPositions(lens_all(t, cols), cols, n)
    np.testing.assert_allclose(some[:, -1], full[:, -1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(some[2, cols[1:3]], full[2, cols[1:3]], rtol=1e-5, atol=1e-5)
    with pytest.raises(KeyError):
        some[0, 0]
