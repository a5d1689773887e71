"""Course config (scenes/kit/course/): finding the file, applying good values, and one-line
errors (exit 2) naming the key, the value and what is allowed for every kind of bad value."""
from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scenes.kit.course import apply as A, cli, config as C, discover as D, knobs as K
from scenes.kit.course import template as T, validate as V
from scenes.kit.theme import THEME
from tensors import UserError
from tiny_scene import write_tiny_course

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
# the course checks run each story scene's prepare on its prompt's trace: one trace cache
# for the module (also for the `course check` subprocesses), so each prompt runs once
pytestmark = pytest.mark.usefixtures("shared_traces")


@pytest.fixture
def restore_theme():
    saved = dataclasses.asdict(THEME)
    yield THEME
    for k, v in saved.items():
        setattr(THEME, k, v)


@pytest.fixture
def tiny(tmp_path):
    """The tiny course module (model: a directory that is never loaded in these tests)."""
    path = write_tiny_course(tmp_path, tmp_path / "no-model")
    return D._import_file(path), path


def course_from(tmp_path: Path, text: str, name: str = "course.toml") -> C.Course:
    p = tmp_path / name
    p.write_text(text)
    return C.load_course(p)


def scene_of(cls):
    from manim import tempconfig

    with tempconfig({"dry_run": True}):
        return cls()


# ---------------------------------------------------------------- finding the config
def test_env_var_wins_then_local_file_then_shipped_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(C.ENV_VAR, raising=False)
    assert C.find_config() == (C.DEFAULT_PATH, "default")
    (tmp_path / C.LOCAL_NAME).write_text('prompt = "local"\n')
    assert C.find_config() == (tmp_path / C.LOCAL_NAME, "local")
    other = tmp_path / "other.toml"
    other.write_text('prompt = "env"\n')
    monkeypatch.setenv(C.ENV_VAR, "other.toml")  # relative to the current folder
    assert C.find_config() == (other, "env")
    assert C.load_course().data == {"prompt": "env"}
    monkeypatch.setenv(C.ENV_VAR, "none")
    assert C.find_config() == (None, "none")
    assert C.load_course().data == {}


def test_env_var_naming_a_missing_file_is_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv(C.ENV_VAR, str(tmp_path / "missing.toml"))
    with pytest.raises(UserError, match=r"missing\.toml .*does not exist.*GPT_SCENES_COURSE"):
        C.find_config()


# ---------------------------------------------------------------- applying good values
GOOD = '''
model = "top-level-model"
[theme]
background = "#101010"
font = "DejaVu Sans"
digits = 3
[tiny]
prompt = "the cat sat on the mat"
radius = 2
layer = 1
head = 0
temperatures = [0.25, 2]
top_k = 5
words = ["cat", "dog", "bird"]
analogies = [["paris", "france", "italy", "rome"]]
beats = ["beat_two", "beat_one"]
[tiny.captions]
count = "{n} jetons (couche {layer})"
'''


def test_good_config_sets_knobs_theme_and_captions(tmp_path, tiny, restore_theme):
    mod, _ = tiny
    course = course_from(tmp_path, GOOD)
    scene = scene_of(mod.TinyScene)
    A.apply_course_config(scene, course)
    assert scene.prompt == "the cat sat on the mat"
    assert scene.radius == 2.0 and isinstance(scene.radius, float)   # int accepted for a float
    assert (scene.layer, scene.head, scene.top_k) == (1, 0, 5)
    assert scene.temperatures == (0.25, 2.0)
    assert scene.words == ("cat", "dog", "bird")
    assert scene.analogies == (("paris", "france", "italy", "rome"),)
    assert list(scene.beats) == ["beat_two", "beat_one"]
    assert scene.model == "top-level-model"                         # top level reaches every scene
    assert scene.caption_text("count", n=4, layer=1) == "4 jetons (couche 1)"
    assert (THEME.background, THEME.font, THEME.digits) == ("#101010", "DejaVu Sans", 3)
    # the class itself is untouched: another course (or none) starts from the defaults
    assert mod.TinyScene.prompt == "Hello world" and mod.TinyScene.captions["count"].startswith("{n}")


