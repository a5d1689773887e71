"""The shared visual vocabulary of gpt-scenes: the pieces every scene draws real numbers with.

All pieces read colours, fonts and number formatting from :data:`scenes.theme.THEME`, so a
course restyles every scene in one place. None of them invents a number: they draw exactly
the values they are given (keep them on ``.values`` so tests can compare with the Trace).

Pieces
------
- :class:`WeightMatrix` — a shown block of a weight matrix, brace with the real shape.
- :class:`VectorColumn` — a column vector (embedding, query, key, value …).
- :class:`TokenBoxes` — the tokenizer's own pieces in boxes, leading spaces visible.
- :class:`AttentionGrid` — queries × keys: scores (−∞ where masked) or the softmax pattern;
  an image (nearest-neighbour) for large grids.
- :class:`AttentionArcs` — arcs from attended tokens to the attending one, width by weight.
- :class:`ProbabilityBars` — next-token bars with labels and percentages.
- :func:`heatmap_image` — any 2-D array as a crisp ImageMobject (hundreds of cells+).

Performance: numbers are :class:`manim.Text` (Pango), built once per distinct string and
size and then copied (:func:`num_text`), so a 10 × 10 grid of numbers costs little.
"""
from __future__ import annotations

import math
import re
from typing import Sequence

import numpy as np
from manim import (DOWN, ManimColor, interpolate_color, LEFT, ORIGIN, RIGHT, UP, ArcBetweenPoints, Brace, Group, ImageMobject,
                   MarkupText, Rectangle, RoundedRectangle, Square, SurroundingRectangle, Text, Transform,
                   VGroup, VMobject)
from manim.constants import RESAMPLING_ALGORITHMS

from .theme import THEME, fmt, pct, value_color, value_rgb, weight_rgb

__all__ = ["WeightMatrix", "VectorColumn", "TokenBoxes", "AttentionGrid", "AttentionArcs",
           "ProbabilityBars", "heatmap_image", "num_text", "visible_token", "shape_str",
           "IMAGE_CELLS", "label_text", "number_str", "flat_text", "flatten_text"]

#: Grids with more cells than this are drawn as one image rather than one mobject per cell.
IMAGE_CELLS = 400

_TEXT_CACHE: dict[tuple, VMobject] = {}


def flatten_text(t: VMobject, text: str | None = None) -> VMobject:
    """One VMobject holding all glyph outlines of ``t`` (a Text/MarkupText): same look, one
    path instead of a tree of glyphs — copying, hashing and drawing get much cheaper.
    Multi-colour text keeps only the first colour (use it for one-colour labels)."""
    parts = [m for m in t.family_members_with_points()]
    flat = VMobject(stroke_width=0)
    if parts:
        flat.set_points(np.vstack([m.points for m in parts]))
        flat.set_fill(parts[0].get_fill_color(), opacity=parts[0].get_fill_opacity())
    flat.text = getattr(t, "text", text) if text is None else text
    return flat


_NUM = re.compile(r"[MLCZ]|-?\d*\.?\d+(?:e-?\d+)?")
_SYMBOL = re.compile(r'<symbol[^>]*id="([^"]+)"[^>]*>\s*<path[^>]*d="([^"]*)"', re.S)
_USE = re.compile(r'<use[^>]*xlink:href="#([^"]+)"[^>]*x="([-\d.e]+)"[^>]*y="([-\d.e]+)"')


def _path_to_cubics(d: str) -> np.ndarray:
    """Cairo's SVG path data (absolute M/L/C/Z only) → manim cubic Bézier points [n*4, 3]."""
    tok = _NUM.findall(d)
    out: list[list[float]] = []
    i, cur, start = 0, (0.0, 0.0), (0.0, 0.0)

    def line(a, b):
        out.extend([[a[0], a[1]], [a[0] + (b[0] - a[0]) / 3, a[1] + (b[1] - a[1]) / 3],
                    [a[0] + 2 * (b[0] - a[0]) / 3, a[1] + 2 * (b[1] - a[1]) / 3], [b[0], b[1]]])

    while i < len(tok):
        c = tok[i]
        if c == "M":
            cur = start = (float(tok[i + 1]), float(tok[i + 2]))
            i += 3
        elif c == "L":
            nxt = (float(tok[i + 1]), float(tok[i + 2]))
            line(cur, nxt)
            cur = nxt
            i += 3
        elif c == "C":
            v = [float(x) for x in tok[i + 1:i + 7]]
            out.extend([[cur[0], cur[1]], v[0:2], v[2:4], v[4:6]])
            cur = (v[4], v[5])
            i += 7
        elif c == "Z":
            if cur != start:
                line(cur, start)
            cur = start
            i += 1
        else:  # a bare number continues the previous command (not produced by cairo)
            i += 1
    if not out:
        return np.zeros((0, 3))
    a = np.asarray(out, dtype=np.float64)
    return np.hstack([a, np.zeros((len(a), 1))])


_SCALE: dict[str, float] = {}


