"""./render.sh --ray: the jobs on a local Ray instance (traces computed once here and
shipped; a worker killed mid-job is retried; outputs identical to a local render, same
names and summary), and an unreachable cluster is one line, exit 2, nothing written."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tiny_scene import write_tiny_course

ROOT = Path(__file__).resolve().parents[1]
RENDER = str(ROOT / "render.sh")
sys.path.insert(0, str(ROOT))

from scenes.render import media  # noqa: E402


def run(*args: str, cwd: Path, env: dict | None = None, timeout: int = 600):
    return subprocess.run([RENDER, *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "GPT_SCENES_COURSE": "", **(env or {})},
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_unreachable_cluster_is_one_line_exit_2_nothing_written(tmp_path, tiny_gpt2_dir):
    pytest.importorskip("ray", reason="the optional ray extra is not installed")
    course = write_tiny_course(tmp_path, tiny_gpt2_dir)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = run(str(course), "--ray", f"127.0.0.1:{port}", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 2, r.stderr[-2000:]
    err = [ln for ln in r.stderr.splitlines() if "error:" in ln]
    assert len(err) == 1 and f"--ray 127.0.0.1:{port}: cannot reach a Ray cluster" in err[0]
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_local_ray_with_a_worker_killed_mid_job(tmp_path, tiny_gpt2_dir):
    pytest.importorskip("ray", reason="the optional ray extra is not installed")
    course = write_tiny_course(tmp_path, tiny_gpt2_dir)
    (tmp_path / "gpt-scenes.toml").write_text('prompt = "one two three four five"\n')
    local = run(str(course), "TinyScene", "--split", "1", "--out", str(tmp_path / "local"),
                cwd=tmp_path)
    assert local.returncode == 0, local.stderr[-3000:]
    marker = tmp_path / "killed-once"
    r = run(str(course), "--ray", "--split", "2", "-j", "2", "--stills", "--out",
            str(tmp_path / "ray"), cwd=tmp_path, env={"GPT_SCENES_RAY_KILL_ONCE": str(marker)})
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert marker.is_file()  # a worker really died mid-job (and Ray retried its job)
    assert "Ray: local instance" in r.stderr and "shipped" in r.stderr
    q = tmp_path / "ray" / "480p15"
    assert (media.frame_hashes(q / "tiny.mp4")
            == media.frame_hashes(tmp_path / "local" / "480p15" / "tiny.mp4"))
    assert (q / "tiny_two.mp4").is_file() and (q / "tiny.png").is_file()
    rows = {ln.split()[0]: ln.split() for ln in r.stdout.splitlines() if ln.startswith("tiny")}
    assert set(rows) == {"tiny", "tiny_two"}
    assert rows["tiny"][4] == str(q / "tiny.mp4")
    assert float(rows["tiny"][1]) == pytest.approx(media.video_seconds(q / "tiny.mp4"), abs=0.05)
    # the workers loaded no model: every trace came from the cache shipped to them
    for log in (q / "logs").glob("*.log"):
        assert "captured" not in log.read_text(errors="replace"), log.name
    assert sorted(p.name for p in q.iterdir() if p.suffix in (".mp4", ".png")) == [
        "tiny.mp4", "tiny.png", "tiny_two.mp4", "tiny_two.png"]


def test_cluster_address_ships_traces_and_weights_to_workers(tmp_path, tiny_gpt2_dir, monkeypatch):
    """A Ray instance started apart (as `ray start --head` would) whose workers have their
    own, empty caches: the driver ships the trace and the weight matrices, the workers
    write them into their caches and render without loading the model."""
    ray = pytest.importorskip("ray", reason="the optional ray extra is not installed")
    course = write_tiny_course(tmp_path, tiny_gpt2_dir)
    wcache, whome = tmp_path / "worker-traces", tmp_path / "worker-home"
    home = Path(os.environ.get("GPT_SCENES_HOME") or Path.home() / ".cache" / "gpt-scenes")
    monkeypatch.setenv("GPT_SCENES_CACHE", str(wcache))
    monkeypatch.setenv("GPT_SCENES_HOME", str(whome))
    ctx = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        address = ctx.address_info["gcs_address"]
        driver = {"GPT_SCENES_CACHE": str(tmp_path / "driver-traces"), "GPT_SCENES_HOME": str(home)}
        r = run(str(course), "TinyTwo", "--ray", address, "--out", str(tmp_path / "out"),
                cwd=tmp_path, env=driver)
    finally:
        ray.shutdown()
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert f"Ray: {address}" in r.stderr
    shipped = sorted(p.name for p in wcache.glob("*.safetensors"))
    assert shipped == sorted(p.name for p in (tmp_path / "driver-traces").glob("*.safetensors"))
    assert len(shipped) == 1
    weights = list((whome / "weights").glob("*.safetensors"))
    assert len(weights) == 1
    assert weights[0].read_bytes() == (home / "weights" / weights[0].name).read_bytes()
    log = (tmp_path / "out" / "480p15" / "logs" / "tiny_two.video.log").read_text()
    assert "captured" not in log
    assert media.video_seconds(tmp_path / "out" / "480p15" / "tiny_two.mp4") == pytest.approx(2.4, abs=0.15)  # the caption read for 1.5 s


def test_ctrl_c_on_a_ray_run_stops_it_one_line_exit_130(tmp_path, tiny_gpt2_dir):
    pytest.importorskip("ray", reason="the optional ray extra is not installed")
    import signal
    import time

    course = write_tiny_course(tmp_path, tiny_gpt2_dir)
    err = tmp_path / "stderr"
    with open(err, "wb") as fh:
        p = subprocess.Popen([RENDER, str(course), "--ray", "--split", "2", "-j", "2", "--out",
                              str(tmp_path / "out")], stdout=subprocess.DEVNULL, stderr=fh,
                             cwd=tmp_path, env={**os.environ, "GPT_SCENES_COURSE": ""},
                             start_new_session=True)
    deadline = time.time() + 240
    while "[render] sent" not in err.read_text() and time.time() < deadline:
        assert p.poll() is None, err.read_text()[-2000:]
        time.sleep(0.2)
    time.sleep(2.0)
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=120) == 130
    text = err.read_text()
    assert "Traceback" not in text and "Error" not in text
    assert [ln for ln in text.splitlines() if ln.strip()][-1].startswith("render.sh: interrupted (")
    assert not list((tmp_path / "out" / "480p15").glob("*.mp4"))


def test_courses_times_qualities_in_one_run_here_and_on_ray(tmp_path, tiny_gpt2_dir):
    """Two courses × two qualities: one run, every job sent together; each course into its
    own folder; Ray's outputs equal the local pool's frame for frame."""
    pytest.importorskip("ray", reason="the optional ray extra is not installed")
    import av

    course = write_tiny_course(tmp_path, tiny_gpt2_dir)
    for name, radius in (("small", 0.5), ("wide", 2.5)):
        (tmp_path / f"{name}.toml").write_text(f"[tiny]\nradius = {radius}\n")
    both = ["--course", "small.toml", "--course", "wide.toml", "--split", "1"]
    local = run(str(course), "TinyScene", *both, "-q", "l", "--out", str(tmp_path / "local"),
                cwd=tmp_path)
    assert local.returncode == 0, local.stderr[-3000:]
    r = run(str(course), "TinyScene", *both, "-q", "l,m", "--ray", "-j", "2", "--out",
            str(tmp_path / "ray"), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert "sent 4 job(s) to Ray" in r.stderr
    for name in ("small", "wide"):
        lo, ra = tmp_path / "local" / name, tmp_path / "ray" / name
        assert media.frame_hashes(ra / "480p15" / "tiny.mp4") == media.frame_hashes(lo / "480p15" / "tiny.mp4")
        with av.open(str(ra / "720p30" / "tiny.mp4")) as c:
            assert (c.streams.video[0].height, float(c.streams.video[0].average_rate)) == (720, 30.0)
        assert str(ra / "720p30" / "tiny.mp4") in r.stdout       # a summary row per batch
    assert (media.frame_hashes(tmp_path / "ray/small/480p15/tiny.mp4")
            != media.frame_hashes(tmp_path / "ray/wide/480p15/tiny.mp4"))   # each its course
