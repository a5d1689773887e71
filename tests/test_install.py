"""Installs like a library: ``pip install .`` (not editable) into a fresh venv, then a story
scene of the checkout renders from another folder with the default course values, which
ship inside the package (not read from the repo)."""
from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from scenes.kit.course.discover import STORY_ORDER

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh venv with this project installed from a copy of the tracked tree (no
    dependencies installed: the test environment's packages are reachable through a .pth)."""
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if (ROOT / f).is_file():
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, src / f)
    env_dir = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    py = env_dir / "bin" / "python"
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(src)],
                       capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"pip could not build the package here: {r.stderr.strip()[-300:]}")
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "zz_test_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    shutil.rmtree(src)  # nothing may be read from the copy
    return env_dir


def run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GPT_SCENES_COURSE")}
    env["HF_HUB_OFFLINE"] = "1"
    return subprocess.run([str(venv / "bin" / "python"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_installed_package_has_the_default_course_and_python_floor(venv, tmp_path):
    r = run(venv, "-c", "import scenes.kit.course.config as c, importlib.metadata as m; "
                        "print(c.DEFAULT_PATH); print(m.metadata('gpt-scenes')['Requires-Python'])",
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    default, requires = r.stdout.split()
    assert "site-packages" in default and Path(default).is_file()
    assert requires == ">=3.11"
    r = run(venv, "-m", "scenes.kit.course", "check", cwd=tmp_path)
    assert r.returncode == 0 and f"OK ({len(STORY_ORDER)} scenes checked)" in r.stdout, r.stderr


def test_a_story_scene_of_the_checkout_renders_from_another_folder(venv, tmp_path):
    r = run(venv, "-m", "manim", "render", "-ql", "--dry_run", "--progress_bar", "none",
            str(ROOT / "scenes" / "attention.py"), "AttentionScene", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
