"""An example course file: the scenes made yours by subclassing (the second way, next to the
course config). Copy it next to your course and change what you like.

    ./render.sh assets/example_course.py               # out/480p15/my_tokenization.mp4, my_attention.mp4
    manim render assets/example_course.py MyAttention  # or one scene with manim itself
    manim-slides render assets/example_course.py MyAttentionSlides   # as slides

Knobs set here win over the section of the course config that the class inherits
([attention] for MyAttention); knobs not set here still come from that section.
"""
from scenes.attention import AttentionScene
from scenes.kit.slides import slide_class
from scenes.tokenization import TokenizationScene


class MyTokenization(TokenizationScene):
    """Tokenization on the sentence the lecture keeps coming back to."""

    prompt = "The Eiffel Tower is in the city of"
    split_words = ("photosynthesis", "unbelievably")


class MyAttention(AttentionScene):
    """One head on a sentence with a pronoun to resolve; no multi-head overview."""

    prompt = "The animal didn't cross the street because it was too tired"
    beats = tuple(b for b in AttentionScene.beats if b != "beat_multihead")


MyAttentionSlides = slide_class(MyAttention)
