"""./render.sh: option handling (one line, exit 2, before the set-up or any render), the
commands each option maps to, and one real run of a tiny course file with every output."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tiny_scene import write_tiny_course

ROOT = Path(__file__).resolve().parents[1]
RENDER = str(ROOT / "render.sh")


def run(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 300):
    return subprocess.run([RENDER, *args], capture_output=True, text=True, cwd=cwd or ROOT,
                          env={**os.environ, **(env or {})}, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_help_lists_every_option():
    r = run("--help")
    assert r.returncode == 0, r.stderr
    for opt in ("-q", "--out", "--stills", "--gif", "--transparent", "--lecture", "--slides",
                "-j", "--split", "--max-inflight-encoders", "--ray", "--course", "--gallery",
                "--dry-run", "SCENE"):
        assert opt in r.stdout
    assert "Exit status" in r.stdout


@pytest.mark.parametrize("args,expect", [
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["-q", "x"], "'x': choose from l, m, h, p, k"),
    (["-qz"], "'z': choose from l, m, h, p, k"),
    (["-q", "l,x"], "'l,x': choose from l, m, h, p, k"),
    (["--course", "pyproject.toml", "--course", "pyproject.toml"], "same name"),
    (["-j", "0"], "0 must be at least 1"),
    (["-j", "two"], "'two' is not a whole number"),
    (["--gif-width", "-5"], "--gif-width"),
    (["--slides", "--transparent"], "--slides and --transparent cannot be combined"),
    (["--course", "no/such.toml"], "--course no/such.toml: no such file"),
    (["no_such_course.py"], "course file no_such_course.py does not exist"),
    (["--gallery", "-qh"], "--gallery renders the default course at -ql"),
    (["--split", "0"], "0 must be at least 1"),
    (["--split", "some"], "'some' is not a whole number"),
    (["--max-inflight-encoders", "0"], "0 must be at least 1"),
    (["--ray", "--slides"], "render --slides without --ray"),
])
def test_bad_option_is_one_line_and_exit_2(args, expect, tmp_path):
    r = run(*args, "--out", str(tmp_path / "out"))
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("render.sh: error:") and expect in lines[0]
    assert r.stdout == ""
    assert not (tmp_path / "out").exists()


def test_unknown_scene_name_lists_the_scenes(tmp_path):
    r = run("no_such_scene", "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    err = [ln for ln in r.stderr.splitlines() if "error:" in ln]
    assert len(err) == 1 and "no scene named 'no_such_scene'; scenes:" in err[0]
    assert not (tmp_path / "out").exists()


def test_bad_course_config_stops_before_any_render(tmp_path, tiny_gpt2_dir):
    course = write_tiny_course(tmp_path, tiny_gpt2_dir)
    bad = tmp_path / "bad.toml"
    bad.write_text('[tiny]\nhead = "first"\n')
    r = run(str(course), "--course", str(bad), "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    err = [ln for ln in r.stderr.splitlines() if "error:" in ln]
    assert len(err) == 1 and "[tiny] head = 'first' — must be an integer ≥ 0" in err[0]
    assert not (tmp_path / "out").exists()
    # the same file found as ./gpt-scenes.toml in the current folder
    (tmp_path / "gpt-scenes.toml").write_text(bad.read_text())
    r = run(str(course), "--out", str(tmp_path / "out"), cwd=tmp_path,
            env={"GPT_SCENES_COURSE": ""})
    assert r.returncode == 2 and "head = 'first'" in r.stderr


def test_layer_out_of_range_for_the_model_stops_before_rendering(tmp_path, tiny_gpt2_dir):
    course = write_tiny_course(tmp_path, tiny_gpt2_dir)
    cfg = tmp_path / "c.toml"
    cfg.write_text("[tiny]\nlayer = 40\n")  # the tiny GPT-2 has 3 layers
    r = run(str(course), "TinyScene", "--course", str(cfg), "--out", str(tmp_path / "out"))
    assert r.returncode == 2, r.stderr
    err = [ln for ln in r.stderr.splitlines() if "error:" in ln]
    assert len(err) == 1 and "[tiny]" in err[0] and "40" in err[0]
    assert not (tmp_path / "out").exists()


def _dry(tmp_path: Path, *args: str) -> list[str]:
    # a dry run checks the course against the model, so the model must exist (the bundled one)
    course = write_tiny_course(tmp_path, "smollm2")
    r = run(str(course), "--dry-run", "--out", str(tmp_path / "o"), *args)
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "o").exists()
    return r.stdout.splitlines()


def test_dry_run_maps_quality_and_names_outputs_predictably(tmp_path):
    lines = _dry(tmp_path, "-qh", "--stills", "--check")
    vids = [ln for ln in lines if " -s " not in ln and "manim render" in ln]
    stills = [ln for ln in lines if " -s " in ln]
    # --check: a check job per scene beside its render (tests/test_render_check.py runs one)
    checks = [ln for ln in lines if "-m scenes.render.check_job " in ln]
    assert [ln.split(" # ")[0].split()[-2] for ln in checks] == ["TinyScene", "TinyTwo"]
    assert any(ln.startswith("# check:") and "<scene>.check.json" in ln for ln in lines)
    assert len(vids) == 2 and len(stills) == 2  # TinyScene and TinyTwo
    assert all(" -q h " in ln for ln in vids + stills)
    assert all("--max-inflight-encoders 4" in ln for ln in vids)  # encode while drawing
    assert any(ln.endswith(f"# -> {tmp_path}/o/1080p60/tiny.mp4") for ln in vids)
    assert any(ln.endswith(f"# -> {tmp_path}/o/1080p60/tiny_two.mp4") for ln in vids)
    assert any(ln.endswith(f"# -> {tmp_path}/o/1080p60/tiny.png") for ln in stills)


def test_dry_run_transparent_gif_lecture_slides(tmp_path):
    t = _dry(tmp_path, "--transparent", "--gif", "--gif-width", "320", "--lecture", "TinyTwo")
    assert len([ln for ln in t if "manim render" in ln]) == 1  # only the named class
    assert "-t --format mov" in t[0] and t[0].endswith("tiny_two.mov")
    assert any("320px" in ln and "tiny_two.gif" in ln for ln in t)
    assert any(ln.startswith("# lecture:") and ln.endswith("lecture.mov") for ln in t)
    s = _dry(tmp_path, "--slides", "-qm")
    assert any("manim_slides render -q m" in ln and ln.split(" # ")[0].endswith("TinySlides")
               for ln in s)
    assert any("slides/<scene>.html" in ln for ln in s)


def test_list_shows_scenes_in_story_order():
    r = run("--list")
    assert r.returncode == 0, r.stderr
    ids = [ln.split()[0] for ln in r.stdout.splitlines()]
    import sys

    sys.path.insert(0, str(ROOT))
    from scenes.render.scenes_api import STORY_ORDER

    known = [i for i in ids if i in STORY_ORDER]
    assert known == sorted(known, key=STORY_ORDER.index)


def test_real_run_of_a_tiny_course_with_every_output(tmp_path, tiny_gpt2_dir):
    """Two tiny scenes in parallel: videos, stills, GIFs, the lecture, slides and HTML."""
    import av
    from PIL import Image

    course = write_tiny_course(tmp_path, tiny_gpt2_dir)
    (tmp_path / "gpt-scenes.toml").write_text('prompt = "one two three four five"\n')
    out = tmp_path / "out"
    r = run(str(course), "--stills", "--gif", "--lecture", "--slides", "-j", "2",
            "--out", str(out), timeout=600, cwd=tmp_path, env={"GPT_SCENES_COURSE": ""})
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    # the course's prompt reached TinyScene; TinyTwo sets its own in code
    from tensors.trace_cache import load_trace

    prompts = {load_trace(p).prompt for p in Path(os.environ["GPT_SCENES_CACHE"]).glob("*.safetensors")}
    assert prompts == {"one two three four five", "The capital of France is"}
    q = out / "480p15"
    durations = {}
    for name in ("tiny", "tiny_two"):
        with av.open(str(q / f"{name}.mp4")) as c:
            s = c.streams.video[0]
            durations[name] = float(s.duration * s.time_base)
            assert (s.codec_context.width, s.codec_context.height) == (854, 480)
        # beats: 0.5 s create + 0.4 s caption, 0.5 s fade
        assert durations[name] == pytest.approx(2.4, abs=0.15)  # the caption read for 1.5 s
        assert Image.open(q / f"{name}.png").size == (854, 480)
        gif = Image.open(q / f"{name}.gif")
        assert gif.size[0] == 480 and gif.n_frames == pytest.approx(24, abs=2)  # 2.4 s at 10 fps
        html = (q / "slides" / f"{name}.html").read_text()
        assert html.count("data-background-video=") == 2  # a slide per beat
    with av.open(str(q / "lecture.mp4")) as c:
        s = c.streams.video[0]
        assert float(s.duration * s.time_base) == pytest.approx(sum(durations.values()), abs=0.2)
    lecture_html = (q / "slides" / "lecture.html").read_text()
    assert lecture_html.count("data-background-video=") == 4
    # the summary table: one row per scene with video and render seconds and the output path
    rows = {ln.split()[0]: ln for ln in r.stdout.splitlines() if ln.startswith("tiny")}
    assert set(rows) == {"tiny", "tiny_two"}
    for name, row in rows.items():
        m = re.match(r"^\S+\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\S+)", row)
        assert m, row
        assert float(m.group(1)) == pytest.approx(durations[name], abs=0.05)
        assert Path(m.group(4)) == q / f"{name}.mp4"
    assert "[render] done  tiny (slides)" in r.stderr  # progress is reported as jobs finish
    logs = json.dumps(sorted(p.name for p in (q / "logs").iterdir()))
    assert "tiny.slides.log" in logs and "tiny.still.log" in logs  # <scene>.<kind>.log


def test_dry_run_split_and_ray(tmp_path):
    t = _dry(tmp_path, "--split", "3", "--ray", "TinyTwo")  # `--ray NAME`: NAME is a scene
    assert len([ln for ln in t if "manim render" in ln]) == 1 and "TinyTwo" in t[0]
    assert any(ln.startswith("# split: each scene into up to 3 pieces") for ln in t)
    assert any(ln.startswith("# on Ray (local)") for ln in t)
