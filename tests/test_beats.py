"""Beats compose: every story scene renders with any single beat alone and with its beats
reversed (what a beat needs is built silently), an order that cannot work is refused by the
course check in one line, and one render leaves no state behind for the next."""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
from manim import config, tempconfig

from scenes.kit.course import config as C
from scenes.kit.course.discover import discover
from scenes.kit.course.knobs import beat_needs, order_problem
from scenes.kit.course.validate import scene_values
from scenes.kit.theme import THEME, Theme
from tensors import UserError

pytestmark = pytest.mark.usefixtures("shared_traces")

ENTRIES, _ERRORS = discover()
SCENES = {e.id: e.cls for e in ENTRIES}


@pytest.fixture(autouse=True)
def _no_course(monkeypatch):
    monkeypatch.setenv(C.ENV_VAR, "none")


def render(cls, beats, media, **cfg):
    """Construct the scene with only ``beats`` (animations skipped: the same mobjects and
    numbers, much faster than playing them)."""
    sub = type(cls.__name__, (cls,), {"beats": tuple(beats), "__module__": cls.__module__})
    with tempconfig({"dry_run": True, "media_dir": str(media), "quality": "low_quality",
                     "progress_bar": "none", "verbosity": "WARNING", **cfg}):
        scene = sub(skip_animations=True)
        scene.render()
    return scene


def test_every_story_scene_is_found():
    assert not _ERRORS
    assert list(SCENES) == ["tokenization", "embedding", "transformer", "embedding_space",
                            "attention", "mlp", "logit_lens", "softmax_temperature",
                            "unembedding", "generation", "kv_cache"]


@pytest.mark.parametrize("scene_id", list(SCENES))
def test_each_beat_alone_and_all_reversed_render(scene_id, tmp_path):
    cls = SCENES[scene_id]
    orders = [[b] for b in cls.beats] + [list(cls.beats)[::-1]]
    for order in orders:
        assert order_problem(cls, order) is None
        scene = render(cls, order, tmp_path)
        assert list(scene.beat_times) == order
        # what each beat needs was on screen when it ran, and something is on screen now
        assert scene.mobjects, (scene_id, order)


@pytest.mark.parametrize("scene_id", list(SCENES))
def test_every_need_has_a_builder(scene_id):
    cls = SCENES[scene_id]
    for b in cls.beats:
        for need in beat_needs(cls, b):
            assert callable(getattr(cls, f"build_{need}", None)), (scene_id, b, need)


# ---------------------------------------------------------------- an order that cannot work
ORDERED = '''
from manim import Circle, Create, FadeOut
from scenes.kit.scene import GPTScene, beat


class Ordered(GPTScene):
    config_section = "ordered"
    model = "smollm2"
    beats = ("beat_draw", "beat_erase")

    @beat(makes=("circle",))
    def beat_draw(self):
        self.circle = Circle()
        self.play(Create(self.circle))

    @beat(needs=("circle",))            # no build_circle: only beat_draw makes it
    def beat_erase(self):
        self.play(FadeOut(self.circle))
'''


def test_an_order_without_a_builder_is_refused_in_one_line(tmp_path):
    path = tmp_path / "ordered.py"
    path.write_text(ORDERED)
    entries, errors = discover([path])
    assert not errors
    cls = next(e.cls for e in entries if e.class_name == "Ordered")
    assert order_problem(cls, ["beat_draw", "beat_erase"]) is None
    msg = order_problem(cls, ["beat_erase", "beat_draw"])
    assert msg == "beat_erase needs circle, which only beat_draw makes: put beat_draw before it"
    bad = tmp_path / "bad.toml"
    bad.write_text('[ordered]\nbeats = ["beat_erase"]\n')
    with pytest.raises(UserError) as e:
        scene_values(C.load_course(bad), cls)
    assert "[ordered] beats = ['beat_erase'] — must be" in str(e.value)
    assert "beat_erase needs circle" in str(e.value) and "\n" not in str(e.value)
    r = subprocess.run([sys.executable, "-m", "scenes.kit.course", "check", str(bad),
                        "--scenes", str(path)], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "put beat_draw before it" in r.stderr


# ---------------------------------------------------------------- no leaking state
def _last_frame(cls, beats, media) -> np.ndarray:
    sub = type(cls.__name__, (cls,), {"beats": tuple(beats), "__module__": cls.__module__})
    with tempconfig({"media_dir": str(media), "quality": "low_quality", "save_last_frame": True,
                     "write_to_movie": False, "progress_bar": "none", "verbosity": "WARNING"}):
        scene = sub()
        scene.render()
        return np.array(scene.renderer.get_frame())


def test_a_render_leaves_no_state_for_the_next(tmp_path, monkeypatch):
    tok = SCENES["tokenization"]
    alone = _last_frame(tok, ["beat_text"], tmp_path / "a")
    # attention turns manim's cache off for itself; a course changes the theme
    course = tmp_path / "course.toml"
    course.write_text('[theme]\nbackground = "#FFFFFF"\ntext = "#000000"\n')
    monkeypatch.setenv(C.ENV_VAR, str(course))
    caching, theme = config.disable_caching, dataclasses.asdict(THEME)
    other = _last_frame(SCENES["attention"], ["beat_tokens"], tmp_path / "b")
    assert other[5, 5, :3].tolist() == [255, 255, 255]     # the course's theme was used
    assert config.disable_caching == caching                # … and both were put back
    assert dataclasses.asdict(THEME) == theme == dataclasses.asdict(Theme())
    monkeypatch.setenv(C.ENV_VAR, "none")
    after = _last_frame(tok, ["beat_text"], tmp_path / "c")
    assert np.array_equal(alone, after)
