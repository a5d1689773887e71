"""How rendered frames become video: the x264 preset, and held frames converted once.

Two things make our renders cheaper than manim's defaults without changing a decoded frame:

- :data:`ENCODER_PRESET` — x264 'ultrafast' for the mp4 segments (the user's own
  ``--encoder-option preset=…`` wins).
- :func:`convert_held_frames_once` — a held frame (``self.wait()`` on a still scene; manim
  hands the encoder one RGBA array with ``repeat=n``) is converted RGBA → the encoder's
  pixel format once, not n times; and no frame is copied into PyAV (it wraps the array). Manim 0.22 builds a new ``av.VideoFrame`` and lets PyAV
  reformat it for every repeat; the conversion is most of the cost of a held frame
  (measured: 10 s held at 1080p60, 6.9 s → 1.8 s), and half of a lecture's video is
  held frames. The conversion is the same swscale call PyAV makes itself, so the
  packets are identical (tests/test_encoding.py decodes both and compares).
"""
from __future__ import annotations

import os
from fractions import Fraction
from typing import Any

import av
from manim import config
from manim.scene.video_segment_encoder import VideoSegmentEncoder

__all__ = ["ENCODER_PRESET", "use_fast_encoder", "convert_held_frames_once"]

#: x264 preset for the mp4 segments unless the user passes ``--encoder-option preset=…``.
#: 'ultrafast' encodes 1080p60 about 2.3× faster than x264's default 'medium' at the same
#: quality target (manim's crf 23); the files are larger (~1 MB per 10 s at 1080p60).
ENCODER_PRESET = "ultrafast"

_preset_added = False


def use_fast_encoder() -> None:
    """Apply :data:`ENCODER_PRESET` to manim's config when the segments are plain H.264
    (and take it back off for a later transparent/webm render in the same process)."""
    global _preset_added
    opts = dict(config.video_encoder_options)
    h264 = config.video_codec in ("auto", "libx264") and not config.transparent and \
        config.format in ("auto", "mp4", "gif")
    if h264 and "preset" not in opts:
        config.video_encoder_options = {**opts, "preset": ENCODER_PRESET}
        _preset_added = True
    elif not h264 and _preset_added and opts.get("preset") == ENCODER_PRESET:
        del opts["preset"]
        config.video_encoder_options = opts
        _preset_added = False


_manim_write_frame = VideoSegmentEncoder.write_frame


def _write_frame(self: VideoSegmentEncoder, pixels: Any, *, repeat: int = 1) -> None:
    """Manim's ``VideoSegmentEncoder.write_frame``, without copying the frame and with a
    repeated frame converted once."""
    self._validate_frame(pixels, repeat)
    cc = self._stream.codec_context
    time_base = Fraction(self.spec.frame_rate.denominator, self.spec.frame_rate.numerator)
    try:
        # the frame wraps ``pixels`` (manim hands the encoder ownership of the array: no
        # copy; manim's from_ndarray copies 8 MB per 1080p frame), converted by encode()
        frame = av.VideoFrame.from_numpy_buffer(pixels, format="rgba")
        if repeat > 1:  # the conversion encode() would make for every repeat, made once
            frame = frame.reformat(width=cc.width, height=cc.height, format=cc.format.name)
        for _ in range(repeat):
            frame.pts = self._next_pts          # the encoder keeps its own reference
            frame.time_base = time_base
            self._next_pts += 1
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
    except BaseException as error:
        raise self._operation_error("encode", error) from error


#: Set to ``manim`` to keep manim's own held-frame path: the baseline of
#: ``scripts/bench_render.py`` mode ``0`` (side-by-side figures), not a lecturer's setting.
BASELINE_ENV = "GPT_SCENES_HELD_FRAMES"


def convert_held_frames_once() -> None:
    """Install :func:`_write_frame` on manim's segment encoder (idempotent).

    >>> convert_held_frames_once(); VideoSegmentEncoder.write_frame is _write_frame
    True
    """
    baseline = os.environ.get(BASELINE_ENV) == "manim"
    VideoSegmentEncoder.write_frame = (  # type: ignore[method-assign]
        _manim_write_frame if baseline else _write_frame)
