#!/usr/bin/env python
"""Narration benchmark: Piper load and speed, and what a voice costs a render (prints figures).

    .venv/bin/python scripts/bench_voice.py                 # attention at -ql
    .venv/bin/python scripts/bench_voice.py -q h            # at -qh (1080p60)

Renders the attention scene three times back to back, in one process (trace cache warm):
silent, voiced with an empty speech cache (first render), voiced again (cache warm), and
prints render time / video duration for each. The voiced scene is a subclass wired the way
GPTScene is meant to be (caption → subcaption cue + speech; a beat waits for its speech).
Figures on a shared machine are inflated; compare only the rows of one run.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scenes.kit.subtitles import CaptionTimeline, parse_srt, video_duration  # noqa: E402
from scenes.kit.voice import Narrator, Voice, speech_text, wav_duration  # noqa: E402

QUALITY = {"l": "low_quality", "m": "medium_quality", "h": "high_quality"}


def piper_figures(cache: Path) -> None:
    t0 = time.perf_counter()
    voice = Voice.load(cache_dir=cache)
    voice._engine()
    load = time.perf_counter() - t0
    text = ("Divided by √d_head = √64 = 8: dot products of 64-long vectors grow with d_head; "
            "scaling keeps softmax from saturating. Softmax along each row: weights ≥ 0 that sum to 1.")
    t0 = time.perf_counter()
    wav = voice.speak(text)
    synth = time.perf_counter() - t0
    audio = wav_duration(wav)
    t0 = time.perf_counter()
    voice.speak(text)
    hit = time.perf_counter() - t0
    print(f"piper: load {load:.2f} s; {audio:.1f} s of audio in {synth:.2f} s "
          f"= {audio / synth:.1f} s audio per s ({synth / audio:.3f} s per s of audio); "
          f"cache hit {hit * 1000:.1f} ms")
    print(f"  spoken as: {speech_text(text)!r}")


def voiced(base: type, voice: Voice) -> type:
    class Voiced(base):  # type: ignore[misc, valid-type]
        def construct(self) -> None:
            self._timeline = CaptionTimeline.for_scene(self)
            self._narrator = Narrator(self, voice)
            super().construct()
            self._narrator.close()
            self._timeline.end()

        def show_caption(self, s: str, run_time: float = 0.6):
            self._narrator.finish()          # the previous caption is spoken to the end
            self._timeline.show(s)
            self._narrator.say(s)
            return super().show_caption(s, run_time=run_time)

        def end_beat(self, name: str) -> None:
            self._narrator.finish()          # a beat lasts at least as long as its speech
            super().end_beat(name)

    Voiced.__name__ = f"Voiced{base.__name__}"
    return Voiced


def render(cls: type, quality: str, media: Path) -> tuple[float, Path]:
    from manim import tempconfig

    with tempconfig({"quality": QUALITY[quality], "media_dir": str(media), "disable_caching": True,
                     "verbosity": "ERROR", "progress_bar": "none"}):
        scene = cls()
        t0 = time.perf_counter()
        scene.render()
        return time.perf_counter() - t0, Path(scene.renderer.file_writer.movie_file_path)


def main() -> None:
    ap = argparse.ArgumentParser(allow_abbrev=False, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-q", choices=sorted(QUALITY), default="l")
    args = ap.parse_args()
    from scenes.attention import AttentionScene

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        piper_figures(tmp / "speech0")
        render(AttentionScene, "l", tmp / "warm")            # trace cache warm, imports done
        voice = Voice.load(cache_dir=tmp / "speech")
        rows = []
        for label, cls in (("silent", AttentionScene), ("voiced, first render", voiced(AttentionScene, voice)),
                           ("voiced, speech cached", voiced(AttentionScene, voice))):
            before = voice.synthesized
            secs, mp4 = render(cls, args.q, tmp / label.replace(" ", "_").replace(",", ""))
            dur = video_duration(mp4)
            srt = mp4.with_suffix(".srt")
            n_cues = len(parse_srt(srt.read_text(encoding="utf-8"))) if srt.is_file() else 0
            rows.append((label, secs, dur, voice.synthesized - before, n_cues))
        print(f"attention -q{args.q}: render s / video s")
        for label, secs, dur, synth, cues in rows:
            print(f"  {label:24s} {secs:6.1f} s / {dur:5.1f} s = {secs / dur:.2f}   "
                  f"(synthesised {synth}, srt cues {cues})")
        silent = rows[0][1]
        for label, secs, *_ in rows[1:]:
            print(f"  {label}: +{100 * (secs - silent) / silent:.0f} % render time vs silent")


if __name__ == "__main__":
    main()
