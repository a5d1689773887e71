"""Run manim jobs on this machine: N child processes at a time, progress per job and in
total, and a clean stop on Ctrl-C / SIGTERM (every child stopped, its half-written media
removed so the next run renders it again, one line, exit 130 / 143).

Each child gets its own session (process group), so a stop reaches the encoders it started
too, and the terminal's Ctrl-C goes to the driver alone (no traceback from every child).
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from .plan import Task

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Interrupted(Exception):
    """Ctrl-C (SIGINT) or SIGTERM: ``code`` is the exit status (128 + signal number)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.code = 128 + signum


def raise_on_signals() -> None:
    """SIGINT and SIGTERM raise :class:`Interrupted` in the main thread."""
    def handler(signum, frame):  # type: ignore[no-untyped-def]
        # a second Ctrl-C while the children are being stopped must not cut that short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Interrupted(signum)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def say(msg: str) -> None:
    print(f"[render] {msg}", file=sys.stderr, flush=True)


@dataclasses.dataclass
class Job:
    task: Task
    cmd: list[str]
    media: Path               # the job's own media folder (manim's --media_dir)
    log: Path
    dest: Path | None = None  # copied there when done (pieces: joined later instead)
    env: dict[str, str] = dataclasses.field(default_factory=dict)  # added to the run's env
    output: Path | None = None
    proc: subprocess.Popen | None = None
    started: float = 0.0
    ended: float = 0.0
    ok: bool | None = None
    error: str = ""
    seen: int = 0             # bytes of the log already relayed

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def tail_status(text: str, anims: tuple[int, int] | None = None) -> str:
    """The latest progress fragment in a log (tqdm redraws with \\r).

    >>> tail_status("x\\rAnimation 3: Write(Text)  40%|####  | 6/15 [00:01<00:02]")
    'Animation 3 40% (6/15 frames)'
    >>> tail_status("Animation 5: Create  10%|#| 1/9", anims=(4, 7))
    'animation 2 of 4 (10%)'
    >>> tail_status("Animation 1: Create  10%|#| 1/9", anims=(4, 7))
    'fast-forwarding to animation 4'
    """
    frags = [ANSI.sub("", f).strip() for f in re.split(r"[\r\n]", text)]
    for f in reversed([f for f in frags if f]):
        m = re.match(r"^Animation (\d+)\b.*?(\d+)%\|[^|]*\|\s*(\d+/\d+)", f)
        if m and anims is not None:
            i = int(m.group(1)) - anims[0] + 1
            if i < 1:
                return f"fast-forwarding to animation {anims[0]}"
            return f"animation {i} of {anims[1] - anims[0] + 1} ({m.group(2)}%)"
        if m:
            return f"Animation {m.group(1)} {m.group(2)}% ({m.group(3)} frames)"
        if f.startswith("Animation"):
            return f.split(":")[0]
    return ""


def error_line(log: Path) -> str:
    """The most telling line of a failed job's log (the one-line user error, or the last)."""
    try:
        text = ANSI.sub("", log.read_text(errors="replace"))
    except OSError:
        return "no log"
    lines = [ln.strip() for ln in re.split(r"[\r\n]", text)
             if ln.strip() and not ln.strip().startswith(("│", "╭", "╰"))]
    for ln in reversed(lines):
        if ": error:" in ln:
            return ln[:240]
    for ln in reversed(lines):
        if re.match(r"^\w*(Error|Exception)\b", ln):
            return ln[:240]
    return lines[-1][:240] if lines else "failed (empty log)"


def find_output(media: Path, name: str, ext: str, since: float) -> Path | None:
    """The newest ``name+ext`` manim wrote under ``media`` (not a partial movie file)."""
    hits = [p for p in media.rglob(f"{name}{ext}") if "partial_movie_files" not in p.parts
            and p.stat().st_mtime >= since - 1]
    return max(hits, key=lambda p: p.stat().st_mtime) if hits else None


def copy_atomic(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".part")
    shutil.copy2(src, tmp)
    os.replace(tmp, dst)


def _read_tail(p: Path) -> str:
    try:
        with open(p, "rb") as f:
            f.seek(max(0, p.stat().st_size - 4000))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


class Relay:
    """Relays the model reports (``[gpt-scenes]`` lines) from job logs, each message once
    (every job resolves the same model)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def lines(self, label: str, text: str) -> None:
        for line in text.splitlines():
            line = ANSI.sub("", line).strip()
            if line.startswith("[gpt-scenes]") and line not in self.seen:
                self.seen.add(line)
                print(f"[render] {label}: {line}", file=sys.stderr, flush=True)

    def job(self, j: Job) -> None:
        try:
            with open(j.log, "rb") as f:
                f.seek(j.seen)
                chunk = f.read()
        except OSError:
            return
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            j.seen += cut + 1
            self.lines(j.task.label, chunk[:cut].decode("utf-8", "replace"))


def stop(procs: list[subprocess.Popen], grace: float = 3.0) -> None:
    """SIGTERM each child's process group, then SIGKILL what is left after ``grace`` s."""
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
    deadline = time.time() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            p.wait()


def run_jobs(jobs: list[Job], n: int, env: dict[str, str], status_every: float = 5.0) -> None:
    """Run ``jobs`` (in the order given), ``n`` at a time. Sets ok/output/error/seconds on
    each; copies a finished job's output to its ``dest``. On :class:`Interrupted` (or any
    exception) every running child is stopped and its media folder removed (a child killed
    mid-encode may leave a truncated partial movie that manim's cache would reuse)."""
    pending, running = list(jobs), []
    relay, last_status = Relay(), 0.0
    total, done = len(jobs), 0
    try:
        while pending or running:
            while pending and len(running) < n:
                j = pending.pop(0)
                j.media.mkdir(parents=True, exist_ok=True)
                j.log.parent.mkdir(parents=True, exist_ok=True)
                with open(j.log, "wb") as fh:
                    j.started = time.time()
                    j.proc = subprocess.Popen(j.cmd, stdout=fh, stderr=subprocess.STDOUT,
                                              env={**env, **j.env},
                                              stdin=subprocess.DEVNULL, start_new_session=True)
                running.append(j)
                say(f"start {j.task.label}")
            time.sleep(0.25)
            for j in list(running):
                relay.job(j)
                rc = j.proc.poll() if j.proc else 0
                if rc is None:
                    continue
                running.remove(j)
                done += 1
                finish(j, rc)
                if j.ok:
                    say(f"done  {j.task.label} in {j.seconds:.1f} s"
                        + (f" -> {j.dest}" if j.dest else "") + f"  [{done}/{total}]")
                else:
                    say(f"FAILED {j.task.label} after {j.seconds:.1f} s: {j.error}  [{done}/{total}]")
            now = time.time()
            if running and now - last_status >= status_every:
                last_status = now
                parts = [f"{j.task.label}: {tail_status(_read_tail(j.log), j.task.anims) or 'starting'}"
                         for j in running]
                say(f"{done}/{total} done | " + "  |  ".join(parts))
    except BaseException:
        stop([j.proc for j in running if j.proc])
        for j in running:
            shutil.rmtree(j.media, ignore_errors=True)
        raise


def finish(j: Job, rc: int) -> None:
    """Record a finished child: its output file (copied to ``dest`` if it has one)."""
    j.ended = time.time()
    t = j.task
    produced = find_output(j.media, t.scene, t.ext, j.started) if rc == 0 else None
    if produced is None:
        j.ok = False
        j.error = error_line(j.log) if rc else f"no {t.ext} file was written"
        return
    j.output = produced
    if j.dest is not None:
        copy_atomic(produced, j.dest)
    j.ok = True
