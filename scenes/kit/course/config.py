"""Course config: one TOML file per course sets every scene's knobs, the theme and captions.

Where the config comes from (first match wins):

1. ``$GPT_SCENES_COURSE`` — a path to a TOML file (``none`` = use no config file);
2. ``./gpt-scenes.toml`` in the current folder;
3. the shipped default (``scenes/kit/course/course.toml``, package data), every knob documented and commented out, so
   the scenes' own class defaults apply.

The file::

    model = "auto"                   # top level: every scene, unless its section says otherwise
    prompt = "The capital of France is"

    [theme]                          # scenes.theme.Theme fields
    background = "#0E1116"
    font = "CMU Serif"

    [captions]                       # caption overrides for any scene that has the key

    [attention]                      # one section per scene (its ``config_section``)
    prompt = "the cat sat on the mat because it was tired"
    layer = 3
    head = 1
    beats = ["beat_tokens", "beat_pattern"]    # skip or reorder beats

    [attention.captions]             # this scene's caption wording (e.g. another language)
    intro = "Chaque mot regarde les mots précédents"

A section's allowed keys are the scene class's knobs, found by introspection (public data
class attributes of the scene class), so a scene that gains a knob is configurable at
once. A bad key or value raises :class:`tensors.UserError` with one line naming the file,
the key, the value and what is allowed (exit 2 under ``manim render``), e.g.::

    course config gpt-scenes.toml: [attention] layer = 'x' — must be an integer ≥ 0

Command line (``python -m scenes.kit.course ...``)::

    check [FILE] [--scenes F.py ...]   validate a config against every scene (exit 2 if bad)
    list [--scenes F.py ...] [--json]  the scenes found, in story order
    show [FILE]                        the knob values each scene will use
    init [PATH]                        write a starter config (default ./gpt-scenes.toml)
    template                           print the fully commented config (the shipped default)
    warm [--scenes F.py ...] [NAME ...] compute the scenes' traces once (before parallel renders)

A knob that a course's own subclass sets in code wins over the config section it inherits
(``class MyAttention(AttentionScene): prompt = ...``); give the subclass its own
``config_section`` to configure it separately.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib  # Python >= 3.11 (pyproject.toml's requires-python)
from pathlib import Path
from typing import Any

from tensors import UserError

ENV_VAR = "GPT_SCENES_COURSE"
LOCAL_NAME = "gpt-scenes.toml"
#: The shipped default: every knob documented and commented out (package data).
DEFAULT_PATH = Path(__file__).resolve().parent / "course.toml"
#: Where the story scenes are: a story scene is a ``.py`` file directly in this folder.
SCENES_DIR = Path(__file__).resolve().parents[2]


def scene_files() -> list[Path]:
    """The story scene files: every ``scenes/*.py`` not starting with ``_``."""
    return sorted(p for p in SCENES_DIR.glob("*.py") if not p.stem.startswith("_"))


@dataclasses.dataclass
class Course:
    """A parsed course config (``data`` is the raw TOML table; ``path`` None = no file)."""

    path: Path | None
    data: dict[str, Any]
    source: str  # "env", "local", "default" or "none"

    @property
    def label(self) -> str:
        if self.path is None:
            return "(none)"
        try:
            return str(self.path.relative_to(Path.cwd()))
        except ValueError:
            return str(self.path)

    def section(self, name: str) -> dict[str, Any]:
        v = self.data.get(name, {})
        return v if isinstance(v, dict) else {}


def find_config(cwd: Path | None = None) -> tuple[Path | None, str]:
    """(path, how it was found): env var, ./gpt-scenes.toml, or the shipped default."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        if env.lower() == "none":
            return None, "none"
        p = Path(env).expanduser()
        if not p.is_absolute():
            p = (cwd or Path.cwd()) / p
        if not p.is_file():
            raise UserError(f"course config {env} (from ${ENV_VAR}) does not exist; "
                            f"fix the path, or unset {ENV_VAR} to use ./{LOCAL_NAME}")
        return p, "env"
    local = (cwd or Path.cwd()) / LOCAL_NAME
    if local.is_file():
        return local, "local"
    if DEFAULT_PATH.is_file():
        return DEFAULT_PATH, "default"
    return None, "none"


def existing_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` resolved, or a one-line UserError saying why it is not a readable file (it
    does not exist, is a folder, or is a symlink loop)."""
    try:
        p = Path(path).expanduser().resolve(strict=True)
    except RuntimeError:   # Python < 3.13: a symlink loop
        raise UserError(f"{what} {path} is a symlink loop; point it at a TOML file") from None
    except OSError as e:
        why = "is a symlink loop" if e.errno == 40 else "does not exist"
        raise UserError(f"{what} {path} {why}; pass an existing TOML file") from None
    if p.is_dir():
        raise UserError(f"{what} {path} is a folder, not a file; pass a TOML file in it")
    if not p.is_file():
        raise UserError(f"{what} {path} is not a regular file; pass a TOML file")
    return p


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"course config {path}: not valid TOML: {e}; "
                        "see `python -m scenes.kit.course template` for the format") from None
    except UnicodeDecodeError as e:
        raise UserError(f"course config {path}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at "
                        f"offset {e.start}); save it as UTF-8") from None
    except OSError as e:
        raise UserError(f"course config {path}: cannot read it ({e.strerror})") from None


def load_course(path: str | os.PathLike | None = None) -> Course:
    """The course config at ``path`` or, if None, the one :func:`find_config` finds."""
    if path is None:
        p, source = find_config()
    else:
        p, source = existing_file(path, "course config"), "arg"
    if p is None:
        return Course(None, {}, source)
    return Course(p, read_toml(p), source)
