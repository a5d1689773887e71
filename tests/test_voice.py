"""Offline narration (scenes/kit/voice.py): text normalisation, Piper speech, cache, bad voices."""
from __future__ import annotations

import shutil
from pathlib import Path

import av
import pytest

from scenes.kit.voice import (Narrator, Voice, bundled_voice, check_voice, number_words,
                              speech_text, voice_from_env, wav_duration)
from tensors import UserError


# ---------------------------------------------------------------------- words
@pytest.mark.parametrize("n, words", [
    (0, "zero"), (13, "thirteen"), (20, "twenty"), (99, "ninety-nine"), (100, "one hundred"),
    (101, "one hundred one"), (1000, "one thousand"), (49152, "forty-nine thousand one hundred fifty-two"),
    (1_000_000, "one million"), (2_000_000_005, "two billion five"), (-3, "minus three"),
])
def test_number_words(n, words):
    assert number_words(n) == words


@pytest.mark.parametrize("text, spoken", [
    ('" Paris"', '"Paris"'),
    ("␣Paris and ‿Paris", "Paris and Paris"),
    ("49,152 tokens", "forty-nine thousand one hundred fifty-two tokens"),
    ("77.25 %", "seventy-seven point two five percent"),
    ("÷ 8", "divided by eight"),
    ("√64 = 8", "the square root of sixty-four equals eight"),
    ("weight × value", "weight times value"),
    ("(1,024 × 768)", "(one thousand twenty-four by seven hundred sixty-eight)"),
    ("scores become −∞", "scores become minus infinity"),
    ("x = −0.25", "x equals minus zero point two five"),
    ("x·W_Q and q_i · k_j", "x times W Q and q i dot k j"),
    ("positions 0–5", "positions zero to five"),
    ("logits → probabilities", "logits gives probabilities"),
    ("weights ≥ 0", "weights greater than or equal to zero"),
    ("PC1–PC3", "PC1 to PC3"),                       # names keep their digits
    ("1.5e-05", "one point five times ten to the minus five"),
    ("it is rank 3 of 49,152.", "it is rank three of forty-nine thousand one hundred fifty-two."),
])
def test_speech_text_english(text, spoken):
    assert speech_text(text) == spoken


def test_speech_text_other_language_leaves_numbers_to_espeak():
    # espeak-ng reads digits in the voice's own language; only the grouping comma goes
    assert speech_text("␣Paris: 49,152 Token, 77.25", "de") == "Paris: 49152 Token, 77.25"


# ---------------------------------------------------------------------- Piper speech + cache
@pytest.fixture(scope="module")
def voice(tmp_path_factory) -> Voice:
    return Voice.load(cache_dir=tmp_path_factory.mktemp("speech"))


def test_speak_writes_wav_and_second_call_is_a_cache_hit(voice):
    text = "Softmax along each row: weights ≥ 0 that sum to 1."
    before = voice.synthesized
    wav = voice.speak(text)
    assert voice.synthesized == before + 1
    secs = wav_duration(wav)
    assert 1.0 < secs < 15.0
    again = voice.speak(text)
    assert again == wav and voice.synthesized == before + 1       # no synthesis
    fresh = Voice.load(cache_dir=voice.cache_dir)                   # a new process, same cache
    assert fresh.speak(text) == wav and fresh.synthesized == 0 and fresh._piper is None


def test_cache_key_depends_on_text_and_speed(voice):
    a = voice.cache_path("Hello there.")
    assert a != voice.cache_path("Hello there, again.")
    fast = Voice.load(speed=2.0, cache_dir=voice.cache_dir)
    assert fast.cache_path("Hello there.") != a
    # a faster voice speaks the same sentence in less time
    text = "The unembedding matrix has one row per token."
    assert wav_duration(fast.speak(text)) < 0.8 * wav_duration(voice.speak(text))