def test_section_model_beats_top_level_and_auto_means_none(tmp_path, tiny):
    mod, _ = tiny
    course = course_from(tmp_path, 'model = "everyone"\n[tiny]\nmodel = "mine"\nlayer = "auto"\n')
    values, _ = V.scene_values(course, mod.TinyScene)
    assert values["model"] == "mine" and values["layer"] is None


def test_subclass_setting_a_knob_in_code_wins_over_the_inherited_section(tmp_path, tiny):
    mod, _ = tiny
    course = course_from(tmp_path, '[tiny]\nprompt = "from the config"\ntop_k = 7\n')
    notes: list[str] = []
    values, _ = V.scene_values(course, mod.TinyTwo, notes)
    assert "prompt" not in values and values["top_k"] == 7
    assert notes and "TinyTwo" in notes[0] and "prompt" in notes[0]
    assert V.scene_values(course, mod.TinyScene)[0]["prompt"] == "from the config"


def test_knobs_are_found_by_introspection(tiny):
    mod, _ = tiny
    ks = K.knobs(mod.TinyScene)
    assert {"prompt", "model", "device", "beats", "radius", "layer", "head", "temperatures",
            "top_k", "words", "analogies"} <= set(ks)
    assert not {"captions", "config_section", "trace", "beat_one", "construct"} & set(ks)
    assert ks["radius"].doc == "Radius of the circle (frame units)."
    assert list(ks)[0] == "prompt"


# ---------------------------------------------------------------- one-line errors
BAD = [
    ('[tiny]\nlayer = "x"\n', r"\[tiny\] layer = 'x' — must be an integer ≥ 0"),
    ("[tiny]\nlayer = -1\n", r"\[tiny\] layer = -1 — must be an integer ≥ 0"),
    ("[tiny]\nhead = 1.5\n", r"\[tiny\] head = 1\.5 — must be an integer ≥ 0"),
    ('[tiny]\nprompt = ""\n', r"\[tiny\] prompt = '' — must be a non-empty string"),
    ("[tiny]\nprompt = 3\n", r"\[tiny\] prompt = 3 — must be a non-empty string"),
    ("[tiny]\ntemperatures = [1.0, 0]\n",
     r"\[tiny\] temperatures = \[1\.0, 0\] — must be a list of positive numbers"),
    ('[tiny]\ntemperatures = "hot"\n', r"temperatures = 'hot' — must be a list of positive numbers"),
    ("[tiny]\ntop_k = 0\n", r"\[tiny\] top_k = 0 — must be a positive integer"),
    ("[tiny]\ntop_k = true\n", r"\[tiny\] top_k = true — must be a positive integer"),
    ('[tiny]\nwords = ["a", 3]\n', r"words = \['a', 3\] — must be a list of strings"),
    ('[tiny]\nradius = "big"\n', r"radius = 'big' — must be a number"),
    ("[tiny]\nradius = nan\n", r"\[tiny\] radius = nan — must be a number"),
    ("[tiny]\nradius = inf\n", r"\[tiny\] radius = inf — must be a number"),
    ("[theme]\ntext_size = nan\n", r"\[theme\] text_size = nan — must be a positive number"),
    ("[theme]\ncaption_size = -3.0\n", r"\[theme\] caption_size = -3\.0 — must be a positive number"),
    ('[tiny]\nbeats = ["beat_one", "beat_three"]\n',
     r"beats = .* — must be a non-empty list of beats of TinyScene: beat_one, beat_two"),
    ("[tiny]\nlyer = 3\n", r"\[tiny\] lyer = 3 — unknown key; allowed: prompt, radius, layer"),
    ("[tinny]\nlayer = 3\n", r"\[tinny\] — unknown section; allowed: theme, captions, .*tiny"),
    ('modle = "gpt2"\n', r"modle = 'gpt2' — unknown top-level key; allowed: prompt, model, device"),
    ('device = "gpu"\n', r"device = 'gpu' — must be one of 'cpu', 'cuda', 'cuda:N', 'mps', or \"auto\""),
    ('[theme]\nbackground = "black"\n',
     r"\[theme\] background = 'black' — must be a colour as #RRGGBB"),
    ('[theme]\nfont = "No Such Font 123"\n', r"font = 'No Such Font 123' — must be an installed font"),
    ('[theme]\ncolour = "#FFFFFF"\n', r"\[theme\] colour = '#FFFFFF' — unknown key; allowed: background"),
    ('[theme]\ndigits = 9\n', r"\[theme\] digits = 9 — must be an integer from 0 to 6"),
    ('[tiny.captions]\ncount = "{m} tokens"\n',
     r"\[tiny\.captions\] count = '\{m\} tokens' — may use only the placeholders \{layer\} \{n\}"),
    ('[tiny.captions]\ncuont = "x"\n', r"\[tiny\.captions\] cuont = 'x' — unknown caption; allowed: count"),
]


