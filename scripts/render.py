"""Batch renderer behind ./render.sh: every scene (or those named), in parallel, to
predictable names, with a summary table. Run it through ./render.sh (which sets up first).

    ./render.sh                          all scenes at -ql into out/480p15/<scene>.mp4
    ./render.sh attention -q h           one scene at 1080p60
    ./render.sh --stills --gif --lecture also <scene>.png, <scene>.gif and lecture.mp4
    ./render.sh --slides                 manim-slides: out/<q>/slides/<scene>.html + lecture.html
    ./render.sh my_course.py             the scene classes of a course file of your own
    ./render.sh --gallery                assets/gallery/<scene>.png|gif for the README

Only the standard library is imported at the top: render.sh checks the options with the
system python before the set-up runs, so a typo fails in a second, not after a set-up.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUALITIES = {"l": "480p15", "m": "720p30", "h": "1080p60", "p": "1440p60", "k": "2160p60"}
PROG = "render.sh"
EXIT_USAGE = 2
GALLERY_DIR = ROOT / "assets" / "gallery"
GALLERY_GIF = (360, 8)  # width px, fps: small enough for a README


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(EXIT_USAGE, f"{PROG}: error: {message}; see ./render.sh --help\n")


def _positive_int(s: str) -> int:
    try:
        n = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{s} must be at least 1")
    return n


def parser() -> _Parser:
    p = _Parser(
        prog="./render.sh",
        description="Render gpt-scenes scenes in parallel to predictable file names, then print "
                    "a summary (scene, video seconds, render seconds, output).",
        epilog="Outputs: OUT/<quality>/<scene>.mp4 (.mov with --transparent), <scene>.png, "
               "<scene>.gif, lecture.mp4, slides/<scene>.html, slides/lecture.html; logs in "
               "OUT/<quality>/logs/. Course config: --course FILE, else $GPT_SCENES_COURSE, else "
               "./gpt-scenes.toml, else the defaults (assets/course.toml). Exit status: 0 all "
               "rendered, 1 a render failed, 2 bad option or course config.")
    p.add_argument("scenes", nargs="*", metavar="SCENE",
                   help="scene id (attention), class name (AttentionScene) or a course .py file "
                        "(all its scene classes); default: every scene in scenes/")
    p.add_argument("-q", "--quality", choices=list(QUALITIES), default="l",
                   help="l 480p15 (default), m 720p30, h 1080p60, p 1440p60, k 2160p60 "
                        "(also written -ql, -qh ...)")
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
    p.add_argument("-j", "--jobs", type=_positive_int, default=None, metavar="N",
                   help="parallel renders (default: the number of CPU cores)")
    p.add_argument("--course", metavar="FILE", help="course config TOML (default: see below)")
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
    for s in args.scenes:
        if s.endswith(".py") and not Path(s).is_file():
            p.error(f"course file {s} does not exist")
        if s.startswith("-"):
            p.error(f"unknown option {s}")
    if args.course and not Path(args.course).is_file():
        p.error(f"--course {args.course}: no such file")
    if args.slides and args.transparent:
        p.error("--slides and --transparent cannot be combined (slides play on the page background)")
    if args.gallery and args.quality != "l":
        p.error("--gallery renders at -ql (small files); leave out -q")
    args.gif_width = args.gif_width or (GALLERY_GIF[0] if args.gallery else 480)
    args.gif_fps = args.gif_fps or (GALLERY_GIF[1] if args.gallery else 10)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        p.error(f"--out {args.out} is a file, not a folder")
    return args


# ====================================================================== jobs
@dataclasses.dataclass
class Job:
    scene: str            # scene id
    kind: str             # video | still | slides
    cmd: list[str]
    media: Path
    ext: str              # expected output extension
    dest: Path
    log: Path
    proc: subprocess.Popen | None = None
    started: float = 0.0
    seconds: float = 0.0
    ok: bool | None = None
    error: str = ""
    seen: int = 0         # bytes of the log already relayed


@dataclasses.dataclass
class Row:
    scene: str
    class_name: str
    video: Path | None = None
    video_s: float | None = None
    render_s: float | None = None
    extras: list[Path] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _tail_status(text: str) -> str:
    """The latest progress fragment in a log (tqdm redraws with \\r)."""
    frags = [ANSI.sub("", f).strip() for f in re.split(r"[\r\n]", text)]
    frags = [f for f in frags if f]
    for f in reversed(frags):
        m = re.match(r"^(Animation \d+)\b.*?(\d+)%\|[^|]*\|\s*(\d+/\d+)", f)
        if m:
            return f"{m.group(1)} {m.group(2)}% ({m.group(3)} frames)"
        if f.startswith("Animation"):
            return f.split(":")[0]
    return ""


def _error_line(log: Path) -> str:
    """The most telling line of a failed job's log (the one-line user error, or the last)."""
    try:
        text = ANSI.sub("", log.read_text(errors="replace"))
    except OSError:
        return "no log"
    lines = [ln.strip() for ln in re.split(r"[\r\n]", text) if ln.strip() and not ln.strip(
        ).startswith(("│", "╭", "╰"))]
    for ln in reversed(lines):
        if ": error:" in ln:
            return ln[:240]
    for ln in reversed(lines):
        if re.match(r"^\w*(Error|Exception)\b", ln):
            return ln[:240]
    return lines[-1][:240] if lines else "failed (empty log)"


