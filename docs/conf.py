"""Sphinx configuration: the scene writer's docs, built offline (``sphinx-build -W -b html
docs docs/_build``; tests/test_docs.py builds them). API pages are autodoc of the code."""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tensors._version import __version__  # noqa: E402

project = "gpt-scenes"
release = version = __version__
#: gpt_docs (docs/_ext): each piece's example rendered into its page; the Trace's field table
extensions = ["sphinx.ext.autodoc", "myst_parser", "gpt_docs"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_ext"]
autodoc_member_order = "bysource"
autodoc_typehints = "none"            # the signatures carry them; the pages stay readable
autodoc_inherit_docstrings = False  # not manim's or manim-slides' docs of what we override
suppress_warnings = ["myst.header"]
html_theme = "alabaster"              # ships with Sphinx: no download, works offline
myst_heading_anchors = 3
