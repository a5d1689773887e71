"""The GPTScene frame: encoder preset default that a user can override."""
from __future__ import annotations

from manim import tempconfig

from scenes.kit.encoding import ENCODER_PRESET
from scenes.kit.scene import GPTScene


def _options(**cfg):
    with tempconfig(cfg):
        return dict(GPTScene().session_spec.video_encoder.options)


def test_fast_h264_preset_by_default_but_user_choice_wins(tmp_path):
    assert _options(media_dir=str(tmp_path))["preset"] == ENCODER_PRESET
    assert _options(media_dir=str(tmp_path), video_encoder_options={"preset": "slow"})["preset"] == "slow"
    with tempconfig({"media_dir": str(tmp_path)}):
        assert dict(GPTScene().session_spec.video_encoder.options)["preset"] == ENCODER_PRESET
        with tempconfig({"transparent": True}):  # a later transparent render, same process
            spec = GPTScene().session_spec.video_encoder
            assert spec.codec == "qtrle" and "preset" not in dict(spec.options)