def _pango_flat(markup: str, size: float, font: str) -> VMobject | None:
    """Lay ``markup`` out with Pango (manim's own text2svg, files cached in manim's text
    dir) and read the glyph outlines straight into one VMobject — no SVGMobject tree."""
    import hashlib

    import manimpango
    from manim import config
    from manim.mobject.text.text_mobject import START_X, START_Y, TEXT2SVG_ADJUSTMENT_FACTOR

    d = config.get_dir("text_dir")
    d.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(f"flat2|{font}|{size}|{markup}".encode()).hexdigest()[:16]
    f = d / f"flat_{key}.svg"
    if not f.exists():
        manimpango.MarkupUtils.text2svg(
            markup, font, "NORMAL", "NORMAL", size / TEXT2SVG_ADJUSTMENT_FACTOR, None, False,
            str(f), START_X, START_Y, 600, 400, pango_width=-1,
            alignment=manimpango.Alignment.CENTER)
    svg = f.read_text()
    glyphs = {gid: _path_to_cubics(dd) for gid, dd in _SYMBOL.findall(svg)}
    pts = [glyphs[g][:, :] + np.array([float(x), float(y), 0.0])
           for g, x, y in _USE.findall(svg) if g in glyphs and len(glyphs[g])]
    if not pts:
        return None
    allp = np.vstack(pts)
    allp[:, 1] *= -1                                     # SVG y points down
    flat = VMobject(stroke_width=0)
    flat.set_points(allp)
    # same size as manim's Text at this font size (measured once per font)
    if font not in _SCALE:
        ref = Text("0", font=font, font_size=48)
        own = _pango_flat_raw_height("0", 48, font)
        _SCALE[font] = ref.height / own
    flat.scale(_SCALE[font], about_point=np.zeros(3))
    flat.move_to(ORIGIN)
    return flat


def _pango_flat_raw_height(s: str, size: float, font: str) -> float:
    saved = _SCALE.get(font)
    _SCALE[font] = 1.0
    try:
        m = _pango_flat(s, size, font)
    finally:
        if saved is None:
            _SCALE.pop(font, None)
        else:
            _SCALE[font] = saved
    return m.height


def flat_text(s: str, size: float | None = None, color=None, font: str | None = None,
              markup: bool = False) -> VMobject:
    """Text in the theme font as one flat VMobject (see :func:`flatten_text`), cached per
    (string, size, font) and copied. ``.text`` is the string. ``markup=True`` takes Pango
    markup (``W<sub>Q</sub>``). Pango lays the text out exactly as for manim's Text; the
    outlines are read directly (≈10× faster than building a Text).

    >>> t = flat_text("−0.42", 20)
    >>> t.text, len(t.submobjects)
    ('−0.42', 0)
    """
    key = (s, round(float(size or THEME.small_size), 3), font or THEME.font, markup)
    tpl = _TEXT_CACHE.get(key)
    if tpl is None:
        mk = s if markup else s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        try:
            tpl = _pango_flat(mk, key[1], key[2])
        except Exception:  # pragma: no cover - fall back to manim's own Text
            tpl = None
        if tpl is None:
            cls = MarkupText if markup else Text
            tpl = flatten_text(cls(s, font=key[2], font_size=key[1], color=THEME.text), s)
        tpl.set_fill(THEME.text, opacity=1)
        _TEXT_CACHE[key] = tpl
    t = tpl.copy()
    t.text = s
    if color is not None:
        t.set_fill(color, opacity=1)
    return t


_ATLAS: dict[str, tuple[dict[str, np.ndarray], dict[str, float]]] = {}
_ATLAS_CHARS = "0123456789.,−+-e%∞<>×⋮⋯⋱ "
_ATLAS_REF = 48.0


def _atlas(font: str) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Glyph outlines and advances of the characters numbers are made of, measured once per
    font from Pango's own layout (each character set between two zeros)."""
    if font in _ATLAS:
        return _ATLAS[font]
    zeros = Text("000", font=font, font_size=_ATLAS_REF).submobjects
    adv0 = zeros[1].get_left()[0] - zeros[0].get_left()[0]
    glyphs: dict[str, np.ndarray] = {}
    adv: dict[str, float] = {"0": adv0}
    for c in _ATLAS_CHARS:
        gs = Text(f"0{c}0", font=font, font_size=_ATLAS_REF).submobjects
        x0, base = gs[0].get_left()[0], gs[0].get_bottom()[1]
        if c == " " and len(gs) == 2:
            adv[c] = gs[1].get_left()[0] - x0 - adv0
            glyphs[c] = np.zeros((0, 3))
            continue
        if len(gs) != 3:
            continue
        glyphs[c] = gs[1].points - np.array([x0 + adv0, base, 0.0])
        adv[c] = gs[2].get_left()[0] - x0 - adv0
    _ATLAS[font] = (glyphs, adv)
    return _ATLAS[font]


