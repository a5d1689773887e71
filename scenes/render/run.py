"""One ./render.sh run after the options are checked: course config, scene selection, the
job list (scenes × pieces, stills, slides), the traces computed once, the jobs run here
(:mod:`.pool`) or on a Ray cluster (:mod:`.ray_jobs`), pieces joined, then GIFs, the
lecture, slides HTML, the gallery and the summary table.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from . import narration, plan
from .paths import ROOT
from .media import add_soundtrack, concat, to_gif, video_seconds
from .plan import QUALITIES, Task
from .playcount import MARK, plays_cache_key
from .pool import Job, run_jobs, say, stop
from .summary import Row, print_summary

PKG_PARENT = ROOT  # the folder holding the scenes and tensors packages (for python -m scenes.render.…)


@dataclasses.dataclass
class Batch:
    """One course at one quality: its scenes, output folder, jobs and summary rows. A run
    renders every batch's jobs together (here or on Ray), then finishes each batch."""

    label: str                  # "" for a run of one course at one quality
    quality: str
    out: Path
    todo: list
    rows: dict[str, Row]
    jobs: list[Job]
    env: dict[str, str]         # this batch's environment (its course, its voice)
    cache_files: list[tuple[str, Path]]
    vext: str
    slides_dir: Path
    course: object = None       # the course config (chapter titles, speaker notes)


def run(args: argparse.Namespace) -> int:
    from tensors import UserError

    from . import scenes_api as S

    from tensors.store import sweep_stale_temps, writable_folder

    t_all = time.perf_counter()
    writable_folder(args.out, f"--out {args.out}")  # also for --dry-run: it would fail later
    if not args.dry_run:  # what killed runs left (.<name>.tmp.<pid>): the cache home, --out
        n = sweep_stale_temps() + sweep_stale_temps(args.out)
        if n:
            say(f"removed {n} temporary file(s) left by interrupted runs")
    if args.gallery:
        args.stills = args.gif = True
    courses = args.course or [None]
    qualities = args.quality.split(",")
    multi = len(courses) * len(qualities) > 1
    cluster = _Cluster(args)
    batches: list[Batch] = []
    for course_arg in courses:
        for quality in qualities:
            b = _prepare(args, course_arg, quality, multi and len(courses) > 1,
                         len(courses) * len(qualities), cluster, S, UserError)
            if isinstance(b, int):  # --list, --dry-run: printed
                if args.list:
                    return b
                continue
            batches.append(b)
    if not batches:
        return 0
    folders = [(b.label, b.quality) for b in batches]
    if len(set(folders)) < len(folders):
        raise UserError("two courses have the same name (their name key or file name): they "
                        "would share an output folder; give one another name = \"...\"")
    ray, workers = cluster.ray, cluster.workers()
    jobs = [j for b in batches for j in b.jobs]
    files = list(dict.fromkeys(f for b in batches for f in b.cache_files))
    where = f"on Ray ({ray.label})" if ray else "here"
    n_split = len({(b.out, j.task.scene) for b in batches for j in b.jobs if j.task.pieces > 1})
    say(f"rendering {len(jobs)} job(s) " + ", ".join(f"{b.label or ''}-q{b.quality} "
                                                    f"({QUALITIES[b.quality]})" for b in batches)
        + f" {where}, {min(workers, len(jobs))} at a time"
        + (f"; {n_split} scene(s) in pieces" if n_split else "")
        + f"; logs in {', '.join(str(b.out / 'logs') for b in batches)}")
    if ray:
        ray.run(jobs, files, batches[0].env)
    else:
        run_jobs(jobs, workers, batches[0].env)
    wall = time.perf_counter() - t_all
    status = 0
    for b in batches:
        status = max(status, _finish(args, b, wall, S))
    return status


