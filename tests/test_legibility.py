"""Legibility of every beat (issue 12) and long prompts (issue 11): at the end of each beat
no text is under the size floor, no two texts/boxes overlap, nothing leaves the frame —
at the default prompt and at prompts of 1, 12, 40 and 200 tokens (the scene's busiest beat
and its last). Animations are skipped (scenes.kit.checks), traces are shared.

Add a scene by its file name to SCENES (and its busiest beat to BUSIEST).
"""
from __future__ import annotations

import importlib

import pytest
from manim import VGroup

from scenes.kit.checks import check_beats, check_mobjects, digit_px
from scenes.kit.scene import GPTScene
from scenes.kit.text import num_text
from scenes.kit.theme import DIGIT_PX_PER_SIZE, MIN_SIZE, MIN_TEXT_PX, THEME
from tensors import trace

pytestmark = pytest.mark.usefixtures("shared_traces")

#: scenes checked, by file name in scenes/
SCENES = ("tokenization", "embedding", "transformer", "embedding_space", "attention", "mlp",
          "logit_lens", "softmax_temperature", "unembedding", "generation", "kv_cache")
#: the beat with the most on screen, per scene
BUSIEST = {"tokenization": "beat_vocab", "softmax_temperature": "beat_sweep",
           "unembedding": "beat_unembed", "generation": "beat_steps",
           "attention": "beat_softmax", "embedding": "beat_lookup",
           "embedding_space": "beat_analogy", "transformer": "beat_counts", "mlp": "beat_rows",
           "logit_lens": "beat_grid", "kv_cache": "beat_step"}
#: knobs that keep a check quick without changing the layout
QUICK = {"generation": {"steps": 2}, "softmax_temperature": {"steps": 1}}
LENGTHS = (1, 12, 40, 200)
#: scenes that refuse longer prompts with a one-line error (kv_cache: one row per token)
MAX_TOKENS = {"kv_cache": 7}
TEXT = ("The old lighthouse keeper climbed the winding stairs every evening, lit the great "
        "lamp, and watched the ships pass safely through the narrow channel between the "
        "rocks while the wind howled over the cliffs and the waves broke against the harbour "
        "wall, until one winter night a small boat appeared without lights, drifting toward "
        "the reef, and he ran down to the shore with a lantern to warn the sailors aboard. ")


def scene_class(name: str) -> type:
    mod = importlib.import_module(f"scenes.{name}")
    (cls,) = [c for c in vars(mod).values() if isinstance(c, type) and issubclass(c, GPTScene)
              and c.__module__ == mod.__name__]
    return cls


def prompt_of(n: int) -> str:
    """A prompt the bundled model reads as exactly ``n`` tokens."""
    t = trace("The", "smollm2", quiet=True)
    ids = t.encode(TEXT * (1 + n // 60))[:n]
    text = t.tokenizer.decode(ids)
    assert len(t.encode(text)) == n
    return text


def test_checker_finds_what_it_should():
    a, b = num_text("12", 20), num_text("34", 20)
    assert [p.split(":")[0] for p in check_mobjects([VGroup(a, b)])] == ["overlap"]
    b.next_to(a, buff=0.1)
    assert check_mobjects([VGroup(a, b)]) == []
    a.scale(0.5)                                         # 10 pt: under the floor
    assert [p.split(":")[0] for p in check_mobjects([a])] == ["size"]
    c = num_text("56", 20).move_to([8.0, 0, 0])          # off the right edge
    assert [p.split(":")[0] for p in check_mobjects([c])] == ["frame"]
    assert digit_px(THEME.small_size) >= MIN_TEXT_PX


def test_one_floor():
    """The smallest size drawn (theme.MIN_SIZE) is the pixel floor the checker applies."""
    assert digit_px(MIN_SIZE) >= MIN_TEXT_PX
    assert digit_px(MIN_SIZE - 1) < MIN_TEXT_PX             # and not a looser one
    assert digit_px(1.0) == pytest.approx(DIGIT_PX_PER_SIZE, rel=0.01)


@pytest.mark.parametrize("name", SCENES)
def test_every_beat_is_legible(name):
    report = check_beats(scene_class(name), model="smollm2", **QUICK.get(name, {}))
    assert list(report) == list(scene_class(name).beats)
    assert {beat: p for beat, p in report.items() if p} == {}


@pytest.mark.parametrize("name", SCENES)
def test_legible_with_gpt2_shapes(name, tiny_gpt2_dir):
    report = check_beats(scene_class(name), model=str(tiny_gpt2_dir), **QUICK.get(name, {}))
    assert {beat: p for beat, p in report.items() if p} == {}


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("name", SCENES)
def test_long_prompts(name, n):
    if n > MAX_TOKENS.get(name, n):
        pytest.skip(f"{name} draws at most {MAX_TOKENS[name]} tokens (a longer prompt is "
                    "refused in one line: tests/test_stack_scenes.py)")
    cls = scene_class(name)
    beats = tuple(dict.fromkeys([BUSIEST[name], cls.beats[-1]]))
    prompt = prompt_of(n)
    report = check_beats(cls, model="smollm2", prompt=prompt, beats=beats,
                         **QUICK.get(name, {}))
    assert len(report.scene.trace.tokens) == n
    assert {beat: p for beat, p in report.items() if p} == {}
