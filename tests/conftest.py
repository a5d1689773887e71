"""Shared fixtures: small GPT-2- and Llama-shaped models built from configs (random
weights, real GPT-2 tokenizer files), an isolated cache, and manim's golden-frame options."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from manim.utils.testing import frames_comparison

from tensors.shaped import gpt2_shaped, llama_shaped, randomize_biases_and_norms  # noqa: F401

# Debian 12 ships cairo 1.16; without this every frames_comparison test is silently skipped.
frames_comparison.MIN_CAIRO_VERSION = 11600

# Under pytest-xdist every worker gets its own manim media folder: two workers writing the
# same text SVG into one media/texts at once made one of them read a half-moved file.
if os.environ.get("PYTEST_XDIST_WORKER"):
    from manim import config as _manim_config

    _manim_config.media_dir = str(Path(__file__).resolve().parent.parent / "media"
                                  / os.environ["PYTEST_XDIST_WORKER"])


def pytest_addoption(parser):
    # manim's frames_comparison reads these two options.
    parser.addoption("--set_test", action="store_true", help="write new golden frames")
    parser.addoption("--show_diff", action="store_true", help="show a diff on failure")


@pytest.fixture(scope="session")
def gpt2_tok_dir() -> Path:
    from tensors.fetch import fetch_gpt2_tokenizer

    return fetch_gpt2_tokenizer()


@pytest.fixture(scope="session")
def tiny_gpt2_dir(tmp_path_factory, gpt2_tok_dir) -> Path:
    """A GPT-2-shaped model (random weights, seed 0; random biases and LayerNorm gains and
    biases) with the real GPT-2 tokenizer (:func:`tensors.shaped.gpt2_shaped`)."""
    return gpt2_shaped(tmp_path_factory.mktemp("tiny-gpt2"))


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory) -> Path:
    """A Llama-shaped model with grouped-query attention (:func:`tensors.shaped.llama_shaped`)."""
    return llama_shaped(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(autouse=True)
def _isolated_traces(tmp_path, monkeypatch):
    """Each test gets its own trace cache (the model cache in GPT_SCENES_HOME is shared)."""
    monkeypatch.setenv("GPT_SCENES_CACHE", str(tmp_path / "traces"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory, request):
    """One trace cache per test module (scene tests share their forward passes)."""
    return tmp_path_factory.mktemp(f"traces-{request.module.__name__.rsplit('.', 1)[-1]}")


@pytest.fixture
def shared_traces(_isolated_traces, shared_cache, monkeypatch):
    """Opt in with ``pytestmark = pytest.mark.usefixtures("shared_traces")``."""
    monkeypatch.setenv("GPT_SCENES_CACHE", str(shared_cache))


def pytest_configure(config):
    # pytest-xdist (`tests/run.sh` uses it when installed) sends the tests of one scene to one
    # worker (`--dist loadgroup`), so the scene is rendered once per session there too.
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one xdist worker")


#: Rough CPU seconds of the heaviest xdist groups (measured on the 2-core machine, Dec 2026,
#: one file at a time; a group not listed counts 2 s per test). Only their ORDER matters:
#: tests/run.sh passes --no-loadscope-reorder, so the groups are handed out heaviest first
#: and the two workers end together (longest-processing-time-first), instead of xdist's
#: "most tests first".
GROUP_SECONDS = {
    "file-test_render_ray.py": 185, "scene-attention": 180, "file-test_course.py": 170,
    "file-test_render_split.py": 125, "file-test_render_sh.py": 120, "file-test_install.py": 95,
    "file-test_render_narration.py": 90, "file-test_faults_course.py": 85, "scene-mlp": 80,
    "file-test_stack_scenes.py": 80, "scene-logit_lens": 70, "scene-embedding_space": 60,
    "file-test_mlp_scene.py": 60, "scene-transformer": 50, "scene-kv_cache": 50,
    "file-test_render_check.py": 35,
}


def _group(item) -> str:  # noqa: ANN001
    """The item's xdist group: the names of its xdist_group marks, as pytest-xdist joins them."""
    return "_".join(sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                            for m in item.iter_markers("xdist_group")}))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    # with xdist (--dist loadgroup): a test not kept with its scene stays with its file, so
    # module-scoped fixtures (shared_cache: one trace cache per module) are built once
    for item in items:
        if not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(f"file-{item.path.name}"))
    if not getattr(config.option, "loadgroup", False):
        return
    # heaviest group first (stable: a group's tests keep their order)
    weight: dict[str, float] = {}
    for item in items:
        g = _group(item)
        weight[g] = GROUP_SECONDS.get(g, weight.get(g, 0) + 2)
    first = {g: i for i, g in reversed(list(enumerate(map(_group, items))))}
    items.sort(key=lambda it: (-weight[_group(it)], first[_group(it)]))
    # pytest-xdist 3.8 groups by a "@group" suffix it writes to item._nodeid, which pytest 9
    # no longer reads (the node id is item._id): every test was its own unit, so a scene was
    # rendered on both workers. Write the suffix where pytest 9 keeps the id.
    for item in items:
        if "@" not in item.nodeid and hasattr(item, "_id"):
            from _pytest.nodeid import NodeId

            item._id = NodeId.parse(f"{item.nodeid}@{_group(item)}")


def scene_param(name: str, *rest):
    """A pytest param for a scene (file name in scenes/) kept on one xdist worker."""
    return pytest.param(name, *rest, marks=pytest.mark.xdist_group(f"scene-{name}"),
                        id="-".join(map(str, (name, *rest))))


@pytest.fixture(scope="session")
def scene_runs(tmp_path_factory, request):
    """Each story scene rendered ONCE per test session (per xdist worker) and every check
    reads that render: ``scene_runs(name, family, **knobs)`` → a
    :class:`scenes.kit.frame_checks.FrameReport` — the findings of every sampled frame inside the
    animations, ``.beats`` the end-of-beat problems, ``.scene.ledger`` the equations shown.
    ``family``: "bundled" (SmolLM2) or "gpt2" (the tiny GPT-2-shaped model). Traces are
    shared by the whole session (one cache of their own)."""
    import os

    from scenes.kit.frame_checks import check_frames

    cache = tmp_path_factory.mktemp("scene-run-traces")
    done: dict = {}

    def get(name: str, family: str = "bundled", **knobs):
        key = (name, family, tuple(sorted(knobs.items())))
        if key not in done:
            import importlib

            from scenes.kit.scene import GPTScene

            mod = importlib.import_module(f"scenes.{name}")
            (cls,) = [c for c in vars(mod).values() if isinstance(c, type)
                      and issubclass(c, GPTScene) and c.__module__ == mod.__name__]
            model = "smollm2" if family == "bundled" else str(
                request.getfixturevalue("tiny_gpt2_dir"))
            saved = os.environ.get("GPT_SCENES_CACHE")
            os.environ["GPT_SCENES_CACHE"] = str(cache)
            try:
                done[key] = check_frames(cls, model=model, **knobs)
            finally:
                if saved is None:
                    os.environ.pop("GPT_SCENES_CACHE", None)
                else:
                    os.environ["GPT_SCENES_CACHE"] = saved
        return done[key]

    return get
