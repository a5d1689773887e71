"""``./render.sh`` options: parsing and checking with the standard library only, so that
render.sh can check them with the system python before the set-up runs (a typo fails in a
second, exit 2, one line). :func:`main` then hands over to :mod:`scenes.render.run`.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .paths import GALLERY_DIR, GALLERY_GIF, ROOT
from .plan import QUALITIES

PROG = "render.sh"
EXIT_USAGE = 2
#: Manim's --max-inflight-encoders default: encode finished animations while the next one
#: renders (measured: render/video 0.90 → 0.76 over the seven scenes at 1080p60).
ENCODERS = 4
_ADDRESS = re.compile(r"^(auto|local|ray://\S+|[\w.-]+:\d+|\[[0-9a-fA-F:]+\]:\d+)$")


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)   # --lectur is an error, not --lecture
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # one line, exit 2
        see = "./render.sh" if PROG == "render.sh" else PROG
        self.exit(EXIT_USAGE, f"{PROG}: error: {message}; see {see} --help\n")


def _positive_int(s: str) -> int:
    try:
        n = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{s} must be at least 1")
    return n


def _qualities(s: str) -> str:
    """``l``, or several: ``l,h`` (each once, in the order given)."""
    qs = [q.strip() for q in s.split(",")]
    bad = [q for q in qs if q not in QUALITIES]
    if bad or not qs:
        raise argparse.ArgumentTypeError(f"{s!r}: choose from {', '.join(QUALITIES)} "
                                         "(several: l,h)")
    return ",".join(dict.fromkeys(qs))


def _split(s: str) -> str:
    return "auto" if s == "auto" else str(_positive_int(s))


def parser() -> _Parser:
    p = _Parser(
        prog="./render.sh" if PROG == "render.sh" else PROG,
        description="Render gpt-scenes scenes in parallel to predictable file names, then print "
                    "a summary (scene, video seconds, render seconds, output).",
        epilog="Outputs: OUT/<quality>/<scene>.mp4 (OUT/<course>/<quality>/ for a course named by "
               "--course or $GPT_SCENES_COURSE, <course> its name key or file name; "
               ".mov with --transparent), <scene>.srt and "
               "<scene>.vtt (subtitles: the captions, timed), <scene>.png, <scene>.gif, "
               "lecture.mp4 (a chapter per scene) with lecture.srt/.vtt, slides/<scene>.html, "
               "slides/lecture.html (reveal.js copied beside them: works offline); logs in "
               "OUT/<quality>/logs/. Course config: --course FILE, else $GPT_SCENES_COURSE, else "
               "./gpt-scenes.toml, else the defaults (scenes/kit/course/course.toml). A scene may be "
               "rendered as several pieces (ranges of its animations) in parallel and joined "
               "without re-encoding: the same frames as one process. Exit status: 0 all "
               "rendered (and checked, with --check), 1 a render failed or a check found "
               "problems, 2 bad option, course config or cluster, "
               "130/143 interrupted (Ctrl-C / SIGTERM).")
    p.add_argument("scenes", nargs="*", metavar="SCENE",
                   help="scene id (attention), class name (AttentionScene) or a course .py file "
                        "(all its scene classes); default: every scene in scenes/")
    p.add_argument("-q", "--quality", type=_qualities, default="l", metavar="Q[,Q…]",
                   help="l 480p15 (default), m 720p30, h 1080p60, p 1440p60, k 2160p60 "
                        "(also written -ql, -qh ...); several, rendered in one run: -q l,h")
    p.add_argument("--out", default="out", metavar="DIR", help="output folder (default: out)")
    p.add_argument("--stills", action="store_true", help="also the last frame as <scene>.png")
    p.add_argument("--gif", action="store_true",
                   help="also a small GIF preview <scene>.gif (see --gif-width, --gif-fps)")
    p.add_argument("--gif-width", type=_positive_int, default=None, metavar="PX",
                   help="GIF width in pixels (default 480; 360 for --gallery)")
    p.add_argument("--gif-fps", type=_positive_int, default=None, metavar="N",
                   help="GIF frames per second (default 10; 8 for --gallery)")
    p.add_argument("--transparent", action="store_true",
                   help="transparent background: <scene>.mov (alpha), PNG stills with alpha")
    p.add_argument("--lecture", action="store_true",
                   help="also lecture.mp4: the rendered scenes concatenated in story order")
    p.add_argument("--slides", action="store_true",
                   help="render with manim-slides (a slide per beat) and convert to HTML: "
                        "slides/<scene>.html and slides/lecture.html")
    p.add_argument("--html", action="store_true",
                   help="also interactive pages from the same traces: html/<scene>.html and "
                        "html/index.html (d3 copied beside them: works offline)")
    p.add_argument("--check", action="store_true",
                   help="also run the legibility and equation-ledger checks of each scene (those "
                        "of gpt-scenes check FILE.py) beside its render; findings per scene in "
                        "the summary and in logs/<scene>.check.json; exit status 1 if any")
    p.add_argument("--voice", action="store_true",
                   help="narrate: each caption spoken by the offline Piper voice (the course's "
                        "[voice] names another voice and speed), AAC audio in the mp4")
    p.add_argument("--burn-subtitles", action="store_true",
                   help="also <scene>.subtitled.mp4 (and lecture.subtitled.mp4): the subtitles "
                        "drawn into the frames, in place of the scene's own caption (same words)")
    p.add_argument("-j", "--jobs", type=_positive_int, default=None, metavar="N",
                   help="parallel renders (default: the number of CPU cores; with --ray: "
                        "the cluster's CPUs)")
    p.add_argument("--split", type=_split, default="auto", metavar="N|auto",
                   help="render each scene as N pieces (ranges of its animations) in parallel "
                        "and join them losslessly; auto (default): only when there are fewer "
                        "scenes than parallel jobs; 1: never (a narrated scene's pieces "
                        "keep its soundtrack whole)")
    p.add_argument("--max-inflight-encoders", type=_positive_int, default=ENCODERS, metavar="N",
                   dest="encoders",
                   help=f"animations a render encodes while drawing the next (manim's option; "
                        f"default {ENCODERS}, 1 = one after another)")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="run the jobs on a Ray cluster (host:port, ray://host:port, auto); "
                        "without ADDRESS a local Ray instance. Needs the ray extra: "
                        ".venv/bin/pip install ray==2.60.0")
    p.add_argument("--course", metavar="FILE", action="append",
                   help="course config TOML (default: see below), rendered into OUT/<course>/ "
                        "(its name key, else its file name); given more than once, every "
                        "course is rendered in one run")
    p.add_argument("--gallery", action="store_true",
                   help=f"README gallery: stills and small GIFs of every scene into "
                        f"{GALLERY_DIR.relative_to(ROOT)}/ (default course, -ql)")
    p.add_argument("--list", action="store_true", help="list the scenes found and exit")
    p.add_argument("--dry-run", action="store_true",
                   help="check options and course config, print the commands, render nothing")
    p.add_argument("--args-only", action="store_true", help=argparse.SUPPRESS)
    return p


def parse(argv: list[str]) -> argparse.Namespace:
    p = parser()
    args = p.parse_intermixed_args(argv)  # scenes may come before or after the options
    if args.ray is not None and not _ADDRESS.match(args.ray):
        args.scenes.insert(0, args.ray)  # `--ray attention`: a scene, not an address
        args.ray = "local"
    for s in args.scenes:
        if s.endswith(".py") and not Path(s).is_file():
            p.error(f"course file {s} does not exist")
        if s.startswith("-"):
            p.error(f"unknown option {s}")
    for c in args.course or []:
        if not Path(c).is_file():
            p.error(f"--course {c}: " + ("a folder, not a TOML file" if Path(c).is_dir() else
                                         "a symlink loop" if Path(c).is_symlink() else "no such file"))
    if args.course and len({Path(c).stem for c in args.course}) < len(args.course):
        p.error("--course: two course files with the same name would share an output folder")
    if args.slides and args.transparent:
        p.error("--slides and --transparent cannot be combined (slides play on the page background)")
    if args.ray is not None and args.slides:
        p.error("--ray renders videos and stills; render --slides without --ray")
    if args.ray is not None and args.check:
        p.error("--check runs here beside the renders; render --check without --ray")
    if args.ray is not None and args.voice:
        p.error("--voice renders here (the voice files are on this machine); leave out --ray")
    if args.burn_subtitles and args.transparent:
        p.error("--burn-subtitles draws on opaque frames; leave out --transparent")
    if args.gallery and (args.quality != "l" or len(args.course or []) > 1):
        p.error("--gallery renders the default course at -ql (small files); leave out -q")
    args.gif_width = args.gif_width or (GALLERY_GIF[0] if args.gallery else 480)
    args.gif_fps = args.gif_fps or (GALLERY_GIF[1] if args.gallery else 10)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        p.error(f"--out {args.out} is a file, not a folder")
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.args_only:
        return 0
    from .pool import Interrupted, raise_on_signals

    raise_on_signals()
    try:
        sys.path.insert(0, str(ROOT))
        from tensors import exit_on_user_error

        from . import run

        with exit_on_user_error(PROG):
            return run.run(args)
        return EXIT_USAGE
    except (Interrupted, KeyboardInterrupt) as e:
        code = e.code if isinstance(e, Interrupted) else 130
        print(f"{PROG}: interrupted ({'SIGINT' if code == 130 else 'SIGTERM'}); "
              "stopped every render; unfinished outputs were not written", file=sys.stderr,
              flush=True)
        return code
