"""``gpt-scenes render --check`` (``./render.sh --check``): each scene's legibility and
equation-ledger checks (those of ``gpt-scenes check FILE.py``) run beside its render, are
reported per scene in the summary and in ``logs/<scene>.check.json``, and a problem makes
the exit status 1 — while the videos are still written."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tiny_scene import write_tiny_course

ROOT = Path(__file__).resolve().parents[1]

CROWDED = '''

class Crowded(TinyScene):
    """Two texts on top of each other and an equation whose shown result is wrong."""

    beats = ("beat_one",)

    def beat_one(self):
        n = len(self.trace.tokens)
        self.add(self.text(f"{n} tokens"), self.text(f"{n + 1} tokens"))   # overlap
        self.equation("add", f"{n} + 1 = {n + 2}", n + 2, a=n, b=1)      # shown wrong
        self.wait(0.5)
'''


def render(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GPT_SCENES_COURSE": ""}
    return subprocess.run([sys.executable, "-m", "scenes", "render", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)


def summary_block(stdout: str, scene: str) -> list[str]:
    """The summary's row of ``scene`` and the indented lines under it."""
    lines = stdout.splitlines()
    i = next(k for k, ln in enumerate(lines) if ln.split()[:1] == [scene])
    block = [lines[i]]
    for ln in lines[i + 1:]:
        if not ln.startswith(" "):
            break
        block.append(ln.strip())
    return block


def test_render_check_reports_each_scene_and_fails_on_a_problem(tmp_path, tiny_gpt2_dir):
    course = write_tiny_course(tmp_path, tiny_gpt2_dir)
    course.write_text(course.read_text() + CROWDED)
    out = tmp_path / "out"
    # (what --check --dry-run prints: tests/test_render_sh.py, the dry-run mapping test)
    r = render(str(course), "--check", "-ql", "-j", "2", "--out", str(out), cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr[-3000:]
    q = out / "480p15"
    for scene in ("tiny", "tiny_two", "crowded"):
        assert (q / f"{scene}.mp4").is_file()          # a check never stops a render
        found = json.loads((q / "logs" / f"{scene}.check.json").read_text())
        assert found["class"] in ("TinyScene", "TinyTwo", "Crowded")

    crowded = json.loads((q / "logs" / "crowded.check.json").read_text())
    assert [p.split(":")[0] for p in crowded["beats"]["beat_one"]] == ["overlap"]
    assert crowded["ledger"]["shown"] == 1 and len(crowded["ledger"]["wrong"]) == 1
    assert crowded["problems"] == 2
    block = summary_block(r.stdout, "crowded")
    assert block[1] == "! check: 1 beats, 2 problem(s); ledger 1 equation(s), 1 wrong"
    assert block[2].startswith("! beat_one: overlap:")
    assert "ledger:" in block[3] and "is off by" in block[3]

    for scene in ("tiny", "tiny_two"):
        found = json.loads((q / "logs" / f"{scene}.check.json").read_text())
        assert found["problems"] == 0, found
        assert summary_block(r.stdout, scene)[1] == \
            "check: 2 beats, 0 problem(s); ledger 0 equation(s), 0 wrong"

    # the same findings as `gpt-scenes check FILE.py Crowded` (one code path)
    c = subprocess.run([sys.executable, "-m", "scenes", "check", str(course), "Crowded"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=600,
                       env={**os.environ, "PYTHONPATH": str(ROOT), "GPT_SCENES_COURSE": ""})
    assert c.returncode == 1
    for p in [*crowded["beats"]["beat_one"], *crowded["ledger"]["wrong"]]:
        assert p in c.stdout


def test_check_and_ray_are_refused_in_one_line(tmp_path):
    r = render("--check", "--ray", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [
        "gpt-scenes render: error: --check runs here beside the renders; render --check "
        "without --ray; see gpt-scenes render --help"]