def num_text(s: str, size: float | None = None, color=None, font: str | None = None) -> VMobject:
    """A number or short label for screen as one flat path. Strings made only of digits and
    number signs are composed from a glyph atlas (no Pango call per number: ~100× faster);
    anything else goes through :func:`flat_text`. ``.text`` is the string.

    >>> bool(num_text("−0.42", 20).height > 0)
    True
    """
    font = font or THEME.font
    size = float(size or THEME.small_size)
    if s and all(c in _ATLAS_CHARS for c in s):
        glyphs, adv = _atlas(font)
        if all(c in glyphs for c in s):
            pts, pen = [], 0.0
            for c in s:
                if len(glyphs[c]):
                    pts.append(glyphs[c] + np.array([pen, 0.0, 0.0]))
                pen += adv[c]
            if pts:
                t = VMobject(stroke_width=0)
                t.set_points(np.vstack(pts) * (size / _ATLAS_REF))
                t.set_fill(color if color is not None else THEME.text, opacity=1)
                t.move_to(ORIGIN)
                t.text = s
                return t
    return flat_text(s, size, color, font)


def label_text(s: str, size: float, color=None) -> VMobject:
    """A label in the theme font; ``'W_Q'`` gets a real subscript (Pango markup)."""
    if "_" in s and "<" not in s:
        a, b = s.split("_", 1)
        return flat_text(f"{a}<sub>{b}</sub>", size, color or THEME.text, markup=True)
    return flat_text(s, size, color or THEME.text)


def number_str(x: float, digits: int | None = None) -> str:
    """How an entry is printed: :func:`scenes.theme.fmt` without a plus sign, and no minus
    sign on a value that rounds to zero (``−0.00`` would be noise).

    >>> number_str(-0.003), number_str(-0.25), number_str(float("-inf"))
    ('0.00', '−0.25', '−∞')
    """
    out = fmt(x, digits, sign=False)
    if out.startswith("−") and "0" in out and not any(c in "123456789∞" for c in out):
        out = out[1:]
    return out


def shape_str(*dims: int) -> str:
    """A real shape as printed on screen: ``shape_str(576, 49152) == '576 × 49,152'``."""
    return " × ".join(f"{int(d):,}" for d in dims)


def visible_token(s: str) -> tuple[str, str]:
    """Split a token into (marker, text) so leading whitespace is visible on screen:
    ``' fluffy'`` → ``('␣', 'fluffy')``; newlines become ``↵`` and tabs ``⇥``.

    >>> visible_token(' fluffy'), visible_token('ant'), visible_token('\\n')
    (('␣', 'fluffy'), ('', 'ant'), ('', '↵'))
    """
    s = s.replace("\n", "↵").replace("\t", "⇥").replace("\r", "")
    n = len(s) - len(s.lstrip(" "))
    body = s[n:]
    if not body:  # a token that is only spaces
        return ("", "␣" * max(n, 1))
    return ("␣" * n, body.replace(" ", "␣"))


def _brackets(target: VMobject, buff: float = 0.1, color=None, width: float = 2.0) -> VGroup:
    """Square matrix brackets around ``target`` (plain lines: no LaTeX)."""
    color = color or THEME.dim
    h = target.height + 2 * buff * 0.6
    tick = min(0.12, 0.25 * target.width + 0.04)
    l, r = target.get_left()[0] - buff, target.get_right()[0] + buff
    c = target.get_center()[1]
    top, bot = c + h / 2, c - h / 2
    left = VMobject(stroke_color=color, stroke_width=width).set_points_as_corners(
        [[l + tick, top, 0], [l, top, 0], [l, bot, 0], [l + tick, bot, 0]])
    right = VMobject(stroke_color=color, stroke_width=width).set_points_as_corners(
        [[r - tick, top, 0], [r, top, 0], [r, bot, 0], [r - tick, bot, 0]])
    return VGroup(left, right)


def _scale_of(values: np.ndarray) -> float:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(np.abs(v).max()) if v.size and np.abs(v).max() > 0 else 1.0


