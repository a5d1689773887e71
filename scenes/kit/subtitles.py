"""Subtitles and chapters: captions as .srt/.vtt cues, a lecture's joined subtitles and chapters.

A scene's captions become Manim subcaptions (Manim writes ``<scene>.srt`` next to the video)
through :class:`CaptionTimeline`: a caption is on screen from when it is shown until it is
replaced, hidden, or the scene ends::

    timeline = CaptionTimeline(scene.add_subcaption, now=lambda: scene.time)
    timeline.show("Softmax along each row")    # when the caption appears
    timeline.show("Values v = x·W_V")          # the first cue ends here
    timeline.end()                             # at the end of the scene

For the web, :func:`srt_to_vtt`; for a lecture, :func:`concat_lecture` joins the scene videos
(video and audio stream-copied, nothing re-encoded) with one mp4 chapter per scene and
returns where each scene starts, and :func:`join_srt` shifts each scene's cues by that
offset. :func:`burn_subtitles` draws cues into the frames (Pillow + PyAV's x264; the FFmpeg
inside PyAV has no libass, so its ``subtitles`` filter is not available).

List the chapters of a lecture::

    python -m scenes.kit.subtitles chapters lecture.mp4
"""
from __future__ import annotations

import datetime as dt
import io
import os
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import srt

if TYPE_CHECKING:
    from PIL import Image, ImageFont


@dataclass(frozen=True)
class Cue:
    """One subtitle: ``text`` on screen from ``start`` to ``end`` (seconds). ``full``: when a
    scene's caption was fully visible (faded in, not yet fading out), if known — it is not
    written to .srt (a cue spans the fades)."""

    start: float
    end: float
    text: str
    full: tuple[float, float] | None = None

    @property
    def visible(self) -> float:
        """Seconds fully visible (the whole cue when ``full`` is not known)."""
        a, b = self.full if self.full is not None else (self.start, self.end)
        return b - a


# ---------------------------------------------------------------------- reading time
#: Reading speed of a caption: 15 characters a second (the common subtitle guideline for
#: adults is 15–17; 15 leaves time to look at the picture too) …
READ_CHARS_PER_S = 15.0
#: … and never less than this on screen, however short the caption.
MIN_CAPTION_S = 1.5


def reading_time(text: str, pace: float = 1.0) -> float:
    """Seconds caption ``text`` must stay fully visible: ``max(1.5, characters / 15)``,
    times ``pace`` (a course's ``pace`` knob; 1 = the rule). Whitespace runs count once.

    >>> reading_time("Softmax along each row")
    1.5
    >>> reading_time("x" * 60), reading_time("x" * 60, pace=0.8)
    (4.0, 3.2)
    """
    return max(MIN_CAPTION_S, len(" ".join(text.split())) / READ_CHARS_PER_S) * pace


def too_fast(cues: Iterable[Cue], pace: float = 1.0, tol: float = 1e-3) -> list[str]:
    """The cues fully visible for less than their :func:`reading_time`, one line each
    (``'12.3 s: 3.1 s for 84 chars (needs 5.6 s): "The total…"'``); [] when all are fine."""
    out = []
    for c in cues:
        need = reading_time(c.text, pace)
        if c.visible + tol < need:
            out.append(f"{c.start:.1f} s: {c.visible:.2f} s for {len(c.text)} chars "
                       f"(needs {need:.2f} s): {c.text[:60]!r}")
    return out


