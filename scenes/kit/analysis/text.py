"""Caption wrapping: a caption too long for one line goes onto two balanced lines (it never
shrinks), so every caption keeps the theme's size.

>>> wrap2("short caption", 40)
'short caption'
>>> wrap2("one two three four five six seven eight", 20)
'one two three four\\nfive six seven eight'
"""
from __future__ import annotations

import re


def wrap2(s: str, limit: int = 78) -> str:
    """``s`` unchanged when it has at most ``limit`` characters or already holds a line
    break; else split at the space that makes the longer of the two lines shortest."""
    if len(s) <= limit or "\n" in s or " " not in s:
        return s
    words = s.split(" ")
    best = min(range(1, len(words)),
               key=lambda i: max(len(" ".join(words[:i])), len(" ".join(words[i:]))))
    return " ".join(words[:best]) + "\n" + " ".join(words[best:])


_SUB = re.compile(r"(?<![A-Za-z])([A-Za-z])_([A-Za-z0-9ℓ]+)")


def sub_markup(s: str) -> str:
    """Plain text -> Pango markup: escaped, and ``W_E`` / ``d_model`` with real subscripts.

    >>> sub_markup("W_E = W_U & d_model < 1")
    'W<sub>E</sub> = W<sub>U</sub> &amp; d<sub>model</sub> &lt; 1'
    """
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SUB.sub(r"\1<sub>\2</sub>", s)
