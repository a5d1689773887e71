"""Reading time (issue 20): every caption of every scene stays fully visible (faded in, not
yet fading out) for at least max(1.5 s, characters ÷ 15) — scenes.kit.subtitles.reading_time
— for both model families, at the default prompt and a long one; ``pace`` scales it.

The cues are read from the scene's CaptionTimeline after a run with animations skipped
(scene time still advances by every animation's run time, so the cue times are those of
the video; nothing is drawn or encoded).
"""
from __future__ import annotations

import importlib

import pytest
from manim import Circle, Create, FadeOut, tempconfig

from scenes.kit.scene import GPTScene, clear
from scenes.kit.subtitles import CaptionTimeline, Cue, reading_time, too_fast

pytestmark = pytest.mark.usefixtures("shared_traces")

SCENES = ("tokenization", "embedding", "transformer", "embedding_space", "attention", "mlp",
          "logit_lens", "softmax_temperature", "unembedding", "generation", "kv_cache")
#: knobs that keep a run quick without changing how captions are timed
QUICK = {"generation": {"steps": 2}, "softmax_temperature": {"steps": 1}}
#: a long prompt (32 tokens with SmolLM2's tokenizer); kv_cache draws at most 7 tokens
LONG = ("The old lighthouse keeper climbed the winding stairs every evening, lit the great "
        "lamp, and watched the ships pass safely through the narrow channel between rocks")


def scene_class(name: str) -> type:
    mod = importlib.import_module(f"scenes.{name}")
    (cls,) = [c for c in vars(mod).values() if isinstance(c, type) and issubclass(c, GPTScene)
              and c.__module__ == mod.__name__]
    return cls


def drawn_texts(scene: GPTScene) -> list[tuple[str, str | None]]:
    """(string, fill colour) of every text on screen (texts made by scenes.kit.text)."""
    out = []
    for m in scene.get_mobject_family_members():
        s = getattr(m, "text", None)
        if isinstance(s, str) and s.strip():
            try:
                colour = m.get_fill_color().to_hex() if len(m.points) else None
            except Exception:
                colour = None
            out.append((s, colour))
    return out


RUNS: dict[tuple, tuple[list[Cue], GPTScene]] = {}


def run_cues(cls: type, **knobs) -> tuple[list[Cue], GPTScene]:
    """The caption cues of ``cls`` run with ``knobs``, animations skipped; the scene keeps
    ``.drawn`` (what :func:`drawn_texts` saw at the end of each beat). Cached per process
    (tests/test_glossary.py reads the same runs)."""
    key = (cls, tuple(sorted((k, str(v)) for k, v in knobs.items())))
    if key in RUNS:
        return RUNS[key]
    drawn: list[tuple[str, str | None]] = []

    def end_beat(self, name: str) -> None:
        drawn.extend(drawn_texts(self))
        cls.end_beat(self, name)

    sub = type(cls.__name__, (cls,), {**knobs, "end_beat": end_beat})
    with tempconfig({"dry_run": True, "disable_caching": True, "quality": "low_quality",
                     "verbosity": "ERROR", "progress_bar": "none"}):
        scene = sub(skip_animations=True)
        scene.render()
    scene.drawn = drawn
    RUNS[key] = scene._timeline.cues, scene
    return RUNS[key]


def _check(cues: list[Cue], scene: GPTScene, pace: float = 1.0) -> None:
    assert cues, "no captions"
    assert float(scene.renderer.time) >= cues[-1].end - 1e-6 > 0  # time advanced
    for c in cues:
        assert c.full is not None and c.start - 1e-6 <= c.full[0] <= c.full[1] <= c.end + 1e-6
    assert all(a.end <= b.start + 1e-6 for a, b in zip(cues, cues[1:]))  # one at a time
    assert too_fast(cues, pace) == []


# ---------------------------------------------------------------------- the rule itself
def test_reading_time_rule():
    assert reading_time("Hi") == 1.5
    assert reading_time("x" * 90) == pytest.approx(6.0)
    assert reading_time("a   b") == reading_time("a b")
    assert reading_time("x" * 90, pace=0.8) == pytest.approx(4.8)
    late = [Cue(0, 2.0, "x" * 45, (0.3, 1.9))]          # 1.6 s visible, needs 3 s
    assert len(too_fast(late)) == 1 and too_fast([Cue(0, 4, "x" * 45, (0.3, 3.5))]) == []


def test_timeline_records_fully_visible_span():
    t = [0.0]
    tl = CaptionTimeline(None, now=lambda: t[0])
    tl.show("a"); t[0] = 0.4; tl.settled(); t[0] = 2.0; tl.leaving(); t[0] = 2.3; tl.hide()
    tl.show("b"); t[0] = 3.0; tl.end()
    assert tl.cues == [Cue(0.0, 2.3, "a", (0.4, 2.0)), Cue(2.3, 3.0, "b", (2.3, 3.0))]


class _Quick(GPTScene):
    """Captions replaced at once, faded out by clear and by a scene's own FadeOut."""

    model = "smollm2"
    beats = ("beat_a",)

    def load_trace(self, prompt=None):
        return None

    def beat_a(self):
        c = Circle()
        self.show_caption("A short one.")
        self.show_caption("A caption of exactly sixty characters, so it needs 4 seconds")
        self.play(Create(c), run_time=0.5)
        self.show_caption("Gone by clear.")
        clear(self)
        self.show_caption("Gone by the scene's own FadeOut of it.")
        self.play(FadeOut(self._caption), run_time=0.3)
        self.show_caption("Removed outright.")
        self.remove(self._caption)
        self.show_caption("The last one waits for the end of the scene.")


@pytest.mark.parametrize("pace", [1.0, 0.8])
def test_every_way_a_caption_leaves_waits(pace):
    cues, scene = run_cues(_Quick, pace=pace)
    assert [c.text for c in cues][:2] == ["A short one.", "A caption of exactly sixty "
                                          "characters, so it needs 4 seconds"]
    assert len(cues) == 6
    _check(cues, scene, pace)
    if pace == 1.0:
        assert cues[1].visible == pytest.approx(4.0, abs=0.02)  # no longer than needed
    else:
        assert cues[1].visible == pytest.approx(3.2, abs=0.02)
        assert too_fast(cues, 1.0)                  # a faster cut is below the 1.0 rule


# ---------------------------------------------------------------------- every scene
@pytest.mark.parametrize("name", SCENES)
def test_captions_readable_bundled(name):
    cues, scene = run_cues(scene_class(name), model="smollm2", **QUICK.get(name, {}))
    _check(cues, scene)


@pytest.mark.parametrize("name", SCENES)
def test_captions_readable_gpt2(name, tiny_gpt2_dir):
    cues, scene = run_cues(scene_class(name), model=str(tiny_gpt2_dir), **QUICK.get(name, {}))
    _check(cues, scene)


@pytest.mark.parametrize("name", SCENES)
def test_captions_readable_long_prompt(name):
    prompt = LONG
    if scene_class(name)._max_prompt_tokens is not None:   # (kv_cache: 7)
        prompt = "The old lighthouse keeper climbed the"
    cues, scene = run_cues(scene_class(name), model="smollm2", prompt=prompt,
                           **QUICK.get(name, {}))
    _check(cues, scene)
