"""The equation ledger: every equation or identity a beat shows, with the full-precision
operands it displays and the result it displays, so a test can recompute each one.

A beat that draws ``q = x̂·W_Q + b_Q`` next to numbers records it::

    self.equation("matmul", "q = x̂·W_Q + b_Q", shown=q_row, x=xhat_row, W=W_Q, b=b_Q)

and ``tests`` re-derive ``shown`` from the operands with :func:`recompute`; :func:`error`
is the relative error (fp32 scale), which must stay below 1e-5.

**Bound to what is drawn.** Text that states an equation's numbers is made from the entry
through one formatter, :meth:`Equation.say` (format fields name the entry's ``shown`` result
and operands, with indices and a precision: ``"{shown[3][0]:.4f}"``; extra fields may be
counts and words, never other numbers), and the mobject drawn is attached with
:meth:`Equation.bind`. Shown matrices are attached with :meth:`Equation.bind_cells`. The
test then checks what is on screen, not what was recorded: :func:`drawn_problems` parses
the numbers back out of each bound mobject, compares them with the entry at the precision
shown, and checks that shown arithmetic (terms ``=`` a total) holds at that precision —
``≈`` says it is rounded.

>>> e = Equation("dot", "x·w", shown=np.array(0.1247), operands={"a": np.ones(2), "b": np.ones(2)})
>>> e.say("… + {rest:,} more terms = {shown:.4f}", rest=573)
'… + 573 more terms = 0.1247'
>>> parse_numbers("−0.03 + 0.01 − 0.03 + 0.17 = 0.11")
[-0.03, 0.01, -0.03, 0.17, 0.11]
>>> arithmetic_holds("−0.03 + 0.01 − 0.03 + 0.17 = 0.11"), arithmetic_holds("0.1 + 0.2 ≈ 0.3")
(False, True)
>>> arithmetic_holds("… + 61 more terms + b_Q[0] (0.0123) = 0.3620")   # not a shown sum
True

>>> import numpy as np
>>> e = Equation("dot", "q·k", shown=np.array(11.0), operands={"a": np.array([1., 2.]), "b": np.array([3., 4.])})
>>> error(e) < 1e-12
True
"""
from __future__ import annotations

import dataclasses
import html
import re
import string
from typing import Any, Callable, Sequence

import numpy as np

from .analysis.mlp import activation  # the MLP nonlinearities, by the model's name


def _softmax(z: np.ndarray, T: float = 1.0) -> np.ndarray:
    z = np.asarray(z, np.float64) / float(T)
    finite = np.isfinite(z)
    e = np.where(finite, np.exp(np.where(finite, z, 0) - np.max(np.where(finite, z, -np.inf), axis=-1, keepdims=True)), 0.0)
    return e / e.sum(axis=-1, keepdims=True)


def _rmsnorm(x, g, eps):
    x = np.asarray(x, np.float64)
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + float(eps)) * g


def _layernorm(x, g, b, eps):
    x = np.asarray(x, np.float64)
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + float(eps)) * g + b


def _rope(x, pos, theta, dims, scaling=1.0):
    """Rotary position embedding as Llama applies it (rotate_half convention): the first
    ``dims`` numbers of each row of x [pos, d] rotated by angles pos·θ^(−2i/dims)."""
    x = np.asarray(x, np.float64)
    pos = np.asarray(pos, np.float64).reshape(-1, 1)
    inv = 1.0 / float(theta) ** (np.arange(0, int(dims), 2, dtype=np.float64) / int(dims))
    ang = np.concatenate([pos * inv, pos * inv], axis=-1)
    cos, sin = np.cos(ang) * scaling, np.sin(ang) * scaling
    r, rest = x[..., :int(dims)], x[..., int(dims):]
    half = int(dims) // 2
    rot = np.concatenate([-r[..., half:], r[..., :half]], axis=-1)
    return np.concatenate([r * cos + rot * sin, rest], axis=-1)