# ====================================================================== matrices and vectors
class WeightMatrix(VGroup):
    """The shown block of a real weight matrix, each entry coloured by sign and magnitude
    (blue +, red −, brighter = larger), an ellipsis row/column where the matrix goes on,
    and a brace with the real full shape.

    >>> import numpy as np
    >>> m = WeightMatrix(np.array([[0.1, -0.5], [0.3, 0.0]]), (576, 64),
    ...                  truncated_rows=True, truncated_cols=True, label="W_Q")
    >>> m.shape_text.text.replace(" ", "")
    '576×64'
    >>> m.entry(0, 1).value
    -0.5

    Accessors: :meth:`entry`, :meth:`row`, :meth:`col` (VGroups of the entries) and
    :meth:`highlight_row` / :meth:`highlight_col` (a rectangle to Create).
    """

    def __init__(self, values: np.ndarray, full_shape: tuple[int, int], *,
                 row_labels: Sequence[str] | None = None, col_labels: Sequence[str] | None = None,
                 truncated_rows: bool | None = None, truncated_cols: bool | None = None,
                 label: str | None = None, font_size: float | None = None,
                 digits: int | None = None, scale: float | None = None,
                 h_buff: float | None = None, v_buff: float | None = None,
                 show_shape: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.values = np.asarray(values, dtype=np.float64)
        if self.values.ndim != 2:
            raise ValueError("WeightMatrix needs a 2-D block")
        nr, nc = self.values.shape
        self.full_shape = tuple(int(d) for d in full_shape)
        self.truncated_rows = nr < self.full_shape[0] if truncated_rows is None else truncated_rows
        self.truncated_cols = nc < self.full_shape[1] if truncated_cols is None else truncated_cols
        fs = font_size or THEME.small_size
        self.font_size = fs
        sc = scale if scale is not None else _scale_of(self.values)
        cells = [[num_text(number_str(x, digits), fs, value_color(x, sc)) for x in row]
                 for row in self.values]
        for r, row in enumerate(cells):
            for c, t in enumerate(row):
                t.value, t.index = float(self.values[r, c]), (r, c)
        cw = max((t.width for row in cells for t in row), default=0.3)
        ch = num_text("0", fs).height
        hb = h_buff if h_buff is not None else 0.35 * fs / 20
        vb = v_buff if v_buff is not None else 0.22 * fs / 20
        step_x, step_y = cw + hb, ch + vb
        ncols = nc + (1 if self.truncated_cols else 0)
        nrows = nr + (1 if self.truncated_rows else 0)
        self._step = (step_x, step_y)
        for r, row in enumerate(cells):
            for c, t in enumerate(row):
                # right-aligned numbers in each column
                t.move_to([c * step_x + cw / 2 - t.width / 2, -r * step_y, 0])
        self.rows = VGroup(*[VGroup(*row) for row in cells])
        self.entries = VGroup(*[t for row in cells for t in row])
        dots = VGroup()
        if self.truncated_cols:
            for r in range(nr):
                dots.add(num_text("⋯", fs, THEME.dim).move_to([nc * step_x, -r * step_y, 0]))
        if self.truncated_rows:
            for c in range(nc):
                dots.add(num_text("⋮", fs, THEME.dim).move_to([c * step_x, -nr * step_y, 0]))
            if self.truncated_cols:
                dots.add(num_text("⋱", fs, THEME.dim).move_to([nc * step_x, -nr * step_y, 0]))
        self.ellipses = dots
        body = VGroup(self.entries, dots)
        self.body = body
        self.brackets = _brackets(body, buff=0.12 * fs / 20 + 0.06)
        self.add(body, self.brackets)
        self.row_labels = VGroup()
        if row_labels is not None:
            for r, s in enumerate(row_labels[:nr]):
                self.row_labels.add(num_text(s, fs * 0.85, THEME.dim).next_to(
                    self.brackets[0], LEFT, buff=0.15).set_y(-r * step_y))
            self.add(self.row_labels)
        self.col_labels = VGroup()
        if col_labels is not None:
            for c, s in enumerate(col_labels[:nc]):
                self.col_labels.add(num_text(s, fs * 0.85, THEME.dim).next_to(
                    self.brackets, UP, buff=0.12).set_x(c * step_x))
            self.add(self.col_labels)
        self.brace = None
        self.shape_text = None
        if show_shape:
            self.brace = Brace(self.brackets, DOWN, buff=0.08, color=THEME.dim)
            self.shape_text = num_text(shape_str(*self.full_shape), fs, THEME.dim)
            self.shape_text.text = shape_str(*self.full_shape)
            self.shape_text.next_to(self.brace, DOWN, buff=0.08)
            self.add(self.brace, self.shape_text)
        self.label = None
        if label:
            self.label = label_text(label, fs * 1.3)
            self.label.next_to(self.brackets, UP, buff=0.15 + (0.35 * fs / 20 if col_labels else 0))
            self.add(self.label)
        self.move_to(ORIGIN)

    def entry(self, r: int, c: int) -> Text:
        """The Text of shown entry (r, c); it carries ``.value`` (the real number)."""
        return self.rows[r][c]

    def row(self, r: int) -> VGroup:
        return self.rows[r]

    def col(self, c: int) -> VGroup:
        return VGroup(*[row[c] for row in self.rows])

    def highlight_row(self, r: int, color=None) -> SurroundingRectangle:
        return SurroundingRectangle(self.row(r), color=color or THEME.highlight, buff=0.06)

    def highlight_col(self, c: int, color=None) -> SurroundingRectangle:
        return SurroundingRectangle(self.col(c), color=color or THEME.highlight, buff=0.06)


class VectorColumn(VGroup):
    """A real column vector (an embedding, a query …): its first entries coloured by sign
    and magnitude, ⋮ when the vector goes on, optional label and length brace.

    >>> import numpy as np
    >>> v = VectorColumn(np.array([0.5, -1.25, 0.0]), 576, label="E(fluffy)")
    >>> v.values.tolist(), v.truncated
    ([0.5, -1.25, 0.0], True)
    """

    def __init__(self, values: np.ndarray, full_len: int, *, label: str | None = None,
                 font_size: float | None = None, digits: int | None = None,
                 scale: float | None = None, color=None, show_len: bool = False,
                 label_dir=UP, v_buff: float | None = None, **kwargs):
        super().__init__(**kwargs)
        self.values = np.asarray(values, dtype=np.float64).reshape(-1)
        self.full_len = int(full_len)
        self.truncated = len(self.values) < self.full_len
        fs = font_size or THEME.small_size
        sc = scale if scale is not None else _scale_of(self.values)
        if digits is None:  # small vectors get more decimals instead of a column of 0.00
            m = _scale_of(self.values)
            digits = THEME.digits + min(2, max(0, -math.floor(math.log10(m)) - 1)) if m > 0 else None
        ch = num_text("0", fs).height
        step = ch + (v_buff if v_buff is not None else 0.22 * fs / 20)
        ents = []
        for i, x in enumerate(self.values):
            t = num_text(number_str(x, digits), fs, value_color(x, sc))
            t.value = float(x)
            ents.append(t)
        w = max((t.width for t in ents), default=0.3)
        for i, t in enumerate(ents):
            t.move_to([w / 2 - t.width / 2, -i * step, 0])
        self.entries = VGroup(*ents)
        body = VGroup(self.entries)
        if self.truncated:
            self.dots = num_text("⋮", fs, THEME.dim).move_to([0, -len(ents) * step, 0])
            body.add(self.dots)
        self.body = body
        self.brackets = _brackets(body, buff=0.1 * fs / 20 + 0.05,
                                  color=color or THEME.dim)
        self.add(body, self.brackets)
        self.label = None
        if label:
            self.label = label_text(label, fs * 1.1, color or THEME.text)
            self.label.next_to(self.brackets, label_dir, buff=0.12)
            self.add(self.label)
        self.len_text = None
        if show_len:
            self.len_text = num_text(f"{self.full_len:,}", fs * 0.8, THEME.dim)
            self.len_text.next_to(self.brackets, DOWN if label_dir is not DOWN else UP, buff=0.08)
            self.add(self.len_text)
        self.move_to(ORIGIN)

    def entry(self, i: int) -> Text:
        return self.entries[i]


# ====================================================================== tokens
class TokenBoxes(VGroup):
    """The prompt as the tokenizer cut it: one box per piece, leading spaces shown as a dim
    ``␣`` so sub-words are unambiguous (``' ver' 'd' 'ant'``). ``.boxes[i]`` is box+text of
    token i, ``.labels[i]`` the text, ``.rects[i]`` the rectangle; with ``show_positions``
    a small position number sits under each box. Wraps to rows of at most ``max_width``.

    >>> tb = TokenBoxes(["a", " fluffy", " creature"])
    >>> len(tb.boxes), tb.tokens[1]
    (3, ' fluffy')
    """

    def __init__(self, tokens: Sequence[str], *, font_size: float | None = None,
                 color=None, fill_opacity: float = 0.12, buff: float = 0.08,
                 max_width: float | None = 13.0, show_positions: bool = False,
                 position_offset: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.tokens = list(tokens)
        fs = font_size or THEME.text_size
        color = color or THEME.text
        pad_x, pad_y = 0.09 * fs / 30 + 0.03, 0.12 * fs / 30
        ref_h = num_text("Agy", fs).height
        box_h = ref_h + 2 * pad_y
        self.boxes, self.labels, self.rects, self.positions = VGroup(), VGroup(), VGroup(), VGroup()
        for i, tok in enumerate(self.tokens):
            marker, body = visible_token(tok)
            txt = num_text(body, fs, color)
            if marker:
                m = num_text(marker, fs * 0.8, THEME.dim, font=THEME.mono)
                m.next_to(txt, LEFT, buff=0.02).align_to(txt, DOWN)
                txt = VGroup(m, txt)
            w = max(txt.width + 2 * pad_x, box_h * 0.7)
            rect = RoundedRectangle(width=w, height=box_h, corner_radius=min(0.08, box_h / 4),
                                    stroke_color=THEME.dim, stroke_width=1.5,
                                    fill_color=color, fill_opacity=fill_opacity)
            txt.move_to(rect)
            box = VGroup(rect, txt)
            self.rects.add(rect)
            self.labels.add(txt)
            self.boxes.add(box)
        # lay out in rows
        rows: list[list[VGroup]] = [[]]
        x = 0.0
        for b in self.boxes:
            if max_width and rows[-1] and x + b.width > max_width:
                rows.append([])
                x = 0.0
            rows[-1].append(b)
            x += b.width + buff
        gap = box_h * (1.0 if show_positions else 0.45)
        for r, row in enumerate(rows):
            VGroup(*row).arrange(RIGHT, buff=buff).set_y(-r * (box_h + gap))
            VGroup(*row).align_to(rows[0][0] if r else VGroup(*row), LEFT)
        self.n_rows = len(rows)
        self.add(self.boxes)
        if show_positions:
            for i, b in enumerate(self.boxes):
                p = num_text(str(i + position_offset), fs * 0.5, THEME.dim)
                p.next_to(b, DOWN, buff=0.06)
                self.positions.add(p)
            self.add(self.positions)
        self.move_to(ORIGIN)

    def highlight(self, i: int, color=None, opacity: float = 0.35) -> "TokenBoxes":
        """Fill box i with ``color`` (in place; use ``.animate`` on the rect to animate)."""
        self.rects[i].set_fill(color or THEME.highlight, opacity=opacity)
        self.rects[i].set_stroke(color or THEME.highlight)
        return self


# ====================================================================== images
def heatmap_image(values: np.ndarray, *, mode: str = "signed", scale: float | None = None,
                  color=None, height: float | None = None, width: float | None = None,
                  ) -> ImageMobject:
    """A 2-D array as a crisp image (one pixel per cell, nearest-neighbour resampling).

    ``mode="signed"``: blue/red by sign, brighter = larger (−∞ in the masked colour);
    ``mode="weight"``: values in [0, 1] as the brightness of ``color`` (attention patterns).

    >>> import numpy as np
    >>> img = heatmap_image(np.eye(3), mode="weight", height=1.0)
    >>> round(float(img.height), 3)
    1.0
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[None, :]
    rgb = value_rgb(v, scale) if mode == "signed" else weight_rgb(v, color)
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=-1)
    img = ImageMobject(rgba)
    img.set_resampling_algorithm(RESAMPLING_ALGORITHMS["nearest"])
    img.values = v
    if height is not None and width is not None:
        img.stretch_to_fit_height(height)
        img.stretch_to_fit_width(width)
    elif height is not None:
        img.height = height
    elif width is not None:
        img.width = width
    return img


# ====================================================================== attention
class AttentionGrid(Group):
    """A real attention matrix: one row per query position (the token attending), one column
    per key position (the token attended to).

    ``mode="scores"``: signed colours and numbers; masked cells (−∞) in the masked colour
    with "−∞". ``mode="pattern"``: each cell a square whose *area* and brightness are the
    softmax weight, numbers as percentages-free decimals. Grids with more than
    :data:`IMAGE_CELLS` cells (or ``as_image=True``) are one nearest-neighbour image.

    >>> import numpy as np
    >>> g = AttentionGrid(np.array([[1.0, 0.0], [0.3, 0.7]]), ["a", " b"], ["a", " b"])
    >>> g.as_image, g.values.shape
    (False, (2, 2))
    """

    def __init__(self, matrix: np.ndarray, query_labels: Sequence[str],
                 key_labels: Sequence[str], *, mode: str = "pattern",
                 cell_size: float | None = None, max_side: float = 5.0,
                 show_numbers: bool | None = None, as_image: bool | None = None,
                 font_size: float | None = None, digits: int | None = None,
                 color=None, scale: float | None = None, show_labels: bool = True,
                 show_positions: bool = False, position_offset: int = 0,
                 label_size: float | None = None, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("pattern", "scores"):
            raise ValueError("mode is 'pattern' or 'scores'")
        self.values = np.asarray(matrix, dtype=np.float64)
        nq, nk = self.values.shape
        self.mode = mode
        self.n_q, self.n_k = nq, nk
        self.as_image = (nq * nk > IMAGE_CELLS) if as_image is None else as_image
        cs = cell_size or min(0.6, max_side / max(nq, nk))
        self.cell_size = cs
        color = color or THEME.highlight
        fs = font_size or min(THEME.small_size, 26 * cs)
        if show_numbers is None:
            show_numbers = not self.as_image and cs >= 0.45
        self.show_numbers = show_numbers
        sc = scale if scale is not None else _scale_of(self.values)
        self.cells, self.numbers = VGroup(), VGroup()
        self.image = None
        origin = np.array([cs / 2, -cs / 2, 0])

        def center(q, k):
            return origin + np.array([k * cs, -q * cs, 0])

        self._center = center
        if self.as_image:
            self.image = heatmap_image(self.values, mode="signed" if mode == "scores" else "weight",
                                       scale=sc, color=color, height=nq * cs, width=nk * cs)
            self.image.move_to([nk * cs / 2, -nq * cs / 2, 0])
            self.add(self.image)
        else:
            for q in range(nq):
                for k in range(nk):
                    x = self.values[q, k]
                    bg = Square(cs, stroke_width=1, stroke_color=THEME.background,
                                fill_color=THEME.neutral, fill_opacity=1).move_to(center(q, k))
                    if mode == "scores":
                        bg.set_fill(value_color(x, sc) if np.isfinite(x) else THEME.masked, 1)
                        cell = bg
                    elif show_numbers:  # brightness by weight, the number on top
                        w = float(np.clip(x, 0, 1)) if np.isfinite(x) else 0.0
                        bg.set_fill(interpolate_color(ManimColor(THEME.neutral), ManimColor(color),
                                                      0.9 * math.sqrt(w)), 1)
                        cell = bg
                    else:  # area and brightness by weight
                        w = float(np.clip(x, 0, 1)) if np.isfinite(x) else 0.0
                        inner = Square(max(cs * math.sqrt(w) * 0.92, 1e-3), stroke_width=0,
                                       fill_color=color, fill_opacity=0.35 + 0.65 * math.sqrt(w))
                        inner.move_to(center(q, k))
                        cell = VGroup(bg, inner)
                    cell.value = float(x)
                    self.cells.add(cell)
                    if show_numbers:
                        if not np.isfinite(x):
                            s, tcol = "−∞", THEME.dim
                        elif mode == "pattern" and x == 0.0:
                            s, tcol = "0", THEME.dim          # a −∞ score after softmax
                        else:
                            d = digits if digits is not None else (2 if mode == "pattern" else 1)
                            s = number_str(x, d)
                            dark = mode == "pattern" and 0.9 * math.sqrt(max(x, 0.0)) > 0.5
                            tcol = THEME.background if dark else THEME.text
                        t = num_text(s, fs, tcol)
                        if t.width > cs * 0.92:
                            t.scale_to_fit_width(cs * 0.92)
                        t.move_to(center(q, k))
                        t.value = float(x)
                        self.numbers.add(t)
            self.add(self.cells, self.numbers)
        self.frame = Rectangle(width=nk * cs, height=nq * cs, stroke_color=THEME.dim,
                               stroke_width=1).move_to([nk * cs / 2, -nq * cs / 2, 0])
        self.add(self.frame)
        self.query_labels, self.key_labels = VGroup(), VGroup()
        self.query_positions, self.key_positions = VGroup(), VGroup()
        if show_labels:
            lfs = label_size or min(THEME.small_size, max(8.0, 38 * cs))
            pfs = max(lfs * 0.6, 9.0)
            pbuf = 0.06
            for q, s in enumerate(query_labels):
                if s is None:
                    continue
                y = center(q, 0)[1]
                x_edge = self.frame.get_left()[0] - 0.08
                if show_positions:
                    p = num_text(str(q + position_offset), pfs, THEME.dim)
                    p.move_to([x_edge - p.width / 2, y, 0])
                    self.query_positions.add(p)
                    x_edge -= p.width + pbuf + 0.04
                t = _token_text(s, lfs)
                t.move_to([x_edge - t.width / 2, y, 0])
                t.index = q
                self.query_labels.add(t)
            for k, s in enumerate(key_labels):
                if s is None:
                    continue
                x = center(0, k)[0]
                y_edge = self.frame.get_top()[1] + 0.08
                if show_positions:
                    p = num_text(str(k + position_offset), pfs, THEME.dim)
                    p.move_to([x, y_edge + p.height / 2, 0])
                    self.key_positions.add(p)
                    y_edge += p.height + pbuf + 0.04
                t = _token_text(s, lfs).rotate(math.pi / 2)
                t.move_to([x, y_edge + t.height / 2, 0])
                t.index = k
                self.key_labels.add(t)
            self.add(self.query_labels, self.key_labels, self.query_positions,
                     self.key_positions)

    def cell_center(self, q: int, k: int) -> np.ndarray:
        """Where cell (q, k) is now (follows moves/scales of the grid)."""
        tl = self.frame.get_corner(UP + LEFT)
        cs = self.frame.width / self.n_k
        return tl + np.array([(k + 0.5) * cs, -(q + 0.5) * self.frame.height / self.n_q, 0])

    def cell(self, q: int, k: int):
        return self.cells[q * self.n_k + k]

    def row_rect(self, q: int, color=None) -> Rectangle:
        """A rectangle around row q (one query), to Create or move."""
        cs_w, cs_h = self.frame.width / self.n_k, self.frame.height / self.n_q
        return Rectangle(width=self.frame.width + 0.04, height=cs_h + 0.04,
                         stroke_color=color or THEME.highlight, stroke_width=3).move_to(
            self.cell_center(q, (self.n_k - 1) / 2))

    def col_rect(self, k: int, color=None) -> Rectangle:
        cs_w = self.frame.width / self.n_k
        return Rectangle(width=cs_w + 0.04, height=self.frame.height + 0.04,
                         stroke_color=color or THEME.highlight, stroke_width=3).move_to(
            self.cell_center((self.n_q - 1) / 2, k))


def _token_text(s: str, size: float) -> VMobject:
    marker, body = visible_token(s)
    t = num_text(body, size, THEME.text)
    if marker:
        m = num_text(marker, size * 0.8, THEME.dim, font=THEME.mono)
        m.next_to(t, LEFT, buff=0.02).align_to(t, DOWN)
        return VGroup(m, t)
    return t


class AttentionArcs(VGroup):
    """Arcs from every attended token (key) to the attending one (query ``query_index``),
    stroke width and opacity by the real attention weight; weights below ``min_weight`` are
    not drawn (their arcs would be invisible anyway). ``.arcs[k]`` (None if not drawn),
    ``.values`` = the weights given, ``.percent_labels`` for the largest ``n_labels``
    (under the attended tokens).

    >>> tb = TokenBoxes(["a", " fluffy", " creature"])
    >>> arcs = AttentionArcs(tb, [0.1, 0.6, 0.3], 2)
    >>> [a is not None for a in arcs.arcs]
    [True, True, True]
    """

    def __init__(self, token_boxes: TokenBoxes, weights: Sequence[float], query_index: int, *,
                 color=None, max_width: float = 14.0, min_weight: float = 0.01,
                 n_labels: int = 3, font_size: float | None = None, above: bool = True,
                 **kwargs):
        super().__init__(**kwargs)
        self.values = np.asarray(weights, dtype=np.float64)
        self.query_index = query_index
        color = color or THEME.highlight
        fs = font_size or THEME.small_size * 0.8
        self.arcs: list = [None] * len(self.values)
        self.percent_labels = VGroup()
        q_box = token_boxes.boxes[query_index]
        side = UP if above else DOWN
        end = q_box.get_edge_center(side) + 0.03 * side
        order = np.argsort(-self.values)
        labelled = set(int(k) for k in order[:n_labels] if self.values[k] >= min_weight)
        for k, w in enumerate(self.values):
            if w < min_weight or not np.isfinite(w):
                continue
            sw = max(1.0, max_width * float(w))
            if k == query_index:
                start = q_box.get_corner(side + LEFT) * 0.5 + end * 0.5
                arc = ArcBetweenPoints(start + 0.03 * side, end + 0.12 * RIGHT,
                                       angle=-1.6 * math.pi if above else 1.6 * math.pi)
            else:
                start = token_boxes.boxes[k].get_edge_center(side) + 0.03 * side
                d = abs(end[0] - start[0])
                ang = -math.pi * 0.55 if start[0] < end[0] else math.pi * 0.55
                if not above:
                    ang = -ang
                arc = ArcBetweenPoints(start, end, angle=ang if d > 1e-3 else math.pi)
            arc.set_stroke(color, width=sw, opacity=min(1.0, 0.35 + float(w) * 1.2))
            arc.value = float(w)
            self.arcs[k] = arc
            self.add(arc)
            if k in labelled:
                t = num_text(pct(w), fs, color)
                t.value, t.index = float(w), k
                self.percent_labels.add(t)
        # percentages sit under the attended token (under its position number if shown),
        # a second line down where two would touch
        below = -side
        placed: list = []
        for t in sorted(self.percent_labels, key=lambda m: m.index):
            k = t.index
            anchor = token_boxes.boxes[k]
            if len(token_boxes.positions) > k:
                anchor = VGroup(anchor, token_boxes.positions[k])
            t.next_to(anchor, below, buff=0.08)
            if placed and t.get_left()[0] < placed[-1].get_right()[0] + 0.08 and \
                    abs(t.get_y() - placed[-1].get_y()) < t.height:
                t.shift(below * (t.height + 0.08))
            placed.append(t)
        self.add(self.percent_labels)


# ====================================================================== probabilities
class ProbabilityBars(VGroup):
    """Next-token probabilities: one row per label (visible spaces), a bar whose length is
    the real probability, and the percentage. ``.values`` holds the probabilities.

    For a temperature sweep keep the labels and pass new real probabilities:
    ``self.play(bars.animate_to(new_probs))`` or ``bars.with_probs(new_probs)``.

    >>> b = ProbabilityBars([" Paris", " the"], [0.773, 0.065])
    >>> [t.text for t in b.pct_texts]
    ['77.3%', '6.50%']
    """

    def __init__(self, labels: Sequence[str], probs: Sequence[float], *,
                 max_bar_width: float = 5.0, bar_height: float = 0.32,
                 font_size: float | None = None, color=None, highlight: int | None = None,
                 full_scale: float = 1.0, row_buff: float = 0.12, **kwargs):
        super().__init__(**kwargs)
        self.labels = list(labels)
        self.values = np.asarray(probs, dtype=np.float64)
        self._kw = dict(max_bar_width=max_bar_width, bar_height=bar_height,
                        font_size=font_size, color=color, highlight=highlight,
                        full_scale=full_scale, row_buff=row_buff)
        fs = font_size or THEME.text_size * 0.8
        color = color or THEME.positive
        self.label_texts, self.bars, self.pct_texts = VGroup(), VGroup(), VGroup()
        lab = [_token_text(s, fs) for s in self.labels]
        lw = max((t.width for t in lab), default=0.5)
        for i, (t, p) in enumerate(zip(lab, self.values)):
            y = -i * (bar_height + row_buff)
            t.move_to([-0.2 - t.width / 2, y, 0])
            w = max(float(p) / full_scale * max_bar_width, 1e-3)
            c = THEME.highlight if highlight == i else color
            bar = Rectangle(width=w, height=bar_height, stroke_width=0, fill_color=c,
                            fill_opacity=0.9).move_to([w / 2, y, 0])
            bar.value = float(p)
            pt = num_text(pct(p), fs * 0.85, THEME.text)
            pt.text = pct(p)
            pt.next_to(bar, RIGHT, buff=0.12)
            pt.value = float(p)
            self.label_texts.add(t)
            self.bars.add(bar)
            self.pct_texts.add(pt)
        self._label_w = lw
        self.add(self.label_texts, self.bars, self.pct_texts)

    def with_probs(self, probs: Sequence[float]) -> "ProbabilityBars":
        """A copy with the same labels and layout, showing ``probs`` (aligned with self)."""
        new = ProbabilityBars(self.labels, probs, **self._kw)
        new.shift(self.bars[0].get_left() - new.bars[0].get_left())
        return new

    def animate_to(self, probs: Sequence[float], run_time: float = 0.8) -> Transform:
        """Animation turning these bars into ``probs`` (self then shows the new values)."""
        new = self.with_probs(probs)
        self.values = new.values
        for old_t, new_t in zip(self.pct_texts, new.pct_texts):
            old_t.value, old_t.text = new_t.value, new_t.text
        for old_b, new_b in zip(self.bars, new.bars):
            old_b.value = new_b.value
        return Transform(self, new, run_time=run_time)
