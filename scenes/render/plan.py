"""What to run: one manim command per job, and how a scene is cut into pieces.

A *piece* renders a contiguous range of a scene's animations (Manim's ``-n FIRST,LAST``,
both inclusive, counting every ``play`` and ``wait``; the last piece ``-n FIRST``, to the end). Manim fast-forwards the animations
before FIRST — their end state is applied, nothing is drawn or encoded — and stops after
LAST, so each piece starts from exactly the mobjects the whole render would have there and
encodes its animations with the same settings; the pieces, stream-copied one after another
(:func:`scenes.render.media.concat`), are the whole render's video frame for frame.

Only the standard library: ``./render.sh --dry-run`` prints these commands.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

QUALITIES = {"l": "480p15", "m": "720p30", "h": "1080p60", "p": "1440p60", "k": "2160p60"}
#: A piece shorter than this (seconds of video) costs more in start-up and fast-forward
#: than it saves.
MIN_PIECE_S = 3.0


@dataclasses.dataclass
class Task:
    """One manim run, described without any machine's paths (so Ray can ship it)."""

    scene: str                    # scene id: the output file stem
    class_name: str
    file: Path                    # the .py file defining class_name
    kind: str                     # video | still | slides | check (--check: the scene's checks)
    quality: str                  # l m h p k
    transparent: bool = False
    encoders: int = 1             # manim --max-inflight-encoders
    anims: tuple[int, int] | None = None   # (first, last) animation, inclusive; None = all
    piece: int = 0
    pieces: int = 1
    est_s: float = 0.0            # expected video seconds (longest jobs start first)

    @property
    def ext(self) -> str:
        if self.kind in ("still", "check"):
            return ".png" if self.kind == "still" else ".json"
        return ".mov" if self.transparent else ".mp4"

    @property
    def label(self) -> str:
        """``attention`` or ``attention[2/3]`` (a piece), plus the kind for stills/slides."""
        p = f"[{self.piece + 1}/{self.pieces}]" if self.pieces > 1 else ""
        return f"{self.scene}{p}" + ("" if self.kind == "video" else f" ({self.kind})")

    @property
    def key(self) -> str:
        """A file-name-safe id, unique per job: ``attention.video.p1of3``."""
        p = f".p{self.piece + 1}of{self.pieces}" if self.pieces > 1 else ""
        return f"{self.scene}.{self.kind}{p}"

    def manim_args(self, media_dir: str, file: str | None = None,
                   slides_file: str | None = None, slides_class: str | None = None) -> list[str]:
        """Arguments after ``python -m manim`` (or ``-m manim_slides``).

        >>> t = Task("tiny", "TinyScene", Path("c.py"), "video", "h", anims=(3, 7), piece=1,
        ...          pieces=3, encoders=4)
        >>> " ".join(t.manim_args("m"))
        'render -q h --media_dir m -o tiny --max-inflight-encoders 4 -n 3,7 c.py TinyScene'
        >>> " ".join(Task("tiny", "TinyScene", Path("c.py"), "video", "l", anims=(8, 9),
        ...                piece=2, pieces=3).manim_args("m"))       # the last: to the end
        'render -q l --media_dir m -o tiny -n 8 c.py TinyScene'
        >>> " ".join(Task("tiny", "TinyScene", Path("c.py"), "still", "l", True).manim_args("m"))
        'render -q l -s -t --media_dir m -o tiny c.py TinyScene'
        """
        file = file or str(self.file)
        if self.kind == "slides":
            return ["render", "-q", self.quality, "--media_dir", media_dir, "-o", self.scene,
                    str(slides_file), str(slides_class)]
        a = ["render", "-q", self.quality]
        if self.kind == "still":
            a += ["-s", *(["-t"] if self.transparent else [])]
        a += ["--media_dir", media_dir, "-o", self.scene]
        if self.kind == "video":
            a += ["-t", "--format", "mov"] if self.transparent else []
            a += ["--max-inflight-encoders", str(self.encoders)] if self.encoders > 1 else []
            if self.anims is not None:  # the last piece is open-ended: a stale count
                last = self.piece == self.pieces - 1  # can unbalance pieces, never cut the video
                a += ["-n", str(self.anims[0]) if last else f"{self.anims[0]},{self.anims[1]}"]
        return a + [file, self.class_name]


def pieces_for(n_videos: int, workers: int, split: str) -> int:
    """How many pieces each scene is cut into, before looking at its animations.

    ``split`` is ``auto`` (cut only when there are fewer scenes than workers: each scene
    into ceil(workers / scenes) pieces) or a number (every scene into that many).

    >>> pieces_for(7, 2, "auto"), pieces_for(1, 2, "auto"), pieces_for(3, 16, "auto")
    (1, 2, 6)
    >>> pieces_for(7, 2, "3"), pieces_for(1, 1, "auto")
    (3, 1)
    """
    if split != "auto":
        return max(1, int(split))
    if workers <= 1 or n_videos == 0:
        return 1
    return max(1, math.ceil(workers / n_videos))


def cut(durations: list[float], pieces: int, min_piece_s: float = MIN_PIECE_S
        ) -> list[tuple[int, int]]:
    """Split animations (their run times, in order) into at most ``pieces`` contiguous
    ranges ``(first, last)`` (inclusive) of about equal video time, none shorter than
    ``min_piece_s`` unless the scene is.

    >>> cut([1.0] * 10, 2)
    [(0, 4), (5, 9)]
    >>> cut([5, 1, 1, 1, 1, 1], 2)
    [(0, 0), (1, 5)]
    >>> cut([1.0] * 4, 3)            # 4 s of video: one piece of at least 3 s
    [(0, 3)]
    >>> cut([], 4)
    []
    """
    n = len(durations)
    if n == 0:
        return []
    total = float(sum(durations))
    k = max(1, min(pieces, n, int(total // min_piece_s) if min_piece_s > 0 else n))
    if k == 1:
        return [(0, n - 1)]
    bounds, acc, start = [], 0.0, 0
    cum = []
    for d in durations:
        acc += d
        cum.append(acc)
    for i in range(1, k):
        goal = total * i / k
        # the last animation of this piece: the one whose end is nearest the goal,
        # leaving at least one animation for each piece still to come
        best = min(range(start, n - (k - i)), key=lambda j: abs(cum[j] - goal))
        bounds.append((start, best))
        start = best + 1
    bounds.append((start, n - 1))
    return bounds


def order(tasks: list[Task]) -> list[Task]:
    """Longest expected job first (pieces of one scene stay in order among equals), so the
    last job to finish is a short one.

    >>> [t.scene for t in order([Task("a", "A", Path("a"), "video", "l", est_s=2),
    ...                          Task("b", "B", Path("b"), "video", "l", est_s=9)])]
    ['b', 'a']
    """
    return sorted(tasks, key=lambda t: -t.est_s)