@pytest.mark.parametrize("text,message", BAD, ids=[m[:28] for _, m in BAD])
def test_bad_value_raises_one_line_naming_key_value_and_allowed(tmp_path, tiny, text, message):
    mod, path = tiny
    course = course_from(tmp_path, text)
    entries, errors = D.discover([path])
    assert not errors
    with pytest.raises(UserError) as e:
        D.check_course(course, entries)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith("course config ") and "course.toml" in msg
    assert re.search(message, msg), msg


def test_invalid_toml_is_one_line_with_the_position(tmp_path):
    (tmp_path / "c.toml").write_text('[tiny]\nprompt = "a"\nprompt = "b"\n')
    with pytest.raises(UserError) as e:
        C.load_course(tmp_path / "c.toml")
    assert "\n" not in str(e.value) and re.search(r"c\.toml: not valid TOML: .*line 3", str(e.value))


def test_apply_raises_the_same_error_for_the_scene_being_rendered(tmp_path, tiny, restore_theme):
    mod, _ = tiny
    course = course_from(tmp_path, "[tiny]\ntop_k = -2\n")
    with pytest.raises(UserError, match=r"\[tiny\] top_k = -2 — must be a positive integer"):
        A.apply_course_config(scene_of(mod.TinyScene), course)
    # a theme error leaves the theme as it was (validation before any change)
    before = THEME.background
    course = course_from(tmp_path, '[theme]\nbackground = "#000000"\n[tiny]\nhead = "h"\n', "c2.toml")
    with pytest.raises(UserError, match="head = 'h'"):
        A.apply_course_config(scene_of(mod.TinyScene), course)
    assert THEME.background == before