def _cosine(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a @ b / (np.linalg.norm(a) * np.linalg.norm(b))


#: kind -> how its result follows from its operands (names are the keyword operands).
KINDS: dict[str, Callable[..., Any]] = {
    "matmul": lambda x, W, b=None: np.asarray(x, np.float64) @ W + (0.0 if b is None else b),
    "dot": lambda a, b: np.dot(np.asarray(a, np.float64), b),
    "scale": lambda a, s: np.asarray(a, np.float64) * s,
    "add": lambda a, b: np.asarray(a, np.float64) + b,
    "sum": lambda terms: np.asarray(terms, np.float64).sum(axis=0),
    "a-b+c": lambda a, b, c: np.asarray(a, np.float64) - b + c,
    "weighted_sum": lambda w, v: np.asarray(w, np.float64) @ np.asarray(v, np.float64),
    "softmax": _softmax,
    "rmsnorm": _rmsnorm,
    "layernorm": _layernorm,
    "cosine": _cosine,
    "rope": _rope,
    "mean": lambda x: np.asarray(x, np.float64).mean(axis=-1),
    "rms": lambda x, eps: np.sqrt((np.asarray(x, np.float64) ** 2).mean(axis=-1) + float(eps)),
    "std": lambda x, eps: np.sqrt(np.asarray(x, np.float64).var(axis=-1) + float(eps)),
    "lookup": lambda W, rows: np.asarray(W)[np.asarray(rows)],
    "total": lambda parts: np.sum(np.asarray(parts, np.int64)),
    "activation": activation,  # act(x) or act(x) * up (gated MLPs); name = the model's
    "product": lambda factors: np.prod(np.asarray(factors, np.int64)),
}


@dataclasses.dataclass
class Equation:
    """One equation as shown: its ``kind`` (a key of :data:`KINDS`), the ``text`` on screen,
    the ``shown`` result and the ``operands`` (full precision, as displayed)."""

    kind: str
    text: str
    shown: Any
    operands: dict[str, Any]
    where: str = ""  # scene.beat that recorded it
    #: (mobject on screen, the text :meth:`say` made for it) — see :meth:`bind`
    drawn: list = dataclasses.field(default_factory=list)
    #: (term cells [terms][cells], total cells, relation "=" or "≈") — see :meth:`bind_cells`
    cells: list = dataclasses.field(default_factory=list)
    #: texts :meth:`say` made (in order), waiting for :meth:`bind`
    said: list = dataclasses.field(default_factory=list)
    #: (drawn cells, field, index) — see :meth:`bind_entries`
    entries: list = dataclasses.field(default_factory=list)

    def say(self, template: str, **extra: Any) -> str:
        """The text stating this equation, made from the entry: ``template``'s fields name
        ``shown`` and the operands (indexable, with a format spec); ``extra`` fields may only
        be counts (int) and words (str) — a number the model computed must come from the
        entry. The text is remembered for :meth:`bind`."""
        for k, v in extra.items():
            if isinstance(v, (float, np.floating, np.ndarray)) or k in self.operands or k == "shown":
                raise TypeError(f"say(): {k!r} must come from the entry (shown or an operand), "
                                "not be passed in; extra fields are counts and words")
        fields = {"shown": np.asarray(self.shown), **{k: np.asarray(v) if isinstance(v, (list, tuple)) else v
                                                       for k, v in self.operands.items()}, **extra}
        text = _Formatter().format(template, **fields)
        self.said.append(text)
        return text

    def bind(self, mob: Any, text: str | None = None) -> Any:
        """Attach ``mob`` (drawn on screen) to this entry; its ``.text`` must be ``text``
        (default: the last :meth:`say`). Returns ``mob``."""
        self.drawn.append((mob, text if text is not None else self.said[-1]))
        return mob

    def bind_cells(self, terms: Sequence[Sequence[Any]], total: Sequence[Any],
                   relation: str = "=") -> None:
        """Attach a drawn sum of shown numbers: ``terms[i][j]`` is the j-th shown cell of
        term i, ``total[j]`` the j-th shown cell of the result, ``relation`` the sign drawn
        between them ("=" holds at the shown precision, "≈" says it is rounded)."""
        self.cells.append(([list(t) for t in terms], list(total), relation))

    def bind_entries(self, cells: Sequence[Any], field: str = "shown", index: Any = ()) -> None:
        """Attach drawn numbers that show part of this entry: ``cells[j]`` shows the j-th
        number of ``field`` (``"shown"`` or an operand) at ``index``, flattened — e.g. the
        first numbers of row k of the result: ``bind_entries(vec.row(0), "shown", k)``."""
        if field != "shown" and field not in self.operands:
            raise KeyError(f"bind_entries(): {field!r} is neither 'shown' nor an operand")
        self.entries.append((list(cells), field, index))


class _Formatter(string.Formatter):
    """str.format, with numpy scalars formatted as Python floats and the true minus sign;
    the spec ``num.D`` prints a value as a grid entry is printed
    (:func:`scenes.kit.text.number_str` with D decimals: no sign on a value that rounds to
    zero, short scientific notation when large)."""

    def format_field(self, value: Any, spec: str) -> str:
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        if isinstance(value, np.generic):
            value = value.item()
        if spec == "num" or spec.startswith("num."):
            from .text import number_str
            return number_str(float(value), int(spec[4:]) if spec[4:] else None)
        return super().format_field(value, spec).replace("-", "−")


_NUM = re.compile(r"(?<![\w.])([−\-+]?)\s*(\d[\d,]*(?:\.\d+)?)")


_SUM = re.compile(r"[−\-+]?\s*\d[\d,]*(?:\.\d+)?(?:\s*[−\-+]\s*\d[\d,]*(?:\.\d+)?)+")


def parse_numbers(text: str) -> list[float]:
    """The numbers in a shown text, in order (true minus, thousands commas; a sign
    between two numbers is read as the second one's sign).

    >>> parse_numbers("… + 573 more terms + b_Q = −0.1247")
    [573.0, -0.1247]
    """
    out = []
    for sign, num in _NUM.findall(text.replace("\u2009", " ")):
        v = float(num.replace(",", ""))
        out.append(-v if sign in "−-" and sign else v)
    return out


def decimals(s: str) -> int:
    """Decimals shown in a number string: decimals("−0.120") == 3."""
    m = re.search(r"\.(\d+)", s)
    return len(m.group(1)) if m else 0


def arithmetic_holds(text: str) -> bool:
    """Whether ``a ± b ± … = c`` as shown adds up at the precision shown: the exact sum of
    the shown terms, rounded to ``c``'s decimals, is ``c``. True when the relation is ``≈``
    (said to be rounded) or the text has no such sum."""
    if "≈" in text or text.count("=") != 1:
        return True
    left, right = text.split("=")
    if not _SUM.fullmatch(left.strip()):
        return True                          # not a sum of shown numbers (words, symbols)
    terms, res = parse_numbers(left), parse_numbers(right)
    if len(terms) < 2 or len(res) != 1:
        return True
    strings = _NUM.findall(right)
    d = decimals(strings[0][1])
    return abs(sum(terms) - res[0]) <= 0.5 * 10 ** -d + 1e-9


def sum_digits(terms: np.ndarray, total: np.ndarray, start: int = 2, most: int = 4) -> int | None:
    """The fewest decimals (``start`` … ``most``) at which shown terms (rows of ``terms``,
    one column per shown entry) add up to the shown ``total`` in every column; None when
    none does (draw ``≈`` then).

    >>> sum_digits(np.array([[-0.034], [0.014], [-0.034], [0.165]]), np.array([0.111]))
    3
    """
    terms, total = np.atleast_2d(np.asarray(terms, np.float64)), np.asarray(total, np.float64)
    for d in range(start, most + 1):
        r = lambda v: np.array([float(f"{x:.{d}f}") for x in np.ravel(v)]).reshape(np.shape(v))
        if np.all(np.abs(r(terms).sum(0) - r(total)) <= 0.5 * 10 ** -d + 1e-9):
            return d
    return None


def _mob_text(mob: Any) -> str:
    t = getattr(mob, "text", None)
    if isinstance(t, str):
        return html.unescape(re.sub(r"</?su[bp]>", "", t))
    return " ".join(_mob_text(m) for m in getattr(mob, "submobjects", []) if _mob_text(m))


def _close(shown: str, value: float) -> bool:
    d = decimals(shown)
    v = parse_numbers(shown)
    return len(v) == 1 and abs(v[0] - float(value)) <= 0.5 * 10 ** -d + 1e-9 * max(1, abs(value))


def _same(a: str, b: str) -> bool:
    """Two shown numbers read the same (one term ``=`` its total: a copy, a lookup)."""
    return parse_numbers(a) == parse_numbers(b) and decimals(a) == decimals(b)


def drawn_problems(e: "Equation") -> list[str]:
    """What is wrong with what ``e`` shows on screen: a bound mobject whose text is not the
    text made from the entry; a shown cell whose number is not its ``.value`` at the shown
    precision; shown arithmetic that does not hold at the shown precision (and is not
    marked ``≈``); a cell bound with :meth:`Equation.bind_entries` that does not show its
    number of the entry at the shown precision."""
    from .text import markup          # scenes draw subscripts with Pango markup (W_Q → W<sub>Q</sub>)

    norm = lambda s: html.unescape(re.sub(r"</?su[bp]>", "", markup(s))).replace(" ", "")
    out: list[str] = []
    for mob, text in e.drawn:
        on = _mob_text(mob)
        if on.replace(" ", "") not in (norm(text), text.replace(" ", "")):
            out.append(f"{e.where}: drawn {on!r} is not the ledger's {text!r}")
        elif not arithmetic_holds(on):
            out.append(f"{e.where}: {on!r} does not add up as shown (say ≈)")
    for terms, total, rel in e.cells:
        for cell in [c for t in terms for c in t] + list(total):
            if not _close(_mob_text(cell), getattr(cell, "value", float("nan"))):
                out.append(f"{e.where}: cell {_mob_text(cell)!r} is not {getattr(cell, 'value', None)}")
        if rel != "≈":
            for j, tot in enumerate(total):
                sides = " + ".join(_mob_text(t[j]) for t in terms) + " = " + _mob_text(tot)
                if not (_same(_mob_text(terms[0][j]), _mob_text(tot)) if len(terms) == 1
                        else arithmetic_holds(sides.replace("+ −", "− "))):
                    out.append(f"{e.where}: shown column {j}: {sides} does not add up (say ≈)")
    for cells, field, index in e.entries:
        vals = np.ravel(np.asarray(e.shown if field == "shown" else e.operands[field], np.float64)[index])
        for j, cell in enumerate(cells):
            if j >= len(vals) or not _close(_mob_text(cell), vals[j]):
                out.append(f"{e.where}: drawn {_mob_text(cell)!r} is not {field}{[int(i) for i in np.atleast_1d(index)]}"
                           f"[{j}] = {vals[j] if j < len(vals) else None}")
    return out


def recompute(e: Equation) -> np.ndarray:
    return np.asarray(KINDS[e.kind](**e.operands), np.float64)


def error(e: Equation) -> float:
    """max |recomputed − shown| / max(|shown|, 1e-6·…): relative error at the result's scale."""
    r = recompute(e)
    s = np.asarray(e.shown, np.float64)
    if r.shape != s.shape:
        return float("inf")
    if e.kind in ("total", "product"):
        return float(np.max(np.abs(r - s)))
    fin = np.isfinite(s)
    if not np.array_equal(fin, np.isfinite(r)):
        return float("inf")
    if not fin.any():
        return 0.0
    scale = max(float(np.max(np.abs(s[fin]))), 1e-12)
    return float(np.max(np.abs(r[fin] - s[fin]))) / scale


class LedgerMixin:
    """Gives a scene ``self.ledger`` (a list of :class:`Equation`) and ``self.equation(...)``."""

    def equation(self, kind: str, text: str, shown: Any, **operands: Any) -> Equation:
        if kind not in KINDS:
            raise ValueError(f"unknown equation kind {kind!r}; one of {sorted(KINDS)}")
        e = Equation(kind, text, shown, operands, where=getattr(self, "_current_beat", ""))
        if not hasattr(self, "ledger"):
            self.ledger = []
        self.ledger.append(e)
        return e