def _find_output(media: Path, name: str, ext: str, since: float) -> Path | None:
    hits = [p for p in media.rglob(f"{name}{ext}") if "partial_movie_files" not in p.parts
            and p.stat().st_mtime >= since - 1]
    return max(hits, key=lambda p: p.stat().st_mtime) if hits else None


def video_seconds(path: Path) -> float | None:
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
    except Exception:
        return None


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


def concat(videos: list[Path], dst: Path) -> None:
    """Stream-copy the videos one after another (same codec/size: all rendered alike)."""
    import io

    import av

    manifest = io.BytesIO("".join(f"file 'file:{v.resolve().as_posix()}'\n" for v in videos)
                          .encode())
    tmp = dst.with_name(dst.stem + ".part" + dst.suffix)
    with av.open(manifest, format="concat", options={"safe": "0", "an": "1"}) as inp:
        s = inp.streams.video[0]
        out = av.open(str(tmp), mode="w")
        o = out.add_stream_from_template(template=s)
        for pkt in inp.demux(s):
            if pkt.dts is None:
                continue
            pkt.dts = None
            pkt.stream = o
            out.mux(pkt)
        out.close()
    os.replace(tmp, dst)


# ====================================================================== main
def say(msg: str) -> None:
    print(f"[render] {msg}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.args_only:
        return 0
    sys.path.insert(0, str(ROOT))
    from tensors import UserError, exit_on_user_error

    with exit_on_user_error(PROG):
        return run(args)
    return 0


def run(args: argparse.Namespace) -> int:
    from scenes import course as C
    from tensors import UserError

    t_all = time.perf_counter()
    if args.gallery:
        args.stills = args.gif = True
        if not args.course:
            os.environ[C.ENV_VAR] = "none"  # the gallery shows the defaults
    if args.course:
        os.environ[C.ENV_VAR] = str(Path(args.course).resolve())
    cfg_path, source = C.find_config()
    os.environ[C.ENV_VAR] = str(cfg_path) if cfg_path else "none"
    course = C.load_course(cfg_path) if cfg_path else C.Course(None, {}, "none")

    files = [s for s in args.scenes if s.endswith(".py")]
    names = [s for s in args.scenes if not s.endswith(".py")]
    entries, failed = C.discover(files, all_classes=True)
    for path, msg in failed:
        say(f"skipped {path}: {msg}")
    if args.list:
        for e in entries:
            if e.primary:
                print(f"{e.id:<22} {e.class_name:<28} {e.file}")
        return 0
    in_files = [e for e in entries if Path(e.file) in {Path(f).resolve() for f in files}]
    if names:
        todo = C.select(entries, names)
    elif files:
        todo = in_files
    else:
        todo = C.select([e for e in entries if Path(e.file).parent == C.SCENES_DIR], [])
    if not todo:
        raise UserError("no scenes found in scenes/ (a scene is a GPTScene subclass with beats)")
    notes = C.check_course(course, entries, [p for p, _ in failed])
    for n in notes:
        say(n)
    say(f"course config: {course.label} ({source})" if cfg_path else
        "course config: none (the scenes' defaults)")

    q = QUALITIES[args.quality]
    out = Path(args.out) / q
    logs = out / "logs"
    media_root = Path(args.out) / ".media" / q
    jobs_n = args.jobs or os.cpu_count() or 1
    vext = ".mov" if args.transparent else ".mp4"
    slides_dir = out / "slides"
    env = dict(os.environ, COLUMNS="160", PYTHONUNBUFFERED="1")
    if args.slides:
        env["GPT_SCENES_SLIDES_DIR"] = str(slides_dir.resolve())
        if files:
            env["GPT_SCENES_SLIDES_FILES"] = os.pathsep.join(str(Path(f).resolve()) for f in files)

    jobs: list[Job] = []
    rows: dict[str, Row] = {}
    if not names:  # a scene file that does not import is a failure, not a silent skip
        for path, msg in failed:
            if not files or Path(path).resolve() in {Path(f).resolve() for f in files}:
                rows[Path(path).stem] = Row(Path(path).stem, "?", errors=[f"import: {msg}"])
    for e in todo:
        rows[e.id] = Row(e.id, e.class_name)
        base = ["-q", args.quality, "--media_dir"]
        tflags = ["-t", "--format", "mov"] if args.transparent else []
        if args.slides:
            from scenes.slides import slides_name

            cmd = [sys.executable, "-m", "manim_slides", "render", *base,
                   str((media_root / e.id).resolve()), "-o", e.id,
                   str(ROOT / "scenes" / "slides.py"), slides_name(e.cls)]
        else:
            cmd = [sys.executable, "-m", "manim", "render", *base,
                   str((media_root / e.id).resolve()), "-o", e.id, *tflags, str(e.file),
                   e.class_name]
        jobs.append(Job(e.id, "slides" if args.slides else "video", cmd, media_root / e.id,
                        vext, out / f"{e.id}{vext}", logs / f"{e.id}.video.log"))
        if args.stills:
            m = media_root / f"{e.id}-still"
            cmd = [sys.executable, "-m", "manim", "render", "-q", args.quality, "-s",
                   *(["-t"] if args.transparent else []), "--media_dir", str(m.resolve()),
                   "-o", e.id, str(e.file), e.class_name]
            jobs.append(Job(e.id, "still", cmd, m, ".png", out / f"{e.id}.png",
                            logs / f"{e.id}.still.log"))
    if args.dry_run:
        for j in jobs:
            print(" ".join(_q(c) for c in j.cmd), f"# -> {j.dest}")
        if args.gif:
            for e in todo:
                print(f"# gif {out / (e.id + vext)} -> {out / (e.id + '.gif')} "
                      f"({args.gif_width}px, {args.gif_fps} fps)")
        if args.lecture:
            print(f"# lecture: {' + '.join(e.id for e in todo)} -> {out / ('lecture' + vext)}")
        if args.slides:
            print(f"# slides html: {slides_dir}/<scene>.html, {slides_dir}/lecture.html")
        return 0

    # compute the traces once, in story order, before the parallel renders read them
    say(f"traces: {len(todo)} scene(s), cached after the first run")
    C._warm(course, entries, [e.class_name for e in todo])

    out.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    say(f"rendering {len(jobs)} job(s) at -q{args.quality} ({q}), {min(jobs_n, len(jobs))} at "
        f"a time; logs in {logs}")
    _run_jobs(jobs, jobs_n, env)

    for j in jobs:
        row = rows[j.scene]
        if not j.ok:
            row.errors.append(f"{j.kind}: {j.error} (log: {j.log})")
            continue
        if j.kind in ("video", "slides"):
            row.video, row.render_s = j.dest, j.seconds
            row.video_s = video_seconds(j.dest)
        else:
            row.extras.append(j.dest)
    if args.gif:
        for e in todo:
            row = rows[e.id]
            if row.video is None:
                continue
            dst = out / f"{e.id}.gif"
            t0 = time.perf_counter()
            try:
                to_gif(row.video, dst, args.gif_width, args.gif_fps)
                row.extras.append(dst)
                say(f"gif {dst} ({dst.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - t0:.1f} s)")
            except Exception as ex:  # noqa: BLE001 - reported in the summary
                row.errors.append(f"gif: {type(ex).__name__}: {ex}")
    lecture = None
    if args.lecture:
        vids = [rows[e.id].video for e in todo if rows[e.id].video is not None]
        if vids:
            lecture = out / f"lecture{vext}"
            concat(vids, lecture)
            say(f"lecture {lecture}: {' + '.join(e.id for e in todo if rows[e.id].video)}")
    html = []
    if args.slides:
        html = _convert_slides(todo, rows, slides_dir, env)
    if args.gallery:
        _gallery(todo, rows, out)

    _summary(list(rows.values()), lecture, html, time.perf_counter() - t_all)
    return 1 if any(r.errors for r in rows.values()) else 0


def _q(s: str) -> str:
    return s if re.match(r"^[\w./:=+-]+$", s) else "'" + s.replace("'", "'\\''") + "'"


def _run_jobs(jobs: list[Job], n: int, env: dict[str, str]) -> None:
    pending = list(jobs)
    running: list[Job] = []
    last_status = 0.0
    total, done = len(jobs), 0
    while pending or running:
        while pending and len(running) < n:
            j = pending.pop(0)
            j.media.mkdir(parents=True, exist_ok=True)
            j.log.parent.mkdir(parents=True, exist_ok=True)
            fh = open(j.log, "wb")
            j.started = time.time()
            j.proc = subprocess.Popen(j.cmd, stdout=fh, stderr=subprocess.STDOUT, env=env,
                                      stdin=subprocess.DEVNULL)
            fh.close()
            running.append(j)
            say(f"start {j.scene} ({j.kind})")
        time.sleep(0.25)
        for j in list(running):
            _relay(j)
            rc = j.proc.poll() if j.proc else 0
            if rc is None:
                continue
            running.remove(j)
            done += 1
            j.seconds = time.time() - j.started
            produced = _find_output(j.media, j.scene, j.ext, j.started) if rc == 0 else None
            if produced is not None:
                j.dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(produced, j.dest)
                j.ok = True
                say(f"done  {j.scene} ({j.kind}) in {j.seconds:.1f} s -> {j.dest}  [{done}/{total}]")
            else:
                j.ok = False
                j.error = _error_line(j.log) if rc else f"no {j.ext} file was written"
                say(f"FAILED {j.scene} ({j.kind}) after {j.seconds:.1f} s: {j.error}  [{done}/{total}]")
        now = time.time()
        if running and now - last_status >= 5:
            last_status = now
            parts = [f"{j.scene}: {_tail_status(_read_log(j.log)) or 'starting'}" for j in running]
            say("  |  ".join(parts))


def _read_log(p: Path) -> str:
    try:
        with open(p, "rb") as f:
            f.seek(max(0, p.stat().st_size - 4000))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


_RELAYED: set[str] = set()


def _relay(j: Job) -> None:
    """Relay the extraction reports ([gpt-scenes] lines) from a job's log as they appear
    (each distinct message once: every job resolves the same model)."""
    try:
        with open(j.log, "rb") as f:
            f.seek(j.seen)
            chunk = f.read()
    except OSError:
        return
    cut = chunk.rfind(b"\n")
    if cut < 0:
        return
    j.seen += cut + 1
    for line in chunk[:cut].decode("utf-8", "replace").splitlines():
        line = ANSI.sub("", line).strip()
        if line.startswith("[gpt-scenes]") and line not in _RELAYED:
            _RELAYED.add(line)
            print(f"[render] {j.scene}: {line}", file=sys.stderr, flush=True)


def _convert_slides(todo, rows: dict[str, Row], slides_dir: Path, env: dict[str, str]) -> list[Path]:
    from scenes.slides import slides_name

    done = [e for e in todo if rows[e.id].video is not None]
    html: list[Path] = []
    targets = [([slides_name(e.cls)], slides_dir / f"{e.id}.html", rows[e.id]) for e in done]
    if len(done) > 1:
        targets.append(([slides_name(e.cls) for e in done], slides_dir / "lecture.html", None))
    for classes, dst, row in targets:
        cmd = [sys.executable, "-m", "manim_slides", "convert", "--folder", str(slides_dir),
               *classes, str(dst)]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if r.returncode != 0 or not dst.is_file():
            msg = (r.stderr or r.stdout).strip().splitlines()
            err = f"slides html: {msg[-1] if msg else 'failed'}"
            if row is not None:
                row.errors.append(err)
            else:
                say(err)
            continue
        html.append(dst)
        if row is not None:
            row.extras.append(dst)
        say(f"slides {dst}")
    return html


def _gallery(todo, rows: dict[str, Row], out: Path) -> None:
    """Copy the stills (480 px wide) and GIFs into assets/gallery/ and print the README table."""
    GALLERY_DIR.mkdir(parents=True, exist_ok=True)
    lines = ["| scene | last frame (click for the animation) |", "|---|---|"]
    for e in todo:
        png, gif = out / f"{e.id}.png", out / f"{e.id}.gif"
        if not png.is_file():
            continue
        _small_png(png, GALLERY_DIR / f"{e.id}.png")
        img = f"![{e.id}](assets/gallery/{e.id}.png)"
        if gif.is_file():
            shutil.copy2(gif, GALLERY_DIR / f"{e.id}.gif")
            img = f"[{img}](assets/gallery/{e.id}.gif)"
        lines.append(f"| `{e.id}` ({e.class_name}) | {img} |")
        say(f"gallery {GALLERY_DIR / e.id}.png|gif")
    print("\n".join(lines))
    print(f"\n<!-- made by ./render.sh --gallery: {len(lines) - 2} scenes, bundled model, "
          "default course, -ql; stills 480 px, GIFs "
          f"{GALLERY_GIF[0]} px at {GALLERY_GIF[1]} fps -->")


def _small_png(src: Path, dst: Path, width: int = 480) -> None:
    from PIL import Image

    im = Image.open(src)
    if im.width > width:
        im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
    im.save(dst, optimize=True)


def _summary(rows: list[Row], lecture: Path | None, html: list[Path], wall: float) -> None:
    head = f"{'scene':<22} {'video s':>8} {'render s':>9} {'render/video':>13}  output"
    print()
    print(head)
    print("-" * len(head))
    for r in rows:
        vs = f"{r.video_s:.1f}" if r.video_s is not None else "—"
        rs = f"{r.render_s:.1f}" if r.render_s is not None else "—"
        rtf = f"{r.render_s / r.video_s:.2f}" if r.video_s and r.render_s else "—"
        outp = str(r.video) if r.video else "FAILED"
        extra = " ".join(p.suffix for p in r.extras)
        print(f"{r.scene:<22} {vs:>8} {rs:>9} {rtf:>13}  {outp}" + (f" (+ {extra})" if extra else ""))
        for err in r.errors:
            print(f"{'':<22} {'':>8} {'':>9} {'':>13}  ! {err}")
    total_v = sum(r.video_s or 0 for r in rows)
    total_r = sum(r.render_s or 0 for r in rows)
    print("-" * len(head))
    print(f"{'total':<22} {total_v:>8.1f} {total_r:>9.1f} {'':>13}  wall {wall:.1f} s")
    if lecture:
        print(f"lecture: {lecture} ({video_seconds(lecture) or 0:.1f} s)")
    for h in html:
        print(f"slides: {h}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
