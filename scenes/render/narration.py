"""``./render.sh`` subtitles and voice (issue 15): the voice checked before any job, each
scene's ``.srt`` next to its video with a ``.vtt``, the lecture's chapters and subtitles,
and ``--burn-subtitles``.

- ``--voice`` or the course's ``[voice]`` (``enabled = true``): the voice is opened before
  any job (a missing or broken file is one line, exit 2) and every video job narrates
  (``$GPT_SCENES_VOICE*``). A voiced scene may be split: its last piece's soundtrack is the
  whole scene's (:mod:`.exact_manim`), muxed into the joined video (:func:`.media.add_soundtrack`).
- Every scene: Manim writes ``<scene>.srt`` (the captions as subcaptions) beside the video
  it renders; it is copied to ``OUT/<q>/<scene>.srt`` with ``<scene>.vtt``. A split scene's
  last piece runs the whole scene (fast-forwarding to its first animation) with the drawn
  path's clock (:mod:`.exact_manim`), so its ``.srt`` is the whole scene's.
- ``--lecture``: the videos stream-copied (audio too) with one mp4 chapter per scene;
  ``lecture.srt``/``.vtt``: each scene's cues shifted to where it starts.
- ``--burn-subtitles``: ``<scene>.subtitled.mp4`` (and the lecture's): each subtitle drawn in
  the scene's caption band at the bottom, which is first filled with the background — the
  scene's own caption says the same words there, so the subtitle replaces it. (Drawn at the
  top instead, it covered the title and the top rows of the scenes: looked at.)
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from .pool import Job, say

#: The bottom band a GPTScene caption (one or two lines) occupies, as a fraction of the
#: frame height; a burned subtitle blanks it and takes its place.
CAPTION_BAND = 0.15
from .summary import Row


def run_voice(args: Any, course: Any) -> Any:
    """The voice settings of this run (the course's ``[voice]``, ``--voice`` turns it on),
    the voice opened now when narration is on (UserError, one line, before any job)."""
    from . import scenes_api as S

    s = S.voice_settings(course)  # check_course opened it already when the course enables it
    if args.voice and not s.enabled:
        s = dataclasses.replace(s, enabled=True)
        S.check_voice(s, course)
    return s


def srt_of(jobs: list[Job]) -> Path | None:
    """The ``.srt`` Manim wrote for a scene's video: beside the whole render's output, or the
    last piece's (which covers the whole scene). None when the scene had no captions."""
    last = max(jobs, key=lambda j: j.task.piece)
    if last.output is None:
        return None
    p = last.output.with_suffix(".srt")
    return p if p.is_file() and p.stat().st_mtime >= last.started - 1 else None


def write_scene_subtitles(row: Row, src: Path | None, out: Path, scene: str) -> None:
    """``OUT/<scene>.srt`` and ``.vtt`` from Manim's ``.srt`` (empty when no captions)."""
    from . import scenes_api as S

    cues = S.parse_srt(src.read_text(encoding="utf-8")) if src is not None else []
    row.extras += list(S.write_subtitles(cues, out / scene))


def lecture(entries: list, rows: dict[str, Row], out: Path, vext: str,
            course: Any = None) -> Path | None:
    """``lecture.mp4`` with a chapter per scene, and ``lecture.srt``/``.vtt``."""
    from . import scenes_api as S

    done = [e for e in entries if rows[e.id].video is not None]
    if not done:
        return None
    dst = out / f"lecture{vext}"
    try:
        starts = S.concat_lecture([rows[e.id].video for e in done], dst,
                                  titles=[chapter_title(e, course) for e in done])
    except Exception as ex:  # noqa: BLE001 - one line, the scenes' videos are kept
        say(f"lecture: FAILED to join ({type(ex).__name__}: {ex})")
        return None
    cues = S.join_srt([(out / f"{e.id}.srt", t) for e, t in zip(done, starts)])
    S.write_subtitles(cues, out / "lecture")
    say(f"lecture {dst}: {len(done)} chapters ({', '.join(e.id for e in done)}), "
        f"lecture.srt/.vtt with {len(cues)} cues")
    return dst


def chapter_title(entry: Any, course: Any = None) -> str:
    """A scene's chapter title: the course's ``chapter`` for its section, else the first
    line of its class docstring, else its id.

    >>> class E: id = "softmax_temperature"; cls = type("X", (), {"__doc__": None})
    >>> chapter_title(E())
    'Softmax temperature'
    """
    from . import scenes_api as S

    own = S.chapter(course, getattr(entry.cls, "config_section", "") or "") if course else None
    return own or S.default_chapter(entry.cls, entry.id)


def burn(video: Path, srt: Path, row: Row | None) -> Path | None:
    """``<name>.subtitled.mp4`` next to ``video``: the ``.srt`` cues drawn in the caption band."""
    from . import scenes_api as S

    dst = video.with_name(f"{video.stem}.subtitled.mp4")
    try:
        cues = S.parse_srt(srt.read_text(encoding="utf-8"))
        S.burn_subtitles(video, cues, dst, cover=CAPTION_BAND)
    except Exception as ex:  # noqa: BLE001 - reported in the summary
        msg = f"burn-subtitles: {type(ex).__name__}: {ex}"
        if row is not None:
            row.errors.append(msg)
        else:
            say(msg)
        return None
    if row is not None:
        row.extras.append(dst)
    say(f"subtitled {dst}")
    return dst