def test_longer_text_longer_speech(voice):
    short = wav_duration(voice.speak("Attention."))
    long = wav_duration(voice.speak("Attention lets every token read from the tokens before it, "
                                    "weighted by how well its query matches their keys."))
    assert long > 3 * short


# ---------------------------------------------------------------------- bad voices
def _one_line_user_error(fn, *args, **kw) -> str:
    with pytest.raises(UserError) as e:
        fn(*args, **kw)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_missing_voice_file(tmp_path):
    msg = _one_line_user_error(check_voice, tmp_path / "nope.onnx")
    assert "nope.onnx" in msg and "not found" in msg


def test_missing_config(tmp_path):
    model = tmp_path / "v.onnx"
    model.write_bytes(b"x")
    assert "config" in _one_line_user_error(check_voice, model)


def test_broken_model_fails_before_rendering(tmp_path):
    model = tmp_path / "broken.onnx"
    model.write_bytes(b"this is not an onnx model" * 10)
    shutil.copy(bundled_voice()[1], tmp_path / "broken.onnx.json")
    msg = _one_line_user_error(check_voice, model)
    assert "could not be loaded" in msg and "broken.onnx" in msg


def test_broken_config(tmp_path):
    model = tmp_path / "v.onnx"
    shutil.copy(bundled_voice()[0], model)
    (tmp_path / "v.onnx.json").write_text("{not json")
    assert "not a Piper voice config" in _one_line_user_error(Voice.load, model)


@pytest.mark.parametrize("speed", [0.1, 5, "fast"])
def test_bad_speed(speed):
    _one_line_user_error(Voice.load, None, None, speed)


# ---------------------------------------------------------------------- in a real render
def test_narrated_scene_has_audio_as_long_as_video(voice, tmp_path):
    """A scene that says a caption and waits for it: the mp4 carries AAC audio, in sync."""
    from manim import Circle, Create, Scene, tempconfig

    text = "Every query dotted with every key."
    speech = wav_duration(voice.speak(text))

    class Narrated(Scene):
        def construct(self):
            n = Narrator(self, voice)
            n.say(text)
            self.play(Create(Circle()), run_time=0.5)   # shorter than the speech
            n.finish()                                   # ... so the scene waits for it
            self.play(Create(Circle()), run_time=0.5)   # silence after the speech
            n.close()

    with tempconfig({"media_dir": str(tmp_path), "pixel_height": 90, "pixel_width": 160,
                     "frame_rate": 15, "disable_caching": True, "verbosity": "ERROR",
                     "progress_bar": "none"}):
        scene = Narrated()
        scene.render()
        mp4 = Path(scene.renderer.file_writer.movie_file_path)
    with av.open(str(mp4)) as c:
        v, = c.streams.video
        a, = c.streams.audio
        assert a.codec_context.name == "aac"
        v_dur = float(v.duration * v.time_base)
        a_dur = float(a.duration * a.time_base)
    print(f"speech {speech:.3f} video {v_dur:.3f} audio {a_dur:.3f}")
    assert v_dur >= speech + 0.5                            # the speech is not cut off
    assert abs(a_dur - v_dur) < 0.05                        # audio track spans the video


def test_voice_from_env(tmp_path):
    assert voice_from_env({}) is None and voice_from_env({"GPT_SCENES_VOICE": "0"}) is None
    v = voice_from_env({"GPT_SCENES_VOICE": "1", "GPT_SCENES_VOICE_SPEED": "1.25"})
    assert v is not None and v.speed == 1.25 and v.model_path == bundled_voice()[0]
    assert voice_from_env({"GPT_SCENES_VOICE": "1", "GPT_SCENES_VOICE_SPEED": "1.25"}) is v
    msg = _one_line_user_error(voice_from_env, {"GPT_SCENES_VOICE": "1",
                                                "GPT_SCENES_VOICE_MODEL": str(tmp_path / "x.onnx")})
    assert "x.onnx" in msg
