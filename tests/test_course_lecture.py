"""The course file describes the lecture: which scenes, in which order, its own scene files,
chapter titles, speaker notes, its own output folder; `course check` reports every problem."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tiny_scene import write_tiny_course

from scenes.kit.course import config as C, discover as D, lecture as LEC
from tensors import UserError

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def course_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-m", "scenes.kit.course", *args], capture_output=True, text=True,
                          cwd=cwd, env=dict(os.environ, PYTHONPATH=str(ROOT)))


def test_lecture_keys_are_read(tmp_path):
    write_tiny_course(tmp_path, "smollm2", name="mine.py")
    p = tmp_path / "week.toml"
    p.write_text('name = "week3"\ntitle = "LLMs"\nscenes = ["tiny_two", "tiny"]\n'
                 'scene_files = ["mine.py"]\n[tiny]\nchapter = "A circle"\n'
                 'notes = { beat_two = "Ask a question." }\n')
    c = C.load_course(p)
    assert LEC.scene_order(c) == ["tiny_two", "tiny"]
    assert LEC.scene_files(c) == [(tmp_path / "mine.py").resolve()]
    assert LEC.out_name(c, given=True) == "week3"
    assert LEC.chapter(c, "tiny") == "A circle" and LEC.chapter(c, "attention") is None
    assert LEC.notes(c, "tiny", "beat_two", first=False) == "Ask a question."
    assert LEC.notes(c, "tiny", "beat_one", first=True) == ""
    entries, failed = D.discover(LEC.scene_files(c), all_classes=True)
    assert not failed
    D.check_course(c, entries, rendered=[])  # valid: raises nothing
    assert [e.id for e in D.select(entries, LEC.scene_order(c))] == ["tiny_two", "tiny"]


def test_out_name_defaults_to_the_file_name_only_for_a_named_course(tmp_path):
    p = tmp_path / "physics-101.toml"
    p.write_text('prompt = "x y z w"\n')
    c = C.load_course(p)
    assert LEC.out_name(c, given=True) == "physics-101"
    assert LEC.out_name(c, given=False) == ""  # ./gpt-scenes.toml without a name: out/<q>/
    assert LEC.out_name(C.load_course(C.DEFAULT_PATH), given=True) == ""


def test_check_reports_every_problem_and_knows_the_course_scene_files(tmp_path):
    write_tiny_course(tmp_path, "smollm2", name="mine.py")
    bad = tmp_path / "bad.toml"
    bad.write_text('colour = 3\nscenes = ["tiny", "nosuch"]\nscene_files = ["mine.py"]\n'
                   '[theme]\nhighlight = "red"\n[tiny]\nradius = "big"\ntop_k = -2\n'
                   'chapter = 5\nnotes = { beat_nope = "x" }\n')
    r = course_cli("check", str(bad), cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    errs = [ln for ln in r.stderr.splitlines() if ": error: " in ln]
    for what in ("colour = 3", "highlight = 'red'", "no scene named 'nosuch'", "radius = 'big'",
                 "top_k = -2", "chapter = 5", "notes = 'beat_nope'"):
        assert sum(what in e for e in errs) == 1, (what, errs)
    assert len(errs) == 7 and "7 problem(s)" in r.stdout
    assert "unknown section" not in r.stderr  # [tiny] is a section of the course's own file
    good = tmp_path / "good.toml"
    good.write_text('scene_files = ["mine.py"]\nscenes = ["tiny"]\n[tiny]\nchapter = "A circle"\n')
    r = course_cli("check", str(good), cwd=tmp_path)
    assert r.returncode == 0 and "OK" in r.stdout, r.stderr


def test_render_uses_the_course_scenes_order_and_folder(tmp_path):
    write_tiny_course(tmp_path, "smollm2", name="mine.py")
    cfg = tmp_path / "week.toml"
    cfg.write_text('scene_files = ["mine.py"]\nscenes = ["tiny_two", "tiny"]\n')
    r = subprocess.run([PY, str(ROOT / "scripts" / "render.py"), "--course", str(cfg),
                        "--dry-run", "--lecture"], cwd=tmp_path, capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=str(ROOT), GPT_SCENES_COURSE=""))
    assert r.returncode == 0, r.stderr[-2000:]
    assert "course config: week.toml (--course)" in r.stderr  # not "(env)"
    renders = [ln for ln in r.stdout.splitlines() if "exact_manim render" in ln]
    assert [ln.split("# -> ")[1] for ln in renders] == ["out/week/480p15/tiny_two.mp4",
                                                          "out/week/480p15/tiny.mp4"]
    assert "# lecture: tiny_two + tiny -> out/week/480p15/lecture.mp4" in r.stdout


def test_example_course_is_valid_and_its_template_pointer_exists():
    text = (ROOT / "assets" / "example-course.toml").read_text()
    assert "assets/course.toml" not in text and "scenes/kit/course/course.toml" in text
    c = C.load_course(ROOT / "assets" / "example-course.toml")
    assert LEC.validate_lecture(c) == []
    assert LEC.out_name(c, given=True) == "week3"


def test_bad_lecture_values_are_one_line_each(tmp_path):
    p = tmp_path / "x.toml"
    p.write_text('name = "a b/c"\nscenes = []\nscene_files = ["missing.py"]\n')
    errs = [str(e) for e in LEC.validate_lecture(C.load_course(p))]
    assert len(errs) == 3 and all("\n" not in e for e in errs)
    assert "folder name" in errs[0] and "non-empty list" in errs[1] and "missing.py" in errs[2]
    with pytest.raises(UserError, match="missing.py"):
        LEC.scene_files(C.load_course(p))
