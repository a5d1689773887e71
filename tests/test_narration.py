"""Issue 15 end to end in GPTScene: every render writes <scene>.srt whose cues are the
captions for exactly as long as they are on screen; a voiced render carries AAC audio as
long as the video, each beat lasting at least as long as its speech; the speech cache."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import av
import pytest
from manim import tempconfig

from scenes.kit import voice as V
from scenes.kit.subtitles import parse_srt, video_duration

FPS = 15
SOURCE = '''
from typing import ClassVar, Sequence
from manim import Circle, Create, FadeOut
from scenes.kit.scene import GPTScene, clear


class CaptionedScene(GPTScene):
    """Three captions: replaced, replaced, then faded out with everything (clear)."""

    config_section = "captioned"
    prompt = "Hello world"
    model = {model!r}
    beats: ClassVar[Sequence[str]] = ("beat_one", "beat_two")
    captions: ClassVar[dict[str, str]] = {{
        "a": "{{n}} tokens in the prompt",
        "b": "Divided by √64 = 8",
        "c": "Step 3 → “␣Paris”",
    }}

    def caption_event(self, s):
        self.events = getattr(self, "events", [])
        super().caption_event(s)
        self.events.append(("show", s, self.time))   # after any wait for earlier speech

    def beat_one(self):
        self.circle = Circle()
        self.play(Create(self.circle), run_time=0.5)
        self.show_caption(self.caption_text("a", n=len(self.trace.tokens)), run_time=0.4)
        self.play(self.circle.animate.scale(0.5), run_time=0.6)
        self.show_caption(self.caption_text("b"), run_time=0.4)

    def beat_two(self):
        self.show_caption(self.caption_text("c"), run_time=0.4)
        self.wait(0.4)
        t0 = self.time
        clear(self, run_time=0.5)                      # the caption fades out with the rest
        self.events.append(("gone", None, self.time))
        self.wait(0.6)
'''


@pytest.fixture
def scene_cls(tmp_path, tiny_gpt2_dir, monkeypatch):
    monkeypatch.setenv("GPT_SCENES_COURSE", "none")
    path = tmp_path / "captioned.py"
    path.write_text(SOURCE.format(model=str(tiny_gpt2_dir)))
    spec = importlib.util.spec_from_file_location("captioned_scene", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["captioned_scene"] = mod
    spec.loader.exec_module(mod)
    yield mod.CaptionedScene
    sys.modules.pop("captioned_scene", None)


def render(cls: type, media: Path, name: str):
    with tempconfig({"media_dir": str(media), "pixel_height": 144, "pixel_width": 256,
                     "frame_rate": FPS, "disable_caching": True, "verbosity": "ERROR",
                     "progress_bar": "none", "output_file": name}):
        scene = cls()
        scene.render()
        return Path(scene.renderer.file_writer.movie_file_path), scene


def assert_audio_matches_video(mp4: Path, tol: float = 0.1) -> None:
    """``mp4`` has one video and one AAC audio stream, as long as each other (± ``tol`` s).
    Shared with test_render_narration.py."""
    with av.open(str(mp4)) as c:
        v, = c.streams.video
        a, = c.streams.audio
        assert a.codec_context.name == "aac"
        v_dur, a_dur = float(v.duration * v.time_base), float(a.duration * a.time_base)
    assert abs(a_dur - v_dur) < tol, (v_dur, a_dur)


def expected_cues(scene) -> list[tuple[str, float, float]]:
    out, open_ = [], None
    for kind, text, t in scene.events:
        if open_ is not None:
            out.append((open_[0], open_[1], t))
        open_ = (text, t) if kind == "show" else None
    assert open_ is None
    return out


def test_gptscene_srt_cues_are_the_captions_while_on_screen(scene_cls, tmp_path, monkeypatch):
    monkeypatch.delenv(V.ENV_ON, raising=False)
    mp4, scene = render(scene_cls, tmp_path / "media", "silent")
    cues = parse_srt(mp4.with_suffix(".srt").read_text(encoding="utf-8"))
    want = expected_cues(scene)
    assert [c.text for c in cues] == [w[0] for w in want]
    assert cues[0].text == f"{len(scene.trace.tokens)} tokens in the prompt"
    for c, (_, start, end) in zip(cues, want):
        assert abs(c.start - start) <= 1 / FPS and abs(c.end - end) <= 1 / FPS
    assert cues[-1].end < video_duration(mp4) - 0.5       # faded out before the end
    with av.open(str(mp4)) as c:
        assert not c.streams.audio                         # silent unless asked


def test_voiced_gptscene_audio_matches_video_and_speech_is_cached(scene_cls, tmp_path, monkeypatch):
    monkeypatch.setattr(V, "speech_cache_dir", lambda: tmp_path / "speech")
    V._shared_voice.cache_clear()
    monkeypatch.setenv(V.ENV_ON, "1")
    mp4, scene = render(scene_cls, tmp_path / "media", "voiced")
    voice = V.voice_from_env()
    assert voice.synthesized == 3                          # one per caption
    assert_audio_matches_video(mp4)
    # each caption stays on screen at least as long as its speech
    cues = parse_srt(mp4.with_suffix(".srt").read_text(encoding="utf-8"))
    want = expected_cues(scene)
    assert [c.text for c in cues] == [w[0] for w in want]
    for c, (_, start, end) in zip(cues, want):
        assert abs(c.start - start) <= 1 / FPS and abs(c.end - end) <= 1 / FPS
        speech = V.wav_duration(voice.cache_path(c.text))
        assert c.end - c.start >= speech - 1 / FPS, (c, speech)
    # the second render synthesises nothing (cache hit) and gives the same timing
    mp4b, _ = render(scene_cls, tmp_path / "media", "voiced2")
    assert voice.synthesized == 3
    assert abs(video_duration(mp4b) - video_duration(mp4)) < 1 / FPS
    V._shared_voice.cache_clear()


def test_bad_voice_path_is_one_line_exit_2(scene_cls, tmp_path, monkeypatch, capsys):
    V._shared_voice.cache_clear()
    monkeypatch.setenv(V.ENV_ON, "1")
    monkeypatch.setenv(V.ENV_MODEL, str(tmp_path / "nope.onnx"))
    with pytest.raises(SystemExit) as e:
        render(scene_cls, tmp_path / "media", "bad")
    assert e.value.code == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and "nope.onnx" in err[0]
    V._shared_voice.cache_clear()
