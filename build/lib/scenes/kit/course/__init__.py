"""The course config: one TOML file per course sets every scene's knobs, theme and captions.

- :mod:`.config` — where the file comes from, reading it (:class:`Course`);
- :mod:`.knobs` — a scene's knobs by introspection (:class:`SceneKnobs`), :func:`beat`;
- :mod:`.validate` — every value checked, one line per problem;
- :mod:`.apply` — the course applied to the scene being rendered;
- :mod:`.discover` — the story scenes, story order, checking a whole course;
- :mod:`.template` — the fully commented config; :mod:`.cli` — ``python -m scenes.kit.course``.

Imports only :mod:`tensors` and :mod:`scenes.kit.theme`; the scene framework imports it.
"""