# ---------------------------------------------------------------------- scene captions
class CaptionTimeline:
    """Turns "show this caption now" events into cues (and Manim subcaptions).

    ``emit(content, duration, offset)`` has :meth:`manim.Scene.add_subcaption`'s signature and
    is called once per cue, when the cue closes, with ``offset`` reaching back to its start.

    >>> t = [0.0]; got = []
    >>> tl = CaptionTimeline(lambda c, d, o: got.append((c, d, o)), now=lambda: t[0])
    >>> tl.show("a"); t[0] = 2.5; tl.show("b"); t[0] = 4.0; tl.end()
    >>> [(c.start, c.end, c.text) for c in tl.cues]
    [(0.0, 2.5, 'a'), (2.5, 4.0, 'b')]
    >>> got
    [('a', 2.5, -2.5), ('b', 1.5, -1.5)]
    """

    def __init__(self, emit: Callable[[str, float, float], None] | None,
                 now: Callable[[], float]) -> None:
        self.emit, self.now = emit, now
        self.cues: list[Cue] = []
        self._open: tuple[str, float] | None = None
        self._full: list[float | None] = [None, None]

    @classmethod
    def for_scene(cls, scene: object) -> "CaptionTimeline":
        """Cues written as ``scene``'s subcaptions, timed by ``scene.time``."""
        return cls(scene.add_subcaption, now=lambda: float(scene.time))  # type: ignore[attr-defined]

    def show(self, text: str) -> None:
        """``text`` appears now (and replaces the caption on screen, if any)."""
        self._close()
        self._open = (" ".join(text.split()), self.now())

    def settled(self) -> None:
        """The open caption has faded in: fully visible from now."""
        if self._open is not None:
            self._full[0] = self.now()

    def leaving(self) -> None:
        """The open caption starts to fade out now (fully visible until now)."""
        if self._open is not None:
            self._full[1] = self.now()

    def hide(self) -> None:
        """The caption on screen disappears now."""
        self._close()

    end = hide

    def _close(self) -> None:
        if self._open is None:
            return
        text, start = self._open
        (a, b), self._full = self._full, [None, None]
        self._open = None
        t = self.now()
        if t - start <= 1e-6 or not text:
            return
        cue = Cue(start, t, text, (start if a is None else a, t if b is None else b))
        self.cues.append(cue)
        if self.emit is not None:
            self.emit(text, t - start, start - t)


# ---------------------------------------------------------------------- srt / vtt
def parse_srt(text: str) -> list[Cue]:
    """Cues of an .srt file's text (via the ``srt`` package Manim uses to write them)."""
    return [Cue(s.start.total_seconds(), s.end.total_seconds(), s.content)
            for s in srt.parse(text)]


def compose_srt(cues: Iterable[Cue]) -> str:
    return srt.compose([srt.Subtitle(i, dt.timedelta(seconds=c.start), dt.timedelta(seconds=c.end),
                                     c.text) for i, c in enumerate(cues, 1)], reindex=False)


def _vtt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def compose_vtt(cues: Iterable[Cue]) -> str:
    """WebVTT text. ``-->`` inside a cue is escaped, blank lines inside a cue are dropped.

    >>> print(compose_vtt([Cue(1.5, 3.25, "x < y")]))
    WEBVTT
    <BLANKLINE>
    1
    00:00:01.500 --> 00:00:03.250
    x &lt; y
    <BLANKLINE>
    """
    out = ["WEBVTT", ""]
    for i, c in enumerate(cues, 1):
        body = "\n".join(line for line in c.text.splitlines() if line.strip())
        body = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        out += [str(i), f"{_vtt_time(c.start)} --> {_vtt_time(c.end)}", body, ""]
    return "\n".join(out)


def srt_to_vtt(srt_path: Path, vtt_path: Path | None = None) -> Path:
    """Write ``<name>.vtt`` next to ``<name>.srt`` (or at ``vtt_path``); returns its path."""
    dst = vtt_path or srt_path.with_suffix(".vtt")
    _write_text(dst, compose_vtt(parse_srt(srt_path.read_text(encoding="utf-8"))))
    return dst


def write_subtitles(cues: Sequence[Cue], stem: Path) -> tuple[Path, Path]:
    """Write ``<stem>.srt`` and ``<stem>.vtt`` (atomically); returns both paths."""
    srt_path, vtt_path = stem.with_name(stem.name + ".srt"), stem.with_name(stem.name + ".vtt")
    _write_text(srt_path, compose_srt(cues))
    _write_text(vtt_path, compose_vtt(cues))
    return srt_path, vtt_path


def join_srt(parts: Sequence[tuple[Path | None, float]]) -> list[Cue]:
    """Cues of several .srt files, each shifted by its offset (where its video starts).

    ``parts``: (srt path or None when a scene has none, offset seconds), in lecture order.
    """
    cues: list[Cue] = []
    for path, offset in parts:
        if path is None or not path.is_file():
            continue
        cues += [Cue(c.start + offset, c.end + offset, c.text)
                 for c in parse_srt(path.read_text(encoding="utf-8"))]
    return cues


