"""``./render.sh --ray [ADDRESS]``: the same jobs (scene pieces, stills) on a Ray cluster.

- The project reaches the workers through Ray's ``runtime_env``: ``working_dir`` is this
  checkout (without .git, .venv, outputs), ``py_modules`` this package. Each node needs the
  Python packages (run ``scripts/setup.sh`` there, or share one install) and starts Ray
  from that environment: ``.venv/bin/ray start --address HEAD:6379``.
- The traces are computed once, here, before anything is sent; their cache files (and the
  model's weight matrices and cached generations) go to the object store once and are
  written into each worker's cache if missing, so a worker never loads the model for them.
- The course config and course files outside the checkout travel with each job.
- A job whose worker dies is retried (``max_retries``); its output is the same file.
- Outputs (bytes) come back here, to the same names under ``out/`` as a local run.
- An unreachable cluster is one line and exit 2, before anything is written.
"""
from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .paths import ROOT
from .pool import Interrupted, Job, copy_atomic, error_line, find_output, say

MAX_RETRIES = 3
EXCLUDES = [".git", ".venv", "out", "**/__pycache__", "*.mp4", "*.mov", "*.gif", "media",
            "assets/gallery"]
#: The test suite sets this to a file name: the first job to start kills its own worker
#: (SIGKILL) once, to show that Ray retries it and the output is still complete.
KILL_ONCE_ENV = "GPT_SCENES_RAY_KILL_ONCE"


def _user_error(msg: str) -> Exception:
    from tensors import UserError

    return UserError(msg)


def _reachable(address: str, timeout: float = 5.0) -> None:
    """Raise a one-line UserError unless host:port accepts a TCP connection."""
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return
    except (OSError, ValueError) as e:
        raise _user_error(
            f"--ray {address}: cannot reach a Ray cluster there ({getattr(e, 'strerror', None) or e}); "
            "start one with `ray start --head` on the head node, or leave out the address "
            "for a local Ray instance") from None