class _Cluster:
    """Where the jobs run: Ray (``--ray``), joined when the first batch needs to know its
    CPUs — after that batch's course config was checked, so a bad course starts no Ray."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args, self.ray = args, None

    def workers(self) -> int:
        a = self.args
        if a.ray is not None and not a.dry_run and self.ray is None:
            from . import ray_jobs

            self.ray = ray_jobs.connect(a.ray, a.jobs)  # one line + exit 2 if unreachable
        return a.jobs or (self.ray.cpus if self.ray else os.cpu_count() or 1)


def _prepare(args: argparse.Namespace, course_arg: str | None, quality: str, per_course: bool,
             n_batches: int, cluster: _Cluster, S, UserError) -> "Batch | int":  # noqa: ANN001
    """Course config, scene selection and this batch's jobs (traces computed, scenes cut:
    the pieces are chosen from all ``n_batches`` batches' scenes, which run together)."""
    if args.gallery and not course_arg:
        os.environ[S.ENV_VAR] = "none"  # the gallery shows the defaults
    if course_arg:
        os.environ[S.ENV_VAR] = str(Path(course_arg).resolve())
    cfg_path, source = S.find_config()
    given = bool(course_arg) or source == "env"   # named by --course or $GPT_SCENES_COURSE
    source = "--course" if course_arg else source  # (the env var is how it reaches manim)
    os.environ[S.ENV_VAR] = str(cfg_path) if cfg_path else "none"
    course = S.load_course(cfg_path) if cfg_path else S.Course(None, {}, "none")

    files = [s for s in args.scenes if s.endswith(".py")]
    names = [s for s in args.scenes if not s.endswith(".py")]
    own = [str(f) for f in S.course_scene_files(course)]  # the course's scene_files
    entries, failed = S.discover(list(dict.fromkeys(files + own)), all_classes=True)
    S.check_imports(files, failed)  # a course .py the user named that raises: its exception
    for path, msg in failed:
        say(f"skipped {path}: {msg}")
    if args.list:
        for e in entries:
            if e.primary:
                print(f"{e.id:<22} {e.class_name:<28} {e.file}")
        return 0
    in_files = [e for e in entries if Path(e.file) in {Path(f).resolve() for f in files}]
    order = S.scene_order(course)
    if names:
        todo = S.select(entries, names)
    elif files:
        todo = in_files
    elif order:  # the course names its scenes, in its order
        todo = S.select(entries, order)
    else:
        own_files = {Path(f).resolve() for f in own}
        todo = S.select([e for e in entries if Path(e.file).parent == S.SCENES_DIR
                         or Path(e.file) in own_files], [])
    if not todo:
        raise UserError("no scenes found in scenes/ (a scene is a GPTScene subclass with beats)")
    for n in S.check_course(course, entries, [p for p, _ in failed], rendered=todo):
        say(n)
    say(f"course config: {course.label} ({source})" if cfg_path else
        "course config: none (the scenes' defaults)")

    q = QUALITIES[quality]
    # a named course renders into its own folder: OUT/<name or file stem>/<quality>/
    label = S.out_name(course, given) or (Path(course_arg).stem if per_course and course_arg else "")
    out = Path(args.out) / label / q if label else Path(args.out) / q
    logs = out / "logs"
    media_root = (Path(args.out) / ".media" / label / q) if label else Path(args.out) / ".media" / q
    vext = ".mov" if args.transparent else ".mp4"
    slides_dir = out / "slides"
    env = dict(os.environ, COLUMNS="160", PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join(p for p in (str(PKG_PARENT), os.environ.get("PYTHONPATH")) if p))
    if args.slides:
        env["GPT_SCENES_SLIDES_DIR"] = str(slides_dir.resolve())
        if files or own:
            env["GPT_SCENES_SLIDES_FILES"] = os.pathsep.join(
                dict.fromkeys(str(Path(f).resolve()) for f in files + own))

    voice = narration.run_voice(args, course)  # a bad voice: one line, exit 2, before any job
    env.update(S.voice_env(voice))
    silent = S.voice_env(dataclasses.replace(voice, enabled=False))  # stills: nothing to say
    if voice.enabled:
        say(f"voice: {voice.model or 'the bundled en_US-joe-medium'} at speed {voice.speed:g}")

    rows: dict[str, Row] = {}
    if not names:  # a scene file that does not import is a failure, not a silent skip
        for path, msg in failed:
            if not files or Path(path).resolve() in {Path(f).resolve() for f in files}:
                rows[Path(path).stem] = Row(Path(path).stem, "?", errors=[f"import: {msg}"])
    tasks: list[Task] = []
    for e in todo:
        rows[e.id] = Row(e.id, e.class_name)
        kind = "slides" if args.slides else "video"
        tasks.append(Task(e.id, e.class_name, Path(e.file), kind, quality,
                          args.transparent, args.encoders))
        if args.stills:
            tasks.append(Task(e.id, e.class_name, Path(e.file), "still", quality,
                              args.transparent))
        if args.check:  # legibility + ledger, beside the renders
            tasks.append(Task(e.id, e.class_name, Path(e.file), "check", quality))
    videos = [t for t in tasks if t.kind == "video"]
    workers = cluster.workers()
    pieces = plan.pieces_for(len(videos) * n_batches, workers, args.split)

    def cmd_of(t: Task, media: Path) -> list[str]:
        if t.kind == "check":
            return [sys.executable, "-m", "scenes.render.check_job", str(t.file), t.class_name,
                    str(media.resolve() / f"{t.scene}.json")]
        if t.kind == "slides":
            return [sys.executable, "-m", "manim_slides", *t.manim_args(
                str(media.resolve()), slides_file=str(S.SLIDES_FILE),
                slides_class=S.slides_name(next(e.cls for e in todo if e.id == t.scene)))]
        return [sys.executable, "-m", "scenes.render.exact_manim", *t.manim_args(str(media.resolve()))]

    if args.dry_run:
        for t in tasks:
            dest = _dest(t, out)
            media = media_root / _media_name(t)
            print(" ".join(_q(c) for c in cmd_of(t, media)), f"# -> {dest}")
        if pieces > 1 and videos:
            print(f"# split: each scene into up to {pieces} pieces (-n FIRST,LAST), cut at run "
                  "time from its animations' run times, joined without re-encoding")
        if args.gif:
            for e in todo:
                print(f"# gif {out / (e.id + vext)} -> {out / (e.id + '.gif')} "
                      f"({args.gif_width}px, {args.gif_fps} fps)")
        print(f"# subtitles: {out}/<scene>.srt and .vtt" + (", narrated (AAC audio)"
                                                              if voice.enabled else ""))
        if args.lecture:
            print("# lecture: a chapter per scene; its subtitles lecture.srt/.vtt")
            print(f"# lecture: {' + '.join(e.id for e in todo)} -> {out / ('lecture' + vext)}")
        if args.burn_subtitles:
            print(f"# burn subtitles: {out}/<scene>.subtitled.mp4")
        if args.slides:
            print(f"# slides html: {slides_dir}/<scene>.html, {slides_dir}/lecture.html")
        if args.check:
            print(f"# check: legibility + equation ledger of each scene -> {logs}/<scene>.check.json")
        if args.ray is not None:
            print(f"# on Ray ({args.ray}): the same jobs, outputs copied back here")
        return 0

    # compute the traces once, in story order, before the parallel renders read them
    say(f"traces: {len(todo)} scene(s), cached after the first run")
    trace_files = S.warm_traces(course, entries, [e.class_name for e in todo])

    out.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    plays = Path(args.out) / ".media" / "plays"  # animation run times, any quality
    if pieces > 1 and videos:
        durations = count_plays(videos, min(workers, os.cpu_count() or 1), env, plays, logs)
        tasks = split_tasks(tasks, durations, pieces,
                            plan.MIN_PIECE_S if args.split == "auto" else 0.0)
    else:
        for t in videos:
            t.est_s = 1.0
    tasks = plan.order(tasks)
    jobs = []
    for t in tasks:
        if t.pieces > 1:  # apart from the whole render's folder (whose outputs have its name)
            media = media_root / f"{t.scene}-pieces" / f"p{t.piece + 1}of{t.pieces}"
        else:
            media = media_root / _media_name(t)
        dest = None if t.pieces > 1 else _dest(t, out)
        # this batch's course; nothing to say in a still or a check
        jenv = dict(env, **silent) if t.kind in ("still", "check") else dict(env)
        if t.kind == "video" and t.piece == t.pieces - 1 and not cluster.ray:
            # runs to the end: its run times cut the scene next time (keyed by the voice too)
            jenv["RENDER_PLAYS_OUT"] = str(_plays_file(t, plays, env).resolve())
        jobs.append(Job(t, cmd_of(t, media), media, logs / f"{t.key}.log", dest, env=jenv))
    return Batch(label, quality, out, todo, rows, jobs, env, trace_files, vext, slides_dir, course)


