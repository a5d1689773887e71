"""The render driver behind ``./render.sh`` and ``gpt-scenes render`` (``scripts/render.py``
/ :mod:`scenes.cli`): what turns scenes into a course's outputs.

    cli        options (standard library only: checked before the set-up); paths: ROOT, gallery
    plan       the manim command of each job; cutting a scene into pieces
    playcount  a scene's animation run times (a dry run), to cut it
    pool       jobs on this machine: N at a time, progress, clean interrupts
    ray_jobs   the same jobs on a Ray cluster (optional extra ``ray``)
    media      durations, lossless joins, GIFs, frame hashes
    slides     manim-slides HTML;  gallery: the README gallery;  summary: the table
    scenes_api the one module that imports from ``scenes``
    run        one run, start to end
"""