@dataclasses.dataclass
class RayRunner:
    label: str
    cpus: int
    local: bool

    def run(self, jobs: list[Job], cache_files: list[tuple[str, Path]], env: dict[str, str]) -> None:
        """Run every job on the cluster; fill ok/output/error/times like the local pool."""
        import ray

        payload = ray.put({(kind, p.name): p.read_bytes() for kind, p in cache_files})
        say(f"shipped {len(cache_files)} cache file(s) "
            f"({sum(p.stat().st_size for _, p in cache_files) / 1e6:.0f} MB) to the object store")
        courses: dict[str, bytes | None] = {}  # each job's course file travels with it
        for j in jobs:
            c = j.env.get("GPT_SCENES_COURSE", env.get("GPT_SCENES_COURSE", "none"))
            if c not in courses:
                courses[c] = Path(c).read_bytes() if c != "none" and Path(c).is_file() else None
        fwd = {k: v for k, v in env.items() if k.startswith("HF_") or k in ("GPT_SCENES_DEVICE",)}
        if KILL_ONCE_ENV in os.environ:
            fwd[KILL_ONCE_ENV] = os.environ[KILL_ONCE_ENV]
        remote = ray.remote(num_cpus=1, max_retries=MAX_RETRIES, retry_exceptions=False)(render_job)
        refs: dict[Any, Job] = {}
        t0 = time.time()
        for j in jobs:
            spec = _spec(j, courses[j.env.get("GPT_SCENES_COURSE", env.get("GPT_SCENES_COURSE", "none"))],
                         fwd)
            refs[remote.remote(spec, payload)] = j
            j.started = t0
        say(f"sent {len(jobs)} job(s) to Ray ({self.label}, {self.cpus} CPUs)")
        pending, done, last = list(refs), 0, 0.0
        # a signal must not raise inside Ray's compiled wait (it turns into a SystemError):
        # note it, and stop from Python between two waits
        caught: list[int] = []
        old = {sig: signal.signal(sig, lambda signum, frame: caught.append(signum))
               for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while pending:
                if caught:
                    raise Interrupted(caught[0])
                ready, pending = ray.wait(pending, num_returns=1, timeout=1.0)
                for ref in ready:
                    j = refs[ref]
                    done += 1
                    node = self._finish(j, ref)
                    if j.ok:
                        say(f"done  {j.task.label} in {j.seconds:.1f} s on {node}"
                            + (f" -> {j.dest}" if j.dest else "") + f"  [{done}/{len(jobs)}]")
                    else:
                        say(f"FAILED {j.task.label}: {j.error}  [{done}/{len(jobs)}]")
                if pending and time.time() - last >= 5:
                    last = time.time()
                    say(f"{done}/{len(jobs)} done on Ray, {len(pending)} running or queued, "
                        f"{time.time() - t0:.0f} s")
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
        finally:
            ray.shutdown()  # a local instance stops; a cluster stays up
            for sig, handler in old.items():
                signal.signal(sig, handler)

    def _finish(self, j: Job, ref: Any) -> str:
        """Write a finished job's log and output here; returns the node it ran on."""
        import ray

        try:
            r = ray.get(ref)
        except Exception as e:  # noqa: BLE001 - a task that failed MAX_RETRIES times
            j.ended, j.ok = time.time(), False
            j.error = f"{type(e).__name__} after {MAX_RETRIES} retries: " + " ".join(str(e).split())[:200]
            return "?"
        j.ended = time.time()
        j.started = j.ended - r["seconds"]
        j.log.parent.mkdir(parents=True, exist_ok=True)
        j.log.write_bytes(r["log"])
        if not r["ok"]:
            j.ok, j.error = False, error_line(j.log)
            return r["node"]
        j.media.mkdir(parents=True, exist_ok=True)
        j.output = j.media / f"{j.task.scene}{j.task.ext}"
        tmp = j.output.with_name(j.output.name + ".part")
        tmp.write_bytes(r["data"])
        os.replace(tmp, j.output)
        if r.get("srt") is not None:
            j.output.with_suffix(".srt").write_bytes(r["srt"])
        if j.dest is not None:
            copy_atomic(j.output, j.dest)
        j.ok = True
        return r["node"]


def _spec(j: Job, course_bytes: bytes | None, env: dict[str, str]) -> dict[str, Any]:
    t = j.task
    f = Path(t.file).resolve()
    try:
        rel, data = str(f.relative_to(ROOT)), None
    except ValueError:  # a course file of the user's own: it travels with the job
        rel, data = None, f.read_bytes()
    return {"args": t.manim_args("{MEDIA}", file="{FILE}"), "scene": t.scene, "ext": t.ext,
            "file_rel": rel, "file_name": f.name, "file_bytes": data,
            "course_bytes": course_bytes, "env": env}


def render_job(spec: dict[str, Any], payload: dict[tuple[str, str], bytes]) -> dict[str, Any]:
    """Runs on a worker: write the shipped cache files where this node's tensors looks,
    render with manim in a fresh folder, return the output's bytes and the log."""
    from scenes.render.scenes_api import cache_dirs

    dirs = cache_dirs()
    for (kind, name), data in payload.items():
        dst = dirs[kind] / name
        if not (dst.is_file() and dst.stat().st_size == len(data)):
            dst.parent.mkdir(parents=True, exist_ok=True)
            tmp = dst.with_name(f"{dst.name}.{os.getpid()}.part")
            tmp.write_bytes(data)
            os.replace(tmp, dst)
    with tempfile.TemporaryDirectory(prefix="gpt-scenes-ray-") as tmpdir:
        tmp = Path(tmpdir)
        import scenes

        pkg_parent = str(Path(scenes.__file__).resolve().parents[1])
        env = dict(os.environ, **spec["env"], COLUMNS="160", PYTHONUNBUFFERED="1",
                   PYTHONPATH=os.pathsep.join([os.getcwd(), pkg_parent, os.environ.get("PYTHONPATH", "")]))
        env["GPT_SCENES_COURSE"] = "none"
        if spec["course_bytes"] is not None:
            (tmp / "course.toml").write_bytes(spec["course_bytes"])
            env["GPT_SCENES_COURSE"] = str(tmp / "course.toml")
        if spec["file_bytes"] is not None:
            file = tmp / spec["file_name"]
            file.write_bytes(spec["file_bytes"])
        else:
            file = Path(os.getcwd()) / spec["file_rel"]
        media = tmp / "media"
        args = [str(media) if a == "{MEDIA}" else str(file) if a == "{FILE}" else a
                for a in spec["args"]]
        log = tmp / "log"
        t0 = time.time()
        with open(log, "wb") as fh:
            p = subprocess.Popen([sys.executable, "-m", "scenes.render.exact_manim", *args], stdout=fh,
                                 stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL,
                                 preexec_fn=_die_with_parent)
        marker = spec["env"].get(KILL_ONCE_ENV)
        if marker and not os.path.exists(marker):
            Path(marker).write_text(f"killed worker {os.getpid()} during {spec['scene']}\n")
            time.sleep(1.0)
            os.kill(os.getpid(), signal.SIGKILL)
        rc = p.wait()
        out = find_output(media, spec["scene"], spec["ext"], t0) if rc == 0 else None
        srt = out.with_suffix(".srt") if out is not None else None  # the scene's subtitles
        return {"ok": out is not None, "data": out.read_bytes() if out else b"",
                "srt": srt.read_bytes() if srt is not None and srt.is_file() else None,
                "log": log.read_bytes(), "seconds": time.time() - t0, "node": socket.gethostname()}


def _die_with_parent() -> None:
    """In the manim child: SIGKILL it when the worker that started it dies (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def connect(address: str, jobs: int | None) -> RayRunner:
    """Start a local Ray instance (``local``) or join the cluster at ``address``."""
    try:
        import ray
    except ImportError:
        raise _user_error("--ray needs the optional ray package: .venv/bin/python -m pip install "
                          "ray==2.60.0 (or pip install '.[ray]')") from None
    local = address == "local"
    if not local and address != "auto":
        _reachable(address)
    runtime_env = {"working_dir": str(ROOT), "excludes": EXCLUDES,
                   "py_modules": [str(Path(__file__).resolve().parent)]}
    try:
        ray.init(address=None if local else address, num_cpus=(jobs or os.cpu_count() or 1) if local else None,
                 runtime_env=runtime_env, include_dashboard=False, log_to_driver=False,
                 logging_level="ERROR", configure_logging=True)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise _user_error(f"--ray {address}: could not connect ({' '.join(str(e).split())[:200]}); "
                          "start a cluster with `ray start --head`, or leave out the address") from None
    cpus = int(ray.cluster_resources().get("CPU", 1))
    label = "local instance" if local else address
    say(f"Ray: {label}, {cpus} CPUs, {len(ray.nodes())} node(s)")
    return RayRunner(label, cpus, local)
