"""The library the story scenes are built from (nothing here is a scene itself).

Import direction, each layer using only those before it::

    tensors  ←  theme, text  ←  course (config, knobs, validate, apply)  ←  scene
             ←  transitions, camera, pieces, analysis  ←  the story scenes (scenes/*.py)
             ←  course discovery/CLI, slides

- :mod:`.theme` — colours, fonts, number formats; :mod:`.text` — the one text engine;
- :mod:`.course` — the course config (TOML), knobs, validation, discovery, CLI;
- :mod:`.scene` — GPTScene and the beat API; :mod:`.transitions` — cheap curtains;
- :mod:`.pieces` — mobjects that draw real values; :mod:`.analysis` — pure numpy rules;
- :mod:`.camera` — the 3D camera of the embedding space; :mod:`.slides` — manim-slides.
"""
