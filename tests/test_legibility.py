"""Legibility of every beat (issue 12), of the frames inside the animations (issue 20) and
of long prompts (issue 11): at the end of each beat no text is under the size floor, no two
texts/boxes overlap, nothing leaves the frame — at the default prompt and at prompts of 1,
12, 40 and 200 tokens (the scene's busiest beat and its last). Inside the animations (every
¼ s of video and both ends of each, scenes.kit.frame_checks.check_frames) the same rules plus
lines across text and contrast, with no finding in any scene of either family (the ratchet
file that listed the open findings reached zero everywhere and is gone). Animations are
skipped, each scene is rendered once per session (tests/conftest.py: scene_runs).

Add a scene by its file name to SCENES (and its busiest beat to BUSIEST).
"""
from __future__ import annotations

import importlib

import pytest
from manim import ORIGIN, RIGHT, VGroup, config

from scenes.kit.checks import check_beats, check_mobjects, digit_px
from scenes.kit.scene import GPTScene
from scenes.kit.text import num_text
from scenes.kit.theme import DIGIT_PX_PER_SIZE, MIN_SIZE, MIN_TEXT_PX, THEME
from tensors import trace

try:
    from conftest import scene_param
except ImportError:          # run as a module: python -m tests.test_legibility
    from tests.conftest import scene_param

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
#: the two model families every scene is checked with (bundled SmolLM2, GPT-2-shaped)
FAMILIES = ("bundled", "gpt2")
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


