"""``python -m scenes.kit.course ...`` (see :mod:`scenes.kit.course.cli`)."""
import sys

from .cli import main

sys.exit(main())
