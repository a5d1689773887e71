"""The file ``manim-slides render`` loads for ``./render.sh --slides``: every
``<Name>Slides`` class of :mod:`scenes.kit.slides`, re-declared in this module.

Manim loads a scene file by path as a top-level module, so ``scenes/kit/slides.py`` itself
(relative imports) cannot be that file, and Manim lists only classes whose ``__module__``
is the loaded module: hence one subclass per slides class here.
"""
from scenes.kit.slides import SLIDE_CLASSES

globals().update({name: type(name, (cls,), {"__module__": __name__, "__doc__": cls.__doc__})
                  for name, cls in SLIDE_CLASSES.items()})