# ---------------------------------------------------------------------- lecture mp4, chapters
def video_duration(path: Path) -> float:
    """Duration of the first video stream, in seconds."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        if s.duration is not None:
            return float(s.duration * s.time_base)
        return float(c.duration or 0) / 1_000_000


@dataclass(frozen=True)
class Chapter:
    start: float
    end: float
    title: str


def concat_lecture(videos: Sequence[Path], dst: Path, titles: Sequence[str] | None = None
                   ) -> list[float]:
    """Join ``videos`` into ``dst`` (stream copy of video and, if every part has one, audio),
    with one mp4 chapter per part titled ``titles[i]``. Returns each part's start time.

    Each part is cut at the end of its video stream (an audio track may be a few ms
    longer), so part i starts exactly at the sum of the video durations before it: the
    same offsets :func:`join_srt` needs.
    """
    import av

    durations = [video_duration(v) for v in videos]
    starts = [sum(durations[:i]) for i in range(len(videos))]
    with_audio = all(_has_audio(v) for v in videos)
    # outpoint rounded down: a packet starting exactly at the end belongs to the next part
    quoted = ["'file:" + v.resolve().as_posix().replace("'", "'\\''") + "'" for v in videos]  # any folder name
    manifest = "".join(f"file {q}\noutpoint {int(d * 1e6) / 1e6:.6f}\n"
                       for q, d in zip(quoted, durations))
    tmp = dst.with_name(f"{dst.stem}.part{dst.suffix}")
    with av.open(io.BytesIO(manifest.encode()), format="concat", options={"safe": "0"}) as inp:
        streams = [inp.streams.video[0]] + ([inp.streams.audio[0]] if with_audio else [])
        out = av.open(str(tmp), mode="w")
        try:
            omap = {s.index: out.add_stream_from_template(template=s) for s in streams}
            if titles is not None:
                out.set_chapters(_av_chapters(
                    [Chapter(s, s + d, t) for s, d, t in zip(starts, durations, titles)]))
            last: dict[int, int] = {}
            for pkt in inp.demux(*streams):
                i = pkt.stream.index
                if pkt.dts is None or (i in last and pkt.dts <= last[i]):
                    continue  # the flush packet; an audio packet past a part's end (same time)
                last[i] = pkt.dts
                pkt.stream = omap[i]
                out.mux(pkt)
        finally:
            out.close()
    os.replace(tmp, dst)
    return starts


def _has_audio(path: Path) -> bool:
    import av

    with av.open(str(path)) as c:
        return bool(c.streams.audio)


def _av_chapters(chapters: Sequence[Chapter]) -> list[dict]:
    tb = Fraction(1, 1000)
    return [{"id": i, "start": int(round(c.start * 1000)), "end": int(round(c.end * 1000)),
             "time_base": tb, "metadata": {"title": c.title}} for i, c in enumerate(chapters, 1)]


def read_chapters(path: Path) -> list[Chapter]:
    """The chapters of a video file, as FFmpeg (and so mpv, VLC, ffprobe) reads them."""
    import av

    with av.open(str(path)) as c:
        return [Chapter(float(ch["start"] * ch["time_base"]), float(ch["end"] * ch["time_base"]),
                        ch["metadata"].get("title", "")) for ch in c.chapters()]


# ---------------------------------------------------------------------- burned-in subtitles
def subtitle_font(size: int, family: str = "DejaVu Sans") -> "ImageFont.FreeTypeFont":
    """``family`` found by fontconfig (DejaVu Sans has ␣ √ − ∞ ≥ ÷), else Pillow's own font."""
    import subprocess

    from PIL import ImageFont

    try:
        path = subprocess.run(["fc-match", "-f", "%{file}", family], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        if path:
            return ImageFont.truetype(path, size)
    except (OSError, subprocess.SubprocessError):
        pass
    return ImageFont.load_default(size=size)


def burn_subtitles(video: Path, cues: Sequence[Cue], dst: Path, *, font_px: float = 0.045,
                   top: bool = False, cover: float = 0.0, crf: int = 20,
                   family: str = "DejaVu Sans") -> None:
    """Re-encode ``video`` into ``dst`` with ``cues`` drawn on the frames (white on a dark box,
    bottom or top); audio is copied. Font size is a fraction of the frame height.

    ``cover`` (a fraction of the frame height): while a cue is drawn at the bottom, that band
    is first filled with the frame's background colour (its corner pixel) — a GPTScene's own
    caption sits there and says the same words, so the subtitle takes its place instead of
    overlapping it."""
    import av
    from PIL import Image

    tmp = dst.with_name(f"{dst.stem}.part{dst.suffix}")
    with av.open(str(video)) as inp:
        vin = inp.streams.video[0]
        ain = inp.streams.audio[0] if inp.streams.audio else None
        out = av.open(str(tmp), mode="w")
        try:
            vout = out.add_stream("libx264", rate=vin.average_rate)
            vout.width, vout.height = vin.codec_context.width, vin.codec_context.height
            vout.pix_fmt = "yuv420p"
            vout.options = {"crf": str(crf), "preset": "veryfast"}
            aout = out.add_stream_from_template(template=ain) if ain is not None else None
            size = max(10, int(vout.height * font_px))
            font = subtitle_font(size, family)
            cache: dict[str, Image.Image] = {}
            for pkt in inp.demux(*(s for s in (vin, ain) if s is not None)):
                if pkt.stream is ain:
                    if pkt.dts is not None:
                        pkt.stream = aout
                        out.mux(pkt)
                    continue
                for frame in pkt.decode():
                    t = float(frame.pts * frame.time_base) if frame.pts is not None else 0.0
                    text = next((c.text for c in cues if c.start <= t + 1e-6 < c.end), None)
                    img = frame.to_image()
                    if text:
                        if text not in cache:
                            cache[text] = _subtitle_overlay(text, font, img.width)
                        ov = cache[text]
                        y = int(0.04 * img.height) if top else img.height - ov.height - int(0.04 * img.height)
                        if cover > 0 and not top:
                            band = max(int(cover * img.height), img.height - y)
                            img.paste(img.getpixel((1, 1)), (0, img.height - band, img.width, img.height))
                        img.paste(ov, ((img.width - ov.width) // 2, y), ov)
                    nf = av.VideoFrame.from_image(img)
                    nf.pts, nf.time_base = frame.pts, frame.time_base
                    for p in vout.encode(nf):
                        out.mux(p)
            for p in vout.encode():
                out.mux(p)
        finally:
            out.close()
    os.replace(tmp, dst)


def _subtitle_overlay(text: str, font: "ImageFont.FreeTypeFont", width: int) -> "Image.Image":
    """The cue as an RGBA image: lines wrapped to 90 % of the frame, on a translucent box."""
    from PIL import Image, ImageDraw

    draw = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    lines: list[str] = []
    for para in text.splitlines():
        line = ""
        for word in para.split():
            cand = f"{line} {word}".strip()
            if line and draw.textlength(cand, font=font) > 0.9 * width:
                lines.append(line)
                line = word
            else:
                line = cand
        lines.append(line)
    body = "\n".join(lines)
    l, t, r, b = (int(round(v)) for v in draw.multiline_textbbox((0, 0), body, font=font,
                                                                   align="center"))
    pad = max(4, (b - t) // (4 * len(lines)))
    img = Image.new("RGBA", (r - l + 2 * pad, b - t + 2 * pad), (0, 0, 0, 170))
    ImageDraw.Draw(img).multiline_text((pad - l, pad - t), body, font=font, fill=(255, 255, 255, 255),
                                       align="center")
    return img


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    """``python -m scenes.kit.subtitles chapters FILE.mp4`` | ``vtt FILE.srt``."""
    if len(argv) == 2 and argv[0] == "chapters":
        for ch in read_chapters(Path(argv[1])):
            print(f"{_vtt_time(ch.start)}  {_vtt_time(ch.end)}  {ch.title}")
        return 0
    if len(argv) == 2 and argv[0] == "vtt":
        print(srt_to_vtt(Path(argv[1])))
        return 0
    print("usage: python -m scenes.kit.subtitles chapters FILE.mp4 | vtt FILE.srt", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