def test_checker_finds_lines_and_contrast():
    """The two rules of the frames inside animations, and the sampling times."""
    from manim import Line, Rectangle

    from scenes.kit.frame_checks import sample_times
    from scenes.kit.theme import contrast_ratio

    dim = num_text("12", 20, "#333333")                              # 1.5:1 on the background
    assert [p.split(":")[0] for p in check_mobjects([dim], full=True)] == ["contrast"]
    assert check_mobjects([dim]) == []                                # only with full=True
    box = Rectangle(width=2, height=1, fill_color="#FFFFFF", fill_opacity=1, stroke_width=0)
    light = num_text("12", 20, "#EEEEEE")
    assert [p.split(":")[0] for p in check_mobjects([VGroup(box, light)], full=True)] == ["contrast"]
    dark = num_text("12", 20, "#111111")                             # readable on the white box
    assert check_mobjects([VGroup(box.copy(), dark)], full=True) == []
    crossed = VGroup(num_text("34", 20), Line([-1, 0, 0], [1, 0, 0]))
    assert [p.split(":")[0] for p in check_mobjects([crossed], full=True)] == ["line"]
    assert sample_times(0.9, 0.7) == [0.0, 0.1, 0.35, 0.6, 0.7]
    assert contrast_ratio("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)


def test_checker_ignores_a_line_of_no_length():
    """A stroke collapsed to one point draws nothing (an axis that Create is about to draw,
    at the play's first frame): it crosses no text. The same line with its length does."""
    from manim import Create, Line

    text = num_text("34", 20)
    line = Line([-1, 0, 0], [1, 0, 0])
    start = Create(line)
    start.begin()
    start.interpolate(0.0)                  # all its points where the stroke will start
    assert float(abs(line.points[:, 0].max() - line.points[:, 0].min())) < 1e-9
    assert check_mobjects([VGroup(text, line.move_to(text))], full=True) == []
    start.interpolate(1.0)
    assert [p.split(":")[0] for p in check_mobjects([VGroup(text, line.move_to(text))],
                                                    full=True)] == ["line"]


def test_checker_sees_through_a_zoomed_camera():
    """Through a 2D camera zoomed 2× (scenes.kit.camera.FrameZoom) a text is as large as it
    is on screen, and what lies outside the view is not on screen at all."""
    from types import SimpleNamespace

    from manim.camera.moving_camera import MovingCamera

    from scenes.kit.checks import check_scene

    small = num_text("12", MIN_SIZE / 1.6)              # under the floor at full view
    away = VGroup(num_text("34", 20), num_text("56", 20)).move_to([5.5, 3.0, 0])  # overlap
    cam = MovingCamera()
    scene = SimpleNamespace(camera=cam, mobjects=[small, away])
    assert sorted(p.split(":")[0] for p in check_scene(scene)) == ["overlap", "size"]
    cam.frame.set(width=cam.frame.width / 2).move_to(small)
    assert check_scene(scene) == []                      # 2× on screen; the pair out of view
    small.shift(cam.frame.width / 2 * RIGHT)             # cropped by the close-up's edge
    assert check_scene(scene) == []
    cam.frame.set(width=config.frame_width).move_to(ORIGIN)
    assert "frame" not in " ".join(check_scene(scene))   # whole stage: inside the frame
    small.shift(4 * RIGHT)
    assert "frame" in " ".join(check_scene(scene))       # off the stage's edge


def _fading_scene(start: float, run_time: float, to: float) -> type:
    """A scene whose marginal number (muted ink on a masked cell, about 5:1) fades from full
    to opacity ``to`` as a cross-fade does (the text is not the animation's mobject),
    starting ``start`` s into the video."""
    from manim import Scene, Square, UpdateFromAlphaFunc
    from manim.utils.rate_functions import linear

    from scenes.kit.theme import muted_on

    class Fading(Scene):
        def construct(self) -> None:
            cell = Square(1.5, fill_color=THEME.masked, fill_opacity=1, stroke_width=0)
            t = num_text("0.25", MIN_SIZE, muted_on(THEME.masked))
            self.add(cell, t)
            self.wait(start)
            self.play(UpdateFromAlphaFunc(VGroup(), lambda _, a: t.set_opacity(1 - (1 - to) * a),
                                          rate_func=linear), run_time=run_time)

    return Fading


def test_a_fade_starting_between_samples():
    """A quick fade that began just before a sample (its first step small) is in transition;
    a slow one is still asked to be read from its next sample on."""
    from scenes.kit.frame_checks import check_frames

    quick = check_frames(_fading_scene(0.2, 0.4, 0.0))      # at 0.25 s: 88 %, then 25 %
    assert quick.distinct() == {}, quick.summary()
    slow = check_frames(_fading_scene(0.2, 3.0, 0.3))       # 2.3 % a sample
    assert "contrast" in slow.distinct(), slow.summary()


def test_one_floor():
    """The smallest size drawn (theme.MIN_SIZE) is the pixel floor the checker applies."""
    assert digit_px(MIN_SIZE) >= MIN_TEXT_PX
    assert digit_px(MIN_SIZE - 1) < MIN_TEXT_PX             # and not a looser one
    assert digit_px(1.0) == pytest.approx(DIGIT_PX_PER_SIZE, rel=0.01)


@pytest.mark.parametrize("name", [scene_param(n) for n in SCENES])
def test_every_beat_is_legible(name, scene_runs):
    report = scene_runs(name, "bundled", **QUICK.get(name, {})).beats
    assert list(report) == list(scene_class(name).beats)
    assert {beat: p for beat, p in report.items() if p} == {}


@pytest.mark.parametrize("name", [scene_param(n) for n in SCENES])
def test_legible_with_gpt2_shapes(name, scene_runs):
    report = scene_runs(name, "gpt2", **QUICK.get(name, {})).beats
    assert {beat: p for beat, p in report.items() if p} == {}


@pytest.mark.parametrize("name,family", [scene_param(n, f) for n in SCENES for f in FAMILIES])
def test_frames_inside_animations(name, family, scene_runs):
    """Every ¼ s of video and both ends of each animation: no finding of any kind
    (overlap, line, frame, size, contrast)."""
    r = scene_runs(name, family, **QUICK.get(name, {}))
    assert r.seconds == pytest.approx(float(r.scene.renderer.time), abs=0.01)  # all covered
    assert r.frames >= 4 * (r.seconds - r.still) * 0.9                         # ¼ s apart
    assert not r.distinct(), f"{name}/{family}: {r.distinct()}\n{r.summary()}"


@pytest.mark.parametrize("name,n", [scene_param(s, n) for s in SCENES for n in LENGTHS])
def test_long_prompts(name, n):
    limit = scene_class(name)._max_prompt_tokens      # a longer prompt is refused
    if limit is not None and n > limit:
        pytest.skip(f"{name} draws at most {limit} tokens (a longer prompt is "
                    "refused in one line: tests/test_stack_scenes.py)")
    cls = scene_class(name)
    beats = tuple(dict.fromkeys([BUSIEST[name], cls.beats[-1]]))
    prompt = prompt_of(n)
    report = check_beats(cls, model="smollm2", prompt=prompt, beats=beats,
                         **QUICK.get(name, {}))
    assert len(report.scene.trace.tokens) == n
    assert {beat: p for beat, p in report.items() if p} == {}