def _finish(args: argparse.Namespace, b: Batch, wall: float, S) -> int:  # noqa: ANN001
    """Join pieces, subtitles, GIFs, the lecture, burned subtitles, slides, the gallery and
    the summary of one batch."""
    jobs, rows, out, todo = b.jobs, b.rows, b.out, b.todo
    _collect(jobs, rows, out)
    for e in todo:  # <scene>.srt / .vtt beside each video
        js = [j for j in jobs if j.task.scene == e.id and j.task.kind in ("video", "slides")]
        if rows[e.id].video is not None:
            narration.write_scene_subtitles(rows[e.id], narration.srt_of(js), out, e.id)
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
    lecture = narration.lecture(todo, rows, out, b.vext, b.course) if args.lecture else None
    if args.burn_subtitles:
        for e in todo:
            if rows[e.id].video is not None:
                narration.burn(rows[e.id].video, out / f"{e.id}.srt", rows[e.id])
        if lecture is not None:
            narration.burn(lecture, out / "lecture.srt", None)
    html: list[Path] = []
    if args.slides:
        from .slides import convert_slides

        html = convert_slides(todo, rows, b.slides_dir, b.env, S.slides_name,
                              S.convert_options(b.slides_dir))
    if getattr(args, "html", False):  # interactive pages from the same traces (scenes.kit.pages)
        from scenes.kit.pages import write_for_entries

        write_for_entries(todo, out / "html", b.label or "Lecture", say, b.env)
    if args.gallery:
        from .gallery import make_gallery

        make_gallery(todo, rows, out)
    if b.label or "," in args.quality:
        print(f"\n# {out}")
    print_summary(list(rows.values()), lecture, html, wall)
    return 1 if any(r.errors or r.check_failed for r in rows.values()) else 0


