"""manim-slides: a slide per beat, `manim-slides render`, and the HTML conversion (the page
exists and references every slide's video, which lies beside it)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tiny_scene import write_tiny_course

PY = sys.executable


def test_a_slides_class_is_built_for_every_scene():
    from manim_slides import Slide

    from scenes.kit.course.discover import discover
    from scenes.kit.slides import SLIDE_CLASSES, slides_name

    entries, _ = discover()
    assert set(SLIDE_CLASSES) == {slides_name(e.cls) for e in entries}
    for e in entries:
        cls = SLIDE_CLASSES[slides_name(e.cls)]
        assert issubclass(cls, Slide) and issubclass(cls, e.cls)
        assert cls.beats == e.cls.beats


def test_slides_render_and_convert_to_html(tmp_path, tiny_gpt2_dir):
    import av

    course = write_tiny_course(tmp_path, tiny_gpt2_dir)
    course.write_text(course.read_text() + "\nfrom scenes.kit.slides import slide_class\n"
                      "TinySlides = slide_class(TinyScene)\n")
    r = subprocess.run([PY, "-m", "manim_slides", "render", "-ql", "--media_dir",
                        str(tmp_path / "media"), str(course), "TinySlides"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    cfg = json.loads((tmp_path / "slides" / "TinySlides.json").read_text())
    slides = cfg["slides"]
    assert len(slides) == 2  # TinyScene has two beats: one slide each
    durations = []
    for s in slides:
        with av.open(str(tmp_path / s["file"])) as c:
            v = c.streams.video[0]
            durations.append(float(v.duration * v.time_base))
    # beat one: 0.5 s Create + 0.4 s caption; beat two: 0.5 s FadeOut, then the last
    # beat keeps the caption until it has been read for 1.5 s (shown at 0.9 s: until 2.4 s)
    assert durations == [pytest.approx(0.9, abs=0.1), pytest.approx(1.5, abs=0.1)]

    r = subprocess.run([PY, "-m", "manim_slides", "convert", "TinySlides", "deck.html"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "deck.html").read_text()
    refs = re.findall(r'data-background-video="([^"]+)"', html)
    assert [Path(x).name for x in refs] == [Path(s["file"]).name for s in slides]
    for ref in refs:
        assert (tmp_path / ref).is_file()  # the videos are copied next to the page
    assert "<section" in html and "reveal" in html.lower()


def test_every_slide_has_speaker_notes_and_no_sliver_ends_the_deck(tmp_path, tiny_gpt2_dir):
    """Each slide's notes: its beat, the captions shown in it (what the voice says) and the
    course's own notes; a few frames after the last beat join the last slide."""
    import av

    course = write_tiny_course(tmp_path, tiny_gpt2_dir)
    course.write_text(course.read_text() + (
        "\nfrom scenes.kit.slides import slide_class\n"
        "class TailScene(TinyScene):\n"
        "    def construct(self):\n"
        "        super().construct()\n"
        "        self.wait(0.07)   # a sliver after the last beat\n"
        "TailSlides = slide_class(TailScene)\n"))
    cfg = tmp_path / "lecture.toml"
    cfg.write_text('[tiny]\nchapter = "A circle, counted"\n'
                   'notes = { beat_two = "Pause here for questions." }\n')
    env = {k: v for k, v in __import__("os").environ.items()}
    env["GPT_SCENES_COURSE"] = str(cfg)
    r = subprocess.run([PY, "-m", "manim_slides", "render", "-ql", "--media_dir",
                        str(tmp_path / "media"), str(course), "TailSlides"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    slides = json.loads((tmp_path / "slides" / "TailSlides.json").read_text())["slides"]
    assert len(slides) == 2  # two beats; the 0.07 s tail is not a third slide
    with av.open(str(tmp_path / slides[-1]["file"])) as c:
        v = c.streams.video[0]
        last = float(v.duration * v.time_base)
    # beat two's FadeOut, the caption's reading time (to 2.4 s) and the 0.07 s tail joined
    assert last == pytest.approx(1.5, abs=0.1)
    one, two = (s["notes"] for s in slides)
    assert one.startswith("**A circle, counted — beat 1 of 2: one**")
    n_layer = 3  # the tiny GPT-2: the caption names its last layer
    assert f"> 2 tokens, layer {n_layer - 1}" in one  # the caption shown during beat one
    assert two.startswith("**A circle, counted — beat 2 of 2: two**")
    assert two.endswith("Pause here for questions.")
    r = subprocess.run([PY, "-m", "manim_slides", "convert", "TailSlides", "deck.html"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "deck.html").read_text()
    assert html.count('<aside class="notes"') == 2 and "Pause here for questions." in html