def test_check_command_exits_2_with_one_line(tmp_path, tiny):
    _, path = tiny
    bad = tmp_path / "bad.toml"
    bad.write_text('[tiny]\nlayer = "x"\n')
    r = subprocess.run([PY, "-m", "scenes.kit.course", "check", str(bad), "--scenes", str(path)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "[tiny] layer = 'x' — must be an integer ≥ 0" in lines[0]
    # GOOD sets layer/head: the check reads them against the model, so it must exist
    good = tmp_path / "good.toml"
    good.write_text(GOOD.replace('"top-level-model"', '"smollm2"'))
    r = subprocess.run([PY, "-m", "scenes.kit.course", "check", str(good), "--scenes", str(path)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout
    good.write_text(GOOD)  # a model that cannot be found: one line, exit 2, before rendering
    r = subprocess.run([PY, "-m", "scenes.kit.course", "check", str(good), "--scenes", str(path)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "top-level-model" in r.stderr


def test_manim_render_with_a_bad_config_exits_2_before_rendering(tmp_path, tiny):
    """The real path: `manim render` finds the config through the environment variable."""
    _, path = tiny
    bad = tmp_path / "bad.toml"
    bad.write_text("[tiny]\ntemperatures = [-1.0]\n")
    env = dict(os.environ, GPT_SCENES_COURSE=str(bad))
    r = subprocess.run([PY, "-m", "manim", "render", "-ql", "--media_dir", str(tmp_path / "m"),
                        str(path), "TinyScene"], capture_output=True, text=True, env=env,
                       cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    err = [ln for ln in r.stderr.splitlines() if "error:" in ln]
    assert len(err) == 1 and "[tiny] temperatures = [-1.0] — must be a list of positive numbers" in err[0]
    assert "Traceback" not in r.stdout + r.stderr
    assert not list((tmp_path / "m").rglob("*.mp4"))


# ---------------------------------------------------------------- the shipped config
def _uncomment(text: str) -> str:
    """Every commented-out `key = value` line of the template made active."""
    return re.sub(r"^# ((?:[A-Za-z_][\w-]*|\"[^\"]+\") = )", r"\1", text, flags=re.M)


def test_shipped_config_is_valid_with_every_line_uncommented():
    """The shipped course.toml names only knobs and captions that exist, with valid defaults.
    (A knob added since it was generated is simply not listed yet; regenerate it with
    `python -m scenes.kit.course template > scenes/kit/course/course.toml`.)"""
    entries, _ = D.discover()
    shipped = C.DEFAULT_PATH.read_text()
    course = C.Course(C.DEFAULT_PATH, C.tomllib.loads(shipped), "default")
    D.check_course(course, entries)  # valid as shipped (every knob commented out)
    data = C.tomllib.loads(_uncomment(shipped))
    # caption wording changes often while scenes are written: check caption keys only
    shipped_caps = {k: set(v.pop("captions", {})) for k, v in data.items() if isinstance(v, dict)}
    active = C.Course(C.DEFAULT_PATH, data, "default")
    stale = "the shipped course.toml is out of date: python -m scenes.kit.course template > scenes/kit/course/course.toml"
    try:
        D.check_course(active, entries)
    except UserError as e:
        pytest.fail(f"{stale} ({e})")
    documented = 0
    for e in entries:
        sec = e.cls.config_section
        assert shipped_caps.get(sec, set()) <= set(e.cls.captions), f"{stale} ([{sec}.captions])"
        documented += len(active.section(sec))
    assert documented >= len(entries) * 3  # prompt, beats, model at least


def test_template_round_trips_the_tiny_course(tiny):
    mod, path = tiny
    entries, _ = D.discover([path])
    text = _uncomment(T.template(entries))
    course = C.Course(Path("t.toml"), C.tomllib.loads(text), "arg")
    values, caps = V.scene_values(course, mod.TinyScene)
    assert values["analogies"] == mod.TinyScene.analogies
    assert values["temperatures"] == mod.TinyScene.temperatures
    assert values["layer"] is None and caps == mod.TinyScene.captions


def test_init_writes_a_starter_config_and_refuses_to_overwrite(tmp_path):
    dest = tmp_path / "gpt-scenes.toml"
    assert cli.main(["init", str(dest)]) == 0
    assert dest.read_text() == C.DEFAULT_PATH.read_text()
    with pytest.raises(SystemExit) as e:
        cli.main(["init", str(dest)])
    assert e.value.code == 2


def test_example_course_config_is_valid_and_sets_every_prompt():
    entries, _ = D.discover()
    course = C.load_course(ROOT / "assets" / "example-course.toml")
    D.check_course(course, entries)
    for e in entries:
        values, _ = V.scene_values(course, e.cls)
        assert values.get("prompt") == course.section(e.cls.config_section).get(
            "prompt", course.data["prompt"])


def test_example_course_file_subclasses_are_scenes_with_their_own_knobs(tmp_path):
    path = ROOT / "assets" / "example_course.py"
    entries, errors = D.discover([path])
    assert not errors
    mine = {e.id: e.cls for e in entries if e.file == path.resolve()}
    assert set(mine) == {"my_tokenization", "my_attention"}  # the Slides class is not a scene
    att = mine["my_attention"]
    assert "beat_multihead" not in att.beats and att.beats[0] == "beat_tokens"
    # the course config section it inherits applies, except what the subclass sets itself
    course = course_from(tmp_path, '[attention]\nprompt = "from the config"\nentries = 3\n')
    values, _ = V.scene_values(course, att)
    assert values == {"entries": 3}


# ---------------------------------------------------------------- the story scenes' values
STORY_BAD = [
    ("[attention]\npause = -1.0\n", r"\[attention\] pause = -1\.0 — must be a number from 0 to 60"),
    ("[attention]\npause = nan\n", r"\[attention\] pause = nan — must be a number from 0 to 60"),
    ("[attention]\nentries = 0\n", r"\[attention\] entries = 0 — must be an integer from 1 to 16"),
    ("[embedding_space]\nradius = nan\n", r"radius = nan — must be a number > 0 and ≤ 3\.5"),
    ("[softmax_temperature]\ntemperatures = []\n",
     r"temperatures = \[\] — must be a list of positive numbers \(at least 1\)"),
    ("[softmax_temperature]\nseed = -1\n", r"seed = -1 — must be an integer ≥ 0"),
    ("[unembedding]\ntop_k = 9\n", r"\[unembedding\] top_k = 9 — must be an integer from 1 to 8"),
    ("[tokenization]\nvocab_samples = 1\n", r"vocab_samples = 1 — must be an integer from 2 to 16"),
    # against the model and the prompt (the bundled SmolLM2: 30 layers, 9 heads)
    ("[attention]\nlayer = 40\n", r"\[attention\] layer = 40 — must be 0 to 29: .* has 30 layers"),
    ("[attention]\nlayer = 2\nhead = 9\n", r"\[attention\] head = 9 — must be 0 to 8: .* 9 heads"),
    ("[attention]\nsearch_layers = [1, 30]\n", r"search_layers = \[1, 30\] — must be layers 0 to 29"),
    ('[attention]\nprompt = "one two"\nquery = 5\n',
     r"\[attention\] query = 5 — must be a position 0 to 1: the prompt has 2 tokens"),
    # the whole-model and MLP scenes
    ("[mlp]\nn_neurons = 7\n", r"\[mlp\] n_neurons = 7 — must be an integer from 1 to 6"),
    ("[logit_lens]\nmax_rows = 2\n", r"\[logit_lens\] max_rows = 2 — must be an integer from 3 to 12"),
    ("[kv_cache]\nentries = 1\n", r"\[kv_cache\] entries = 1 — must be an integer from 2 to 5"),
    ("[mlp]\nlayer = 30\n", r"\[mlp\] layer = 30 — .* has 30 layers, so use 0\.\.29"),
    ('[mlp]\nanswer = " Romeo and Juliet"\n',
     r"\[mlp\] answer = ' Romeo and Juliet' — is 3 tokens .* it must be one token"),
    ('[logit_lens]\nanswer = "x y z"\n', r"\[logit_lens\] answer = 'x y z' — is 3 tokens"),
    ("[kv_cache]\nhead = 9\n", r"\[kv_cache\] head = 9 — must be 0 to 8: .* has 9 heads"),
    ("[transformer]\nposition = 5\n",
     r"\[transformer\] position = 5 — must be 0 to 4 \(or -1 for the last\): the prompt has 5 tokens"),
]


@pytest.mark.parametrize("text,message", STORY_BAD)
def test_story_scene_values_are_checked_before_rendering(tmp_path, text, message):
    entries, _ = D.discover()
    with pytest.raises(UserError) as e:
        D.check_course(course_from(tmp_path, text), entries)
    assert re.search(message, str(e.value)) and "\n" not in str(e.value)


def test_values_a_course_file_sets_in_code_are_checked_too(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text("from scenes.attention import AttentionScene\n\n"
                    "class Mine(AttentionScene):\n    config_section = 'mine'\n    entries = 0\n")
    entries, errors = D.discover([path])
    assert not errors
    with pytest.raises(UserError, match=r"^scene Mine: entries = 0 — must be an integer from 1 to 16$"):
        D.check_course(C.Course(None, {}, "none"), entries)
