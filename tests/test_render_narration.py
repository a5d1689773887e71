"""./render.sh's subtitles and voice (the driver, scripts/render.py, which render.sh runs
after its set-up): <scene>.srt/.vtt beside each video — the same cues whether the scene is
split into pieces or not (silent: tests/test_render_split.py); --voice (AAC audio as long as the video); --lecture chapters and
lecture.srt offsets; --burn-subtitles; a bad voice stops everything in one line, exit 2."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np

from scenes.kit.subtitles import parse_srt, read_chapters, video_duration
from test_narration import SOURCE, assert_audio_matches_video

ROOT = Path(__file__).resolve().parents[1]
FPS = 15


def course_file(tmp_path: Path, model: Path) -> Path:
    f = tmp_path / "captioned.py"
    f.write_text(SOURCE.format(model=str(model)) + '''

class CaptionedTwo(CaptionedScene):
    """The same captions for another prompt."""

    config_section = "captioned_two"
    prompt = "The capital of France is"
''')
    return f


def driver(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    e = dict(os.environ, PYTHONPATH=str(ROOT), GPT_SCENES_COURSE="none",
             GPT_SCENES_HOME=str(tmp_path / "home"), **(env or {}))
    e.pop("GPT_SCENES_VOICE", None)
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "render.py"), *args],
                          cwd=tmp_path, env=e, capture_output=True, text=True, timeout=600)


def test_voice_lecture_chapters_and_burned_subtitles(tmp_path, tiny_gpt2_dir):
    f = course_file(tmp_path, tiny_gpt2_dir)
    r = driver(tmp_path, str(f), "--voice", "--lecture", "--burn-subtitles", "-j", "2")
    assert r.returncode == 0, r.stderr[-2000:]
    out = tmp_path / "out/480p15"
    durations = []
    for scene in ("captioned", "captioned_two"):
        mp4 = out / f"{scene}.mp4"
        assert_audio_matches_video(mp4)
        durations.append(video_duration(mp4))
        assert len(parse_srt((out / f"{scene}.srt").read_text(encoding="utf-8"))) == 3
    assert len(list((tmp_path / "home/speech").glob("*.wav"))) >= 3   # cached speech
    # the lecture: a chapter per scene, its subtitles shifted by where each scene starts
    lecture = out / "lecture.mp4"
    chapters = read_chapters(lecture)
    assert [c.title for c in chapters] == ["Three captions: replaced, replaced, then faded out "
                                           "with everything (clear)",
                                           "The same captions for another prompt"]
    assert abs(chapters[1].start - durations[0]) < 1e-3
    with av.open(str(lecture)) as c:
        assert c.streams.audio                                  # the narration kept
    one = parse_srt((out / "captioned.srt").read_text(encoding="utf-8"))
    two = parse_srt((out / "captioned_two.srt").read_text(encoding="utf-8"))
    joined = parse_srt((out / "lecture.srt").read_text(encoding="utf-8"))
    assert len(joined) == 6 and [c.text for c in joined] == [c.text for c in one + two]
    for c, d in zip(joined[3:], two):
        assert abs(c.start - (d.start + durations[0])) <= 1e-3
    # burned in: the caption band changes only while a cue is on screen
    sub = out / "captioned.subtitled.mp4"
    with av.open(str(sub)) as s, av.open(str(out / "captioned.mp4")) as o:
        for fs, fo in zip(s.decode(video=0), o.decode(video=0)):
            t = float(fo.pts * fo.time_base)
            a = fs.to_ndarray(format="rgb24")[-fs.height // 6:].astype(int)
            b = fo.to_ndarray(format="rgb24")[-fo.height // 6:].astype(int)
            changed = (np.abs(a - b).max(axis=2) > 60).mean()   # not re-encoding noise
            on = any(c.start + 0.05 < t < c.end - 0.05 for c in one)
            off = all(t < c.start - 0.05 or t > c.end + 0.05 for c in one)
            if on:
                assert changed > 0.004, t
            elif off:
                assert changed < 0.001, t
        assert s.streams.audio


def test_bad_voice_stops_before_any_render(tmp_path, tiny_gpt2_dir):
    f = course_file(tmp_path, tiny_gpt2_dir)
    (tmp_path / "voices").mkdir()
    (tmp_path / "voices/broken.onnx").write_bytes(b"not an onnx model" * 50)
    from scenes.kit.voice import bundled_voice

    (tmp_path / "voices/broken.onnx.json").write_bytes(bundled_voice()[1].read_bytes())
    for text, expect in (('[voice]\nenabled = true\nmodel = "voices/missing.onnx"\n', "missing.onnx"),
                         ('[voice]\nmodel = "voices/broken.onnx"\n', "broken.onnx")):
        cfg = tmp_path / "course.toml"
        cfg.write_text(text)
        args = [str(f), "--course", str(cfg)] + (["--voice"] if "enabled" not in text else [])
        for extra in ([], ["--dry-run"]):
            r = driver(tmp_path, *args, *extra)
            err = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("[")]
            assert r.returncode == 2 and len(err) == 1 and expect in err[0], r.stderr
            assert "Traceback" not in r.stderr and not (tmp_path / "out").exists()
        if "enabled" in text:   # course check opens the voice only when narration is on
            r = subprocess.run([sys.executable, "-m", "scenes.kit.course", "check", str(cfg),
                                "--scenes", str(f)], cwd=tmp_path, capture_output=True,
                               text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
            assert r.returncode == 2 and expect in r.stderr and len(r.stderr.splitlines()) == 1


def _decoded(path: Path) -> tuple[list[str], str, int]:
    """Decoded video frame hashes, decoded audio samples' hash and sample count."""
    import hashlib

    from scenes.render import media

    with av.open(str(path)) as c:
        pcm = b"".join(bytes(f.to_ndarray().tobytes()) for f in c.decode(audio=0))
        n = sum(f.samples for f in av.open(str(path)).decode(audio=0))
    return media.frame_hashes(path), hashlib.sha256(pcm).hexdigest(), n


