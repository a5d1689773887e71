"""Issue 22, property-based (Hypothesis): over the course schema — every knob of every scene
(and its captions), with generated values of every TOML type (integers of any size, floats
with NaN, ±inf and subnormals, strings of any characters, booleans, nested arrays and
tables) and values near each knob's default — ``course check`` either accepts, and then the
scene's dry run builds with those values, or refuses in ONE line naming the course file.
Never a traceback, never an accepted value the render then refuses.

Bounded: ``SCHEMA_EXAMPLES`` generated courses are checked in-process (a few ms each), and a
small sample (``RENDER_EXAMPLES``) of accepted ones is dry-run rendered (manim ``dry_run``,
animations skipped) after the model-dependent checks. Counts are printed (pytest -s)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from scenes.kit.course import config as C  # noqa: E402
from scenes.kit.course import discover as D  # noqa: E402
from scenes.kit.course.knobs import knobs  # noqa: E402
from scenes.kit.course.validate import (scene_values, validate_class_knobs,  # noqa: E402
                                        validate_theme, validate_top)
from tensors import UserError  # noqa: E402

SCHEMA_EXAMPLES = 300
RENDER_EXAMPLES = 6
_KNOBS: dict[type, Any] = {}


def _knobs(cls: type) -> Any:
    """knobs(cls), introspected once per class (0.6 s a call here) for this module's runs."""
    if cls not in _KNOBS:
        _KNOBS[cls] = knobs(cls)
    return _KNOBS[cls]


@pytest.fixture(scope="module", autouse=True)
def _fast_knobs():
    import scenes.kit.course.validate as V

    with pytest.MonkeyPatch.context() as m:
        m.setattr(V, "knobs", _knobs)
        yield


ENTRIES, _ = D.discover()
SECTIONS = {e.cls.config_section for e in ENTRIES} - {""}
COUNT = {"schema": 0, "accepted": 0, "refused": 0, "rendered": 0, "render_refused": 0}

scalars = st.one_of(
    st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1),
    st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
    st.text(max_size=40), st.booleans())
toml_values = st.recursive(scalars, lambda c: st.lists(c, max_size=4)
                           | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=10)


def near(default: Any) -> st.SearchStrategy:
    """Values close to a knob's default: its own type, other sizes and signs."""
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, int):
        return st.integers(min_value=-3, max_value=max(8, 2 * default + 2))
    if isinstance(default, float):
        return st.sampled_from([0.0, -1.0, 1e-320, 1e-9, default / 2, default * 2, 1e9, math.inf])
    if isinstance(default, str):
        return st.sampled_from(["", " ", default, default + " and more", "ü日本", "{", "\x00"])
    if isinstance(default, (list, tuple)) and default:
        return st.lists(near(default[0]) if not isinstance(default[0], (list, tuple))
                        else st.lists(st.sampled_from(["king", "man", "woman", "queen", "Paris", ""]),
                                      max_size=5), max_size=4)
    return toml_values


@st.composite
def courses(draw) -> tuple[Any, dict[str, Any]]:
    """(scene entry, course data) setting one or two knobs, or a caption, of one scene."""
    e = draw(st.sampled_from(ENTRIES))
    ks = _knobs(e.cls)
    section = e.cls.config_section
    table: dict[str, Any] = {}
    for _ in range(draw(st.integers(1, 2))):
        name = draw(st.sampled_from(sorted(ks)))
        table[name] = draw(st.one_of(near(ks[name].default), toml_values))
    caps = dict(getattr(e.cls, "captions", {}) or {})
    if caps and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(caps)))
        table["captions"] = {key: draw(st.one_of(st.text(max_size=30), st.just("{n:>999999999}"),
                                                 st.just(caps[key]), st.just("{" + key + "}"),
                                                 scalars))}
    return e, {section: table}


def check(entry: Any, data: dict[str, Any], with_model: bool) -> bool:
    """True when accepted; a refusal must be one UserError line naming the course file."""
    course = C.Course(Path("/course/prop.toml"), data, "arg")
    try:
        if with_model:
            D.check_course(course, ENTRIES, rendered=[entry])
        else:  # what check_course checks of one scene's section, without the voice and model
            validate_top(course, SECTIONS)
            validate_theme(course)
            validate_class_knobs(entry.cls)
            scene_values(course, entry.cls, [])
    except UserError as e:
        msg = str(e)
        assert "\n" not in msg and msg.startswith("course config ") and "prop.toml" in msg, msg
        return False
    return True


@settings(max_examples=SCHEMA_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(case=courses())
def test_course_check_accepts_or_refuses_in_one_line(case):
    entry, data = case
    COUNT["schema"] += 1
    COUNT["accepted" if check(entry, data, with_model=False) else "refused"] += 1


#: Scenes cheap enough to dry-run render here (generation and softmax_temperature draw
#: continuations with the model: minutes on this machine; their knobs are in the schema test).
CHEAP = [e for e in ENTRIES if e.primary and e.id in ("tokenization", "embedding", "kv_cache",
                                                       "unembedding", "transformer")]


@st.composite
def renderable(draw) -> tuple[Any, dict[str, Any]]:
    e = draw(st.sampled_from(CHEAP))
    ks = _knobs(e.cls)
    name = draw(st.sampled_from(sorted(k for k in ks if k not in ("model", "device", "prompt"))))
    return e, {e.cls.config_section: {name: draw(near(ks[name].default))}}


@pytest.mark.usefixtures("shared_traces")
@settings(max_examples=RENDER_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(case=renderable())
def test_what_check_accepts_the_dry_run_renders(case, tmp_path_factory):
    from manim import tempconfig

    entry, data = case
    if not check(entry, data, with_model=True):
        COUNT["render_refused"] += 1
        return
    course = C.Course(Path("/course/prop.toml"), data, "arg")
    values, caps = scene_values(course, entry.cls)
    attrs = {**values, "pause": 0} if "pause" in _knobs(entry.cls) else dict(values)
    if caps:
        attrs["captions"] = {**entry.cls.captions, **caps}
    cls = type(entry.cls.__name__ + "Prop", (entry.cls,), attrs)
    media = tmp_path_factory.mktemp("prop-media")
    with tempconfig({"dry_run": True, "media_dir": str(media), "quality": "low_quality",
                     "disable_caching": True}):
        cls(skip_animations=True).render()               # a UserError here = check != render
    COUNT["rendered"] += 1


def test_report_counts():
    print(f"\nproperty cases: {COUNT}")
    assert COUNT["schema"] == 0 or COUNT["schema"] >= SCHEMA_EXAMPLES // 2
