"""One notation, one colour meaning (issue 20, item 5): what every scene draws — each text
on screen at the end of each beat, with its colour, and every caption — is checked against
the glossary (scenes/kit/glossary.py): subscripted symbols must be in it, drifting spellings
(norm(x), W_Uᵀ, z for logits, × g …) are refused, a symbol drawn as a label of its own is in
its concept's colour. Both families. The README prints the glossary's table."""
from __future__ import annotations

from pathlib import Path

import pytest

from scenes.kit.glossary import GLOSSARY, markdown_table, notation_problems
from scenes.kit.theme import THEME
from test_reading_time import QUICK, SCENES, run_cues, scene_class

pytestmark = pytest.mark.usefixtures("shared_traces")


def test_checker_catches_drift():
    assert notation_problems([("W_U·norm(x)", None)])
    assert notation_problems([("logit z", None)])
    assert notation_problems([("x̂ = x ÷ rms(x) × g", None)])
    assert notation_problems([("W_Z = 3", None)])                 # not a glossary symbol
    assert notation_problems([("q", THEME.key)])                  # q in the key's colour
    assert notation_problems([("q", THEME.query), ("x̂·W_U", None), ("d_head", THEME.dim)]) == []


def test_readme_prints_the_glossary():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, "README's glossary is stale: paste markdown_table()"
    assert len({t.symbol for t in GLOSSARY}) == len(GLOSSARY)     # one meaning per symbol


def _texts(scene) -> list[tuple[str, str | None]]:
    return scene.drawn + [(c.text, None) for c in scene._timeline.cues]


@pytest.mark.parametrize("name", SCENES)
def test_scene_notation_bundled(name):
    _, scene = run_cues(scene_class(name), model="smollm2", **QUICK.get(name, {}))
    assert notation_problems(_texts(scene)) == []


@pytest.mark.parametrize("name", SCENES)
def test_scene_notation_gpt2(name, tiny_gpt2_dir):
    _, scene = run_cues(scene_class(name), model=str(tiny_gpt2_dir), **QUICK.get(name, {}))
    assert notation_problems(_texts(scene)) == []