def test_voiced_scene_split_is_the_one_process_render(tmp_path, tiny_gpt2_dir):
    """A narrated scene in 3 pieces: the same frames, the same audio samples, the same cues;
    <scene>.srt and .vtt beside the video. (A silent split's cues: tests/test_render_split.py
    test_pieces_are_the_single_process_render_frame_for_frame.)"""
    sys.path.insert(0, str(ROOT))
    f = course_file(tmp_path, tiny_gpt2_dir)
    for name, split in (("whole", "1"), ("split", "3")):
        r = driver(tmp_path, str(f), "CaptionedScene", "--voice", "--split", split, "--out", name)
        assert r.returncode == 0, r.stderr[-2000:]
    assert "3 pieces" in r.stdout and "with its narration" in r.stderr
    whole, split = (tmp_path / n / "480p15" / "captioned.mp4" for n in ("whole", "split"))
    w, s = _decoded(whole), _decoded(split)
    assert w[2] > 22050                      # seconds of speech, really there
    assert s[0] == w[0] and s[1:] == w[1:]
    cues = parse_srt((tmp_path / "whole/480p15/captioned.srt").read_text(encoding="utf-8"))
    assert [c.text for c in cues] == ["2 tokens in the prompt", "Divided by √64 = 8",
                                      "Step 3 → “␣Paris”"]
    # the pieces' clock is the whole render's: the very same cue times
    assert parse_srt((tmp_path / "split/480p15/captioned.srt").read_text(encoding="utf-8")) == cues
    for name in ("whole", "split"):
        vtt = (tmp_path / name / "480p15/captioned.vtt").read_text(encoding="utf-8")
        assert vtt.startswith("WEBVTT") and vtt.count(" --> ") == 3