def _collect(jobs: list[Job], rows: dict[str, Row], out: Path) -> None:
    """Fill the summary rows; join each split scene's pieces (in order) into its file."""
    by_scene: dict[tuple[str, str], list[Job]] = {}
    for j in jobs:
        by_scene.setdefault((j.task.scene, j.task.kind), []).append(j)
    for (scene, kind), js in by_scene.items():
        row = rows[scene]
        js.sort(key=lambda j: j.task.piece)
        bad = [j for j in js if not j.ok]
        for j in bad:
            row.errors.append(f"{j.task.label}: {j.error} (log: {j.log})")
        if bad:
            continue
        t = js[0].task
        dest = out / f"{scene}{t.ext}"
        if t.pieces > 1:
            concat([j.output for j in js if j.output], dest)
            # narrated: the last piece's Manim left the whole scene's soundtrack (exact_manim)
            last = js[-1].output
            wav = last.with_suffix(".wav") if last is not None else None
            sound = (kind == "video" and wav is not None and wav.is_file()
                     and wav.stat().st_mtime >= js[-1].started - 1)
            if sound:
                add_soundtrack(dest, wav)
            say(f"joined {t.pieces} pieces of {scene} -> {dest}" + (" with its narration" if sound else ""))
        span = max(j.ended for j in js) - min(j.started for j in js)
        if kind in ("video", "slides"):
            row.video, row.render_s, row.pieces = dest, span, t.pieces
            row.video_s = video_seconds(dest)
        elif kind == "check":
            row.check_file = js[0].dest
            row.check = json.loads(row.check_file.read_text(encoding="utf-8"))
        else:
            row.extras.append(dest)


