"""Held frames converted once (scenes/kit/encoding.py) give the same video as manim's own path."""
from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from manim._config.video_encoder import VideoEncoderSpec
from manim.scene.video_segment_encoder import VideoSegmentEncoder

from scenes.kit import encoding


def _spec(w: int, h: int) -> VideoEncoderSpec:
    opts = {"crf": "23", "preset": encoding.ENCODER_PRESET}
    return VideoEncoderSpec("mp4", "libx264", "yuv420p", w, h, Fraction(60), tuple(sorted(opts.items())))


def _frames(w: int, h: int) -> list[np.ndarray]:
    """Two different busy RGBA frames (gradients + blocks: chroma subsampling matters)."""
    rng = np.random.default_rng(7)
    out = []
    for k in range(2):
        img = np.zeros((h, w, 4), np.uint8)
        img[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
        img[..., 1] = np.linspace(255, 0, h, dtype=np.uint8)[:, None]
        img[h // 4: h // 2, w // 5: w // 2, :3] = rng.integers(0, 256, (h // 2 - h // 4, w // 2 - w // 5, 3))
        img[..., 2] = 40 * k
        img[..., 3] = 255
        out.append(img)
    return out


def _encode(write, path: Path, w: int, h: int) -> None:
    enc = VideoSegmentEncoder(target=path, spec=_spec(w, h))
    a, b = _frames(w, h)
    for pixels, repeat in ((a, 1), (a, 45), (b, 1), (b, 30), (a, 2)):
        write(enc, pixels, repeat=repeat)
    enc.finish()


def _decoded(path: Path) -> list[str]:
    with av.open(str(path)) as c:
        return [hashlib.sha256(f.to_ndarray(format="rgb24").tobytes()).hexdigest() for f in c.decode(video=0)]


@pytest.mark.parametrize("w,h", [(320, 180), (1920, 1080)])
def test_held_frames_converted_once_decode_to_manims_frames(tmp_path, w, h):
    _encode(encoding._manim_write_frame, tmp_path / "manim.mp4", w, h)
    _encode(encoding._write_frame, tmp_path / "ours.mp4", w, h)
    ours, theirs = _decoded(tmp_path / "ours.mp4"), _decoded(tmp_path / "manim.mp4")
    assert len(ours) == 1 + 45 + 1 + 30 + 2
    assert ours == theirs   # frame for frame (x264 refines a held frame: not all equal)


def test_a_scene_installs_it():
    from scenes.kit.scene import GPTScene

    GPTScene()
    assert VideoSegmentEncoder.write_frame is encoding._write_frame
