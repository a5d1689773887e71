"""Subtitles and chapters (scenes/kit/subtitles.py), on real Manim renders."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from manim import DOWN, Circle, Create, FadeIn, FadeOut, Scene, Text, tempconfig

from scenes.kit.subtitles import (CaptionTimeline, Cue, burn_subtitles, compose_srt, compose_vtt,
                                  concat_lecture, join_srt, parse_srt, read_chapters,
                                  srt_to_vtt, video_duration, write_subtitles)

FPS = 15


class Captioned(Scene):
    """Shows captions the way GPTScene.show_caption does: fade the new one in, the old out."""

    texts: tuple[str, ...] = ()

    def construct(self):
        self.timeline = CaptionTimeline.for_scene(self)
        self.shown: list[float] = []
        old = None
        for i, text in enumerate(self.texts):
            cap = Text(text, font_size=20).to_edge(DOWN)
            self.timeline.show(text)
            self.shown.append(self.time)
            self.play(FadeIn(cap), *([FadeOut(old)] if old else []), run_time=0.4)
            self.play(Create(Circle(radius=0.5 + 0.2 * i)), run_time=0.6 + 0.2 * i)
            old = cap
        self.wait(0.3)
        self.timeline.end()
        self.shown.append(self.time)


def _render(cls: type, texts: tuple[str, ...], media: Path) -> tuple[Path, Scene]:
    with tempconfig({"media_dir": str(media), "pixel_height": 144, "pixel_width": 256,
                     "frame_rate": FPS, "disable_caching": True, "verbosity": "ERROR",
                     "progress_bar": "none", "output_file": cls.__name__ + str(len(texts))}):
        scene = type(cls.__name__, (cls,), {"texts": texts})()
        scene.render()
        return Path(scene.renderer.file_writer.movie_file_path), scene


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    media = tmp_path_factory.mktemp("media")
    a = _render(Captioned, ("Softmax along each row", "Values v = x·W_V"), media)
    b = _render(Captioned, ("Divided by √64 = 8", "Causal mask: j > i", "Step 3 → “␣Paris”"), media)
    return [a, b]


def test_scene_srt_matches_captions_and_times(rendered):
    for mp4, scene in rendered:
        srt_path = mp4.with_suffix(".srt")
        assert srt_path.is_file()
        cues = parse_srt(srt_path.read_text(encoding="utf-8"))
        assert [c.text for c in cues] == list(scene.texts)
        # caption i is on screen from its show() until the next show() (or the scene's end)
        for c, start, end in zip(cues, scene.shown, scene.shown[1:]):
            assert abs(c.start - start) <= 1 / FPS and abs(c.end - end) <= 1 / FPS
        assert abs(cues[-1].end - video_duration(mp4)) <= 1 / FPS
        assert all(a.end <= b.start + 1e-3 for a, b in zip(cues, cues[1:]))    # no overlaps


def test_vtt_from_srt(rendered, tmp_path):
    mp4, scene = rendered[1]
    vtt = srt_to_vtt(mp4.with_suffix(".srt"), tmp_path / "x.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT\n\n")
    blocks = vtt.strip().split("\n\n")[1:]
    assert len(blocks) == len(scene.texts)
    idx, times, body = blocks[1].split("\n")
    assert body == "Causal mask: j &gt; i"                       # escaped for HTML
    start, _, end = times.partition(" --> ")
    h, m, s = start.split(":")
    assert abs(int(h) * 3600 + int(m) * 60 + float(s) - scene.shown[1]) <= 1 / FPS


def test_srt_round_trip():
    cues = [Cue(0.0, 1.25, "one"), Cue(1.25, 61.5, "two\nlines")]
    assert parse_srt(compose_srt(cues)) == cues
    assert "00:01:01.500" in compose_vtt(cues)


def test_lecture_concat_chapters_and_offsets(rendered, tmp_path):
    vids = [mp4 for mp4, _ in rendered]
    durs = [video_duration(v) for v in vids]
    lecture = tmp_path / "lecture.mp4"
    starts = concat_lecture(vids, lecture, ["Attention", "Scaling"])
    assert starts == pytest.approx([0.0, durs[0]])
    assert video_duration(lecture) == pytest.approx(sum(durs), abs=1 / FPS)
    # chapters: written, read back by FFmpeg's mp4 demuxer
    chapters = read_chapters(lecture)
    assert [c.title for c in chapters] == ["Attention", "Scaling"]
    assert chapters[0].start == pytest.approx(0, abs=1e-3)
    assert chapters[1].start == pytest.approx(durs[0], abs=1e-3)
    assert chapters[1].end == pytest.approx(sum(durs), abs=1e-3)
    # the lecture's subtitles: each scene's cues shifted by where it starts
    cues = join_srt([(v.with_suffix(".srt"), s) for v, s in zip(vids, starts)])
    texts = [t for _, sc in rendered for t in sc.texts]
    assert [c.text for c in cues] == texts
    second = parse_srt(vids[1].with_suffix(".srt").read_text(encoding="utf-8"))
    assert cues[2].start == pytest.approx(second[0].start + durs[0])
    srt_path, vtt_path = write_subtitles(cues, tmp_path / "lecture")
    back = parse_srt(srt_path.read_text(encoding="utf-8"))
    assert [c.text for c in back] == [c.text for c in cues]
    assert np.allclose([(c.start, c.end) for c in back], [(c.start, c.end) for c in cues], atol=1e-3)
    assert vtt_path.read_text(encoding="utf-8").count(" --> ") == len(cues)
    # a frame just after the second chapter starts is the second video's first frame
    with av.open(str(lecture)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    with av.open(str(vids[1])) as c:
        first_b = next(c.decode(video=0)).to_ndarray(format="rgb24")
    k = round(durs[0] * FPS)
    assert np.abs(frames[k].astype(int) - first_b).mean() < 2


def test_burn_subtitles_draws_only_during_cues(rendered, tmp_path):
    mp4, scene = rendered[0]
    cues = parse_srt(mp4.with_suffix(".srt").read_text(encoding="utf-8"))
    # a cue only in the second half, drawn at the top where the scene draws nothing
    mid = video_duration(mp4) / 2
    burn = [Cue(mid, cues[-1].end, "SUBTITLE")]
    dst = tmp_path / "burned.mp4"
    burn_subtitles(mp4, burn, dst, top=True)
    assert video_duration(dst) == pytest.approx(video_duration(mp4), abs=1 / FPS)

    def top_band(path):
        with av.open(str(path)) as c:
            return [(float(f.pts * f.time_base), f.to_ndarray(format="rgb24")[:30].astype(int))
                    for f in c.decode(video=0)]

    orig, new = top_band(mp4), top_band(dst)
    assert len(orig) == len(new)
    for (t, a), (_, b) in zip(orig, new):
        changed = np.abs(a - b).max()
        if t < mid - 1e-3:
            assert changed < 40, t               # encoding noise only
        elif t > mid + 1e-3:
            assert changed > 150, t              # white text on the dark background


def test_lecture_keeps_audio(tmp_path):
    """Voiced scenes: the lecture carries their audio, cut to each part's video."""
    from scenes.kit.voice import silence

    class Voiced(Captioned):
        def construct(self):
            self.add_sound(str(silence(5.0, tmp_path)))       # longer than the video
            super().construct()

    vids = [_render(Voiced, ("one",), tmp_path)[0], _render(Voiced, ("two", "three"), tmp_path)[0]]
    lecture = tmp_path / "lecture.mp4"
    concat_lecture(vids, lecture, ["a", "b"])
    with av.open(str(lecture)) as c:
        v, = c.streams.video
        a, = c.streams.audio
        assert a.codec_context.name == "aac"
        v_dur = float(v.duration * v.time_base)
        a_dur = sum(float(p.duration * p.time_base) for p in c.demux(a) if p.duration)
    assert v_dur == pytest.approx(sum(video_duration(x) for x in vids), abs=1 / FPS)
    assert a_dur == pytest.approx(v_dur, abs=0.1)