def count_plays(videos: list[Task], n: int, env: dict[str, str], cache: Path, logs: Path
                ) -> dict[str, list[float]]:
    """Each scene's animation run times: from the cache (written by any earlier render of
    the scene that ran to its end, or an earlier count), else a dry run per scene, ``n`` at
    a time. A scene whose count fails renders whole."""
    cenv = dict(env, PYTHONPATH=os.pathsep.join([str(ROOT), env["PYTHONPATH"]]))
    result: dict[str, list[float]] = {}
    todo = []
    for t in videos:
        f = _plays_file(t, cache, env)
        try:
            result[t.scene] = json.loads(f.read_text())["durations"]
        except (OSError, ValueError, KeyError):
            todo.append((t, f))
    t0 = time.perf_counter()
    if todo:
        say(f"counting the animations of {len(todo)} scene(s) (a dry run each; cached)")
    running: list[tuple[subprocess.Popen, Task, Path, Path]] = []
    try:
        while todo or running:
            while todo and len(running) < n:
                t, f = todo.pop(0)
                log = logs / f"{t.scene}.count.log"
                with open(log, "wb") as fh:
                    p = subprocess.Popen([sys.executable, "-m", "scenes.render.playcount", str(t.file),
                                          t.class_name, "-q", t.quality], stdout=fh,
                                         stderr=subprocess.STDOUT, env=cenv,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
                running.append((p, t, f, log))
            time.sleep(0.2)
            for item in list(running):
                p, t, f, log = item
                if p.poll() is None:
                    continue
                running.remove(item)
                text = log.read_text(errors="replace")
                m = re.search("^" + re.escape(MARK) + "(.*)$", text, re.M)
                if p.returncode == 0 and m:
                    d = json.loads(m.group(1))["durations"]
                    result[t.scene] = d
                    tmp = f.with_suffix(".part")
                    tmp.write_text(json.dumps({"durations": d}))
                    os.replace(tmp, f)
                else:
                    say(f"could not count the animations of {t.scene} (log: {log}); "
                        "rendering it in one piece")
    except BaseException:
        stop([p for p, *_ in running])
        raise
    if t0 and time.perf_counter() - t0 > 1:
        say(f"counted in {time.perf_counter() - t0:.1f} s: "
            + ", ".join(f"{s} {len(d)} animations ({sum(d):.1f} s)" for s, d in result.items()))
    return result


def _plays_file(t: Task, cache: Path, env: dict[str, str]) -> Path:
    """Where the run times of ``t``'s scene are cached (keyed by its sources and course)."""
    cache.mkdir(parents=True, exist_ok=True)
    key = plays_cache_key(t.file, t.class_name, [ROOT / "scenes", ROOT / "tensors"],
                          env.get("GPT_SCENES_COURSE"), env)
    return cache / f"{key}.json"


def split_tasks(tasks: list[Task], durations: dict[str, list[float]], pieces: int,
                min_piece_s: float = plan.MIN_PIECE_S) -> list[Task]:
    """Replace each video task by its pieces (``-n FIRST,LAST`` ranges of equal run time;
    none shorter than ``min_piece_s`` seconds of video unless the scene is)."""
    from dataclasses import replace

    out: list[Task] = []
    for t in tasks:
        d = durations.get(t.scene)
        if t.kind != "video" or not d:
            t.est_s = 1.0 if t.kind == "video" else 0.0  # a still is quick: last
            out.append(t)
            continue
        ranges = plan.cut(d, pieces, min_piece_s)
        if len(ranges) == 1:
            out.append(replace(t, est_s=sum(d)))
            continue
        for i, (a, b) in enumerate(ranges):
            out.append(replace(t, anims=(a, b), piece=i, pieces=len(ranges),
                               est_s=sum(d[a:b + 1])))
    return out


def _dest(t: Task, out: Path) -> Path:
    """Where a job's output goes: ``out/<scene>.mp4|.png``; a check's findings into the logs."""
    return out / "logs" / f"{t.scene}.check.json" if t.kind == "check" else out / f"{t.scene}{t.ext}"


def _media_name(t: Task) -> str:
    """A job's manim media folder (under the batch's): the scene's, or its still's / check's."""
    return t.scene if t.kind in ("video", "slides") else f"{t.scene}-{t.kind}"


def _q(s: str) -> str:
    return s if re.match(r"^[\w./:=+-]+$", s) else "'" + s.replace("'", "'\\''") + "'"
