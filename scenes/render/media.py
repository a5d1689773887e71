"""Video files after the render: duration, lossless joins (pieces of a scene, the lecture),
GIF previews and decoded-frame hashes. PyAV only (manim ≥ 0.19 has no ffmpeg binary).

>>> video_seconds(Path("out/480p15/attention.mp4"))        # doctest: +SKIP
31.4
>>> concat([Path("a.part0.mp4"), Path("a.part1.mp4")], Path("a.mp4"))  # doctest: +SKIP
>>> add_soundtrack(Path("a.mp4"), Path("pieces/p3of3/a.wav"))   # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path


def video_seconds(path: Path) -> float | None:
    """Duration of the first video stream in seconds (None if the file cannot be read)."""
    import av

    try:
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            if s.duration is not None and s.time_base is not None:
                return float(s.duration * s.time_base)
            if c.duration is not None:
                return c.duration / 1_000_000
            n = sum(1 for _ in c.demux(s))
            return n / float(s.average_rate)
    except Exception:  # noqa: BLE001 - any unreadable file is "no duration"
        return None


def concat_quote(path: Path) -> str:
    """``path`` as one quoted word of an FFmpeg concat manifest (any folder name: a single
    quote inside is written ``'\\''``, as the concat demuxer reads it).

    >>> concat_quote(Path("/o/it's/a.mp4"))
    "'file:/o/it'\\\\''s/a.mp4'"
    """
    return "'file:" + path.resolve().as_posix().replace("'", "'\\''") + "'"


def concat(videos: list[Path], dst: Path) -> None:
    """Stream-copy ``videos`` one after another into ``dst`` — no re-encode, so the frames
    are bit-identical to the inputs' (they must share codec, size and rate: rendered alike).
    Manim joins its partial movie files the same way. Written to a temporary name first."""
    import av

    manifest = io.BytesIO("".join(f"file {concat_quote(v)}\n" for v in videos).encode())
    tmp = dst.with_name(dst.stem + ".part" + dst.suffix)
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        with av.open(manifest, format="concat", options={"safe": "0", "an": "1"}) as inp:
            s = inp.streams.video[0]
            with av.open(str(tmp), mode="w") as out:
                o = out.add_stream_from_template(template=s)
                for pkt in inp.demux(s):
                    if pkt.dts is None:  # the flushing packet demux yields at the end
                        continue
                    pkt.dts = None  # let libav recompute: inputs restart at 0
                    pkt.stream = o
                    out.mux(pkt)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def add_soundtrack(video: Path, wav: Path) -> None:
    """Mux ``wav`` (the whole scene's soundtrack, as Manim exported it beside the last piece:
    see :mod:`.exact_manim`) into ``video`` (joined from pieces) exactly as
    ``SceneFileWriter.combine_to_movie`` does for a one-process render: encoded to AAC
    (Vorbis/Opus for webm), the video stream-copied, ``shortest``. ``video`` is replaced
    atomically."""
    import av
    from manim import __version__
    from manim.scene.scene_file_writer import _webm_audio_codec, convert_audio

    webm = video.suffix == ".webm"
    enc = video.with_suffix(".soundtrack" + (".ogg" if webm else ".aac"))
    tmp = video.with_name(video.stem + ".part" + video.suffix)
    try:
        convert_audio(wav, enc, _webm_audio_codec() if webm else "aac")
        opts = {"shortest": "1", "metadata": f"comment=Rendered with Manim Community v{__version__}"}
        with av.open(str(video)) as vin, av.open(str(enc)) as ain, \
                av.open(str(tmp), mode="w", options=opts) as out:
            vs, aus = vin.streams.video[0], ain.streams.audio[0]
            pairs = ((vin, vs, out.add_stream_from_template(template=vs)),
                     (ain, aus, out.add_stream_from_template(template=aus)))
            for src, stream, o in pairs:
                for pkt in src.demux(stream):
                    if pkt.dts is None:  # the flushing packet demux yields at the end
                        continue
                    pkt.stream = o
                    out.mux(pkt)
        os.replace(tmp, video)
    finally:
        tmp.unlink(missing_ok=True)
        enc.unlink(missing_ok=True)


def frame_hashes(path: Path) -> list[str]:
    """sha1 of every decoded frame's pixels (all planes), in order: two videos with equal
    lists show the same pictures, whatever their container timestamps."""
    import av

    out = []
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            h = hashlib.sha1()
            for plane in frame.planes:
                h.update(bytes(plane))
            out.append(h.hexdigest())
    return out


def to_gif(src: Path, dst: Path, width: int, fps: int, dither: str = "bayer:bayer_scale=5") -> None:
    """A small GIF from a video: fps + scale, then a palette made from the whole clip."""
    import av

    tmp = dst.with_suffix(".part.gif")
    with av.open(str(src)) as inp:
        s = inp.streams.video[0]
        w = min(width, s.codec_context.width)
        h = max(2, round(s.codec_context.height * w / s.codec_context.width / 2) * 2)
        out = av.open(str(tmp), mode="w", format="gif")
        o = out.add_stream("gif", rate=fps)
        o.width, o.height, o.pix_fmt = w, h, "pal8"
        g = av.filter.Graph()
        buf = g.add_buffer(template=s)
        chain = [g.add("fps", f"fps={fps}"), g.add("scale", f"{w}:{h}:flags=lanczos"),
                 g.add("split")]
        pgen = g.add("palettegen", "stats_mode=diff")
        puse = g.add("paletteuse", f"dither={dither}:diff_mode=rectangle")
        sink = g.add("buffersink")
        buf.link_to(chain[0])
        chain[0].link_to(chain[1])
        chain[1].link_to(chain[2])
        chain[2].link_to(pgen, 0, 0)
        chain[2].link_to(puse, 1, 0)
        pgen.link_to(puse, 0, 1)
        puse.link_to(sink)
        g.configure()
        for frame in inp.decode(s):
            g.push(frame)
        g.push(None)
        n = 0
        while True:
            try:
                frame = g.pull()
            except (av.error.EOFError, av.error.BlockingIOError):
                break
            frame.pts = n
            if o.codec_context.time_base is not None:
                frame.time_base = o.codec_context.time_base
            n += 1
            out.mux(o.encode(frame))
        out.mux(o.encode())
        out.close()
    os.replace(tmp, dst)
