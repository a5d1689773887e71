"""One place for the look: background, palette, fonts, number formatting.

Every scene and visual piece reads :data:`THEME`; a course overrides it (colours, fonts,
background) through its config file or with :func:`use_theme` (a render puts it back
afterwards: see :func:`theme_saved`).

>>> fmt(0.123456), fmt(-1.5), fmt(12345.0)
('+0.12', '−1.50', '+1.2e4')
>>> digits_for(0.5), digits_for(0.04), digits_for(0.0004)
(2, 3, 4)
>>> value_color(1.0, scale=1.0).to_hex().upper() == THEME.positive.upper()
True
>>> contrast_ratio(THEME.text, THEME.background) > 15
True
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Iterator

import numpy as np
from manim import ManimColor, interpolate_color


#: Legibility floor: a row of digits is at least this many pixels tall at 1080p (checked by
#: :mod:`scenes.kit.checks` at the end of every beat).
MIN_TEXT_PX = 20.0
#: Height in pixels at 1080p of a row of digits per unit of font size (measured by
#: :func:`scenes.kit.checks.digit_px`, which the legibility test compares with this).
DIGIT_PX_PER_SIZE = 1.29
#: The smallest font size any scene or piece draws: the floor above as a font size
#: (16: digits 20.6 px). Sizes derived from another (row labels …) never go below it.
MIN_SIZE = float(math.ceil(MIN_TEXT_PX / DIGIT_PX_PER_SIZE))
#: Pixel rows of the frame the floor refers to.
REFERENCE_PX = 1080
#: WCAG 2 AA: text contrast against what is behind it, at least 4.5:1 ...
MIN_CONTRAST = 4.5
#: ... or 3:1 for large text (at least this many pixels per row of digits at 1080p: WCAG's
#: "large" is 18 pt ≈ 24 px of em, whose digits are ~2/3 of it; we use the issue's 36 px).
LARGE_TEXT_PX = 36.0
MIN_CONTRAST_LARGE = 3.0
#: Cell shades are kept this much above the floor (anti-aliased glyph edges blend into what
#: is behind them, so a shade exactly at 4.5:1 would read lower).
SHADE_MARGIN = 1.15


@dataclasses.dataclass
class Theme:
    """The look. **One meaning per colour** (every scene keeps to it; the symbols and the
    colour of every model quantity: :mod:`scenes.kit.glossary`):

    - ``positive`` blue / ``negative`` red — the sign and size of a real value; bars of
      probability are ``positive`` blue.
    - ``highlight`` yellow — *focus*: what the caption is talking about right now (the row
      being multiplied, the current temperature, the step, the token being scored). Never
      "most likely" and never "sampled" by itself.
    - ``accent`` green — *sampled*: a token drawn by the seeded sampler, and text it appended.
      Shown only after the draw has landed.
    - ``query`` orange / ``key`` violet / ``value`` pink — the attention roles.
    - ``attention`` blue / ``mlp`` teal — the two kinds of block and what they write (the
      stack, the residual bars, the per-layer chart, generation's block).
    - ``dim`` grey — secondary text: labels, shapes, ellipses, what is left out.
    - ``masked`` — cells set to −∞ by the causal mask.

    Sizes: ``caption_size`` is the one caption size of every scene (a long caption wraps to
    two lines, it is never shrunk); ``small_size`` is the smallest text size used.
    No scene has a title: the caption says what is happening, the tag names the model.
    """

    background: str = "#0E1116"
    text: str = "#ECECEC"
    dim: str = "#8A8F98"          # secondary text, ellipses, braces
    positive: str = "#58C4DD"     # blue: positive values
    negative: str = "#FC6255"     # red: negative values
    neutral: str = "#2A2F38"      # zero / empty cells
    highlight: str = "#FFD166"    # the thing being talked about
    accent: str = "#83C167"       # secondary emphasis (green)
    query: str = "#F4A259"        # queries (orange)
    key: str = "#9B8DE3"          # keys (violet)
    value: str = "#E07BB5"        # values (pink)
    attention: str = "#6B8CFF"    # attention blocks and their writes (blue)
    mlp: str = "#4CC9A0"          # MLP blocks and their writes (teal)
    masked: str = "#3A2A2E"       # masked (−∞) cells
    font: str = "CMU Serif"       # 3Blue1Brown's text face (Debian fonts-cmu)
    mono: str = "DejaVu Sans Mono"
    digits: int = 2               # decimals in matrix/vector entries
    text_size: float = 30.0
    small_size: float = 20.0
    caption_size: float = 28.0

    def color(self, name: str) -> ManimColor:
        return ManimColor(getattr(self, name))


THEME = Theme()


def use_theme(**overrides: object) -> Theme:
    """Change the global theme in place (so every module sees it); returns it."""
    fields = {f.name for f in dataclasses.fields(Theme)}
    for k, v in overrides.items():
        if k not in fields:
            raise KeyError(k)
        setattr(THEME, k, v)
    return THEME


@contextlib.contextmanager
def theme_saved() -> Iterator[Theme]:
    """Put every theme field back as it was when the block ends (a course's theme is for
    one render only)."""
    saved = dataclasses.asdict(THEME)
    try:
        yield THEME
    finally:
        for k, v in saved.items():
            setattr(THEME, k, v)


def digits_for(scale: float) -> int:
    """Decimals for numbers whose largest magnitude is ``scale``: the theme's digits, up to
    two more when all are small (so a column of small weights is not a column of 0.00)."""
    if not scale > 0 or not math.isfinite(scale):
        return THEME.digits
    return THEME.digits + min(2, max(0, -math.floor(math.log10(scale)) - 1))


def fmt(x: float, digits: int | None = None, sign: bool = True) -> str:
    """A real value as shown on screen: fixed decimals, a true minus sign, −∞ for masked.

    Large or tiny magnitudes fall back to short scientific notation so columns stay aligned.
    """
    d = THEME.digits if digits is None else digits
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "nan"
    if math.isinf(x):
        return "−∞" if x < 0 else "+∞"
    if abs(x) >= 10 ** (5 - d) and x != 0:
        s = f"{x:+.1e}".replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")
    else:
        s = f"{x:+.{d}f}"
    if not sign:
        s = s.lstrip("+")
    return s.replace("-", "−")


def pct(p: float) -> str:
    """A probability as a percentage with sensible precision: 77.3%, 0.93%, <0.01%."""
    q = 100.0 * float(p)
    if q >= 10:
        return f"{q:.1f}%"
    if q >= 0.01:
        return f"{q:.2f}%"
    return "<0.01%"


def pct_field(name: str, p: float) -> str:
    """The format template that writes ``p`` as :func:`pct` does, from field ``name`` (for
    a ledger entry's :meth:`~scenes.kit.ledger.Equation.say`).

    >>> [pct_field("shown[3]", p).format(shown=[0, 0, 0, p]) == pct(p) for p in (0.773, 0.065, 1e-5)]
    [True, True, True]
    """
    q = 100.0 * float(p)
    return "<0.01%" if q < 0.01 else "{%s:.%d%%}" % (name, 1 if q >= 10 else 2)


def mass_text(p: float) -> str:
    """A probability mass in %, never rounded to a misleading 100% or 0%.

    >>> mass_text(0.99999), mass_text(0.0), mass_text(1e-7)
    ('>99.99%', '0%', '<0.01%')
    """
    q = 100 * p
    if q >= 99.995 and p < 1:
        return ">99.99%"
    if q >= 10:
        return f"{q:.1f}%"
    if q >= 0.01:
        return f"{q:.2f}%"
    return "<0.01%" if p > 0 else "0%"


def value_color(x: float, scale: float) -> ManimColor:
    """Blue for positive, red for negative, brighter = larger |x| relative to ``scale``: the
    colour of a heat-map cell that carries no digits. Digits are never drawn in it (small
    values are too dim to read); a number shows its size by :func:`shade_color` behind
    :func:`ink_color` digits instead."""
    if not np.isfinite(x):
        return THEME.color("masked")
    t = min(abs(float(x)) / scale, 1.0) if scale > 0 else 0.0
    end = THEME.color("positive") if x >= 0 else THEME.color("negative")
    return interpolate_color(THEME.color("neutral"), end, 0.25 + 0.75 * t)


def value_rgb(values: np.ndarray, scale: float | None = None) -> np.ndarray:
    """Vectorised :func:`value_color` for images: [..., 3] uint8 (−inf → masked colour)."""
    v = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(v)
    if scale is None:
        scale = float(np.abs(v[finite]).max()) if finite.any() else 1.0
    t = np.clip(np.abs(np.where(finite, v, 0.0)) / max(scale, 1e-12), 0, 1)[..., None]
    hexrgb = lambda h: np.array([int(h[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)
    neutral, pos, neg = hexrgb(THEME.neutral), hexrgb(THEME.positive), hexrgb(THEME.negative)
    end = np.where((v >= 0)[..., None], pos, neg)
    rgb = neutral + (end - neutral) * (0.25 + 0.75 * t)
    rgb = np.where(finite[..., None], rgb, hexrgb(THEME.masked))
    return rgb.round().astype(np.uint8)


def weight_rgb(weights: np.ndarray, color: str | None = None) -> np.ndarray:
    """Attention weights in [0, 1] as brightness of one colour: [..., 3] uint8."""
    w = np.clip(np.nan_to_num(np.asarray(weights, dtype=np.float64)), 0, 1)[..., None]
    hexrgb = lambda h: np.array([int(h[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float64)
    lo, hi = hexrgb(THEME.neutral), hexrgb(color or THEME.highlight)
    return (lo + (hi - lo) * np.sqrt(w)).round().astype(np.uint8)


# ====================================================================== contrast (WCAG 2)
def _rgb01(color) -> np.ndarray:
    """``color`` as sRGB floats 0…1: any colour manim reads, or such an array itself."""
    if isinstance(color, np.ndarray) and color.shape == (3,):
        return color.astype(np.float64)
    return np.asarray(ManimColor(color).to_rgb(), dtype=np.float64)


def relative_luminance(color) -> float:
    """WCAG 2 relative luminance of an sRGB colour (0 black … 1 white).

    >>> relative_luminance("#FFFFFF"), relative_luminance("#000000")
    (1.0, 0.0)
    >>> round(relative_luminance("#808080"), 3)
    0.216
    """
    c = _rgb01(color)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(np.dot([0.2126, 0.7152, 0.0722], lin))


def contrast_ratio(a, b) -> float:
    """WCAG 2 contrast ratio of two colours, (L_light + 0.05) / (L_dark + 0.05): 1 … 21.

    >>> contrast_ratio("#FFFFFF", "#000000")
    21.0
    >>> round(contrast_ratio("#777777", "#FFFFFF"), 2)    # the classic AA borderline grey
    4.48
    """
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return round((la + 0.05) / (lb + 0.05), 6)


def min_contrast_for(px: float) -> float:
    """The contrast a text whose digits are ``px`` pixels tall (at 1080p) needs: 4.5:1, or
    3:1 for large text.

    >>> min_contrast_for(20), min_contrast_for(40)
    (4.5, 3.0)
    """
    return MIN_CONTRAST_LARGE if px >= LARGE_TEXT_PX else MIN_CONTRAST


def ink_color(x: float) -> ManimColor:
    """The colour of a number's digits: the text colour tinted a little toward its sign's
    colour (blue +, red −), bright at every magnitude (the size is in the shade behind).

    >>> all(contrast_ratio(ink_color(v), THEME.background) > 7 for v in (-1e-3, 0.0, 2.0))
    True
    """
    if not np.isfinite(x):
        return THEME.color("dim")
    end = THEME.color("positive") if x >= 0 else THEME.color("negative")
    return interpolate_color(THEME.color("text"), end, 0.3)


_SHADE_MAX: dict[tuple, tuple[float, float]] = {}


def shade_max() -> tuple[float, float]:
    """How far (0 … 1) a cell shade may go from the background toward the positive and
    negative colours while every ink drawn on it (the sign's :func:`ink_color`, the text
    colour, the highlight) keeps :data:`MIN_CONTRAST` × :data:`SHADE_MARGIN` against it.
    Computed from the theme (a course may change the colours), cached per palette."""
    key = (THEME.background, THEME.text, THEME.positive, THEME.negative, THEME.highlight)
    if key not in _SHADE_MAX:
        out = []
        for sign, end in ((1.0, THEME.positive), (-1.0, THEME.negative)):
            inks = (ink_color(sign), THEME.color("text"), THEME.color("highlight"))
            best = 0.0
            for k in range(1, 101):
                bg = interpolate_color(THEME.color("background"), ManimColor(end), k / 100)
                if min(contrast_ratio(i, bg) for i in inks) < MIN_CONTRAST * SHADE_MARGIN:
                    break
                best = k / 100
            out.append(best)
        _SHADE_MAX[key] = (out[0], out[1])
    return _SHADE_MAX[key]


def muted_on(fill) -> ManimColor:
    """The dim colour, lightened toward the text colour just enough to read on ``fill``
    (:data:`MIN_CONTRAST` × :data:`SHADE_MARGIN`): for secondary marks such as −∞ on a
    masked cell.

    >>> contrast_ratio(muted_on(THEME.masked), THEME.masked) >= MIN_CONTRAST
    True
    """
    for k in range(101):
        c = interpolate_color(THEME.color("dim"), THEME.color("text"), k / 100)
        if contrast_ratio(c, ManimColor(fill)) >= MIN_CONTRAST * SHADE_MARGIN:
            return c
    return THEME.color("text")


_CELL_STEPS: dict[tuple, list] = {}


def readable_cell(lo, hi, a: float) -> tuple[ManimColor, ManimColor]:
    """A heat-map cell that carries a number: its fill, ``a`` (0 … 1) of the way from colour
    ``lo`` to ``hi``, and the ink for its digits — the text colour on dark fills, the
    background colour on light ones, whichever reads better. Between the two lies a band of
    mid-tones on which neither reaches :data:`MIN_CONTRAST` (× :data:`SHADE_MARGIN`); a fill
    in it moves to the nearest readable tone (the map stays monotonic: a small step instead
    of a ramp there).

    >>> from manim import ManimColor
    >>> fill, ink = readable_cell(THEME.neutral, THEME.highlight, 0.4)
    >>> contrast_ratio(ink, fill) >= MIN_CONTRAST
    True
    """
    key = (ManimColor(lo).to_hex(), ManimColor(hi).to_hex(), THEME.text, THEME.background)
    if key not in _CELL_STEPS:
        steps = []
        for k in range(101):
            f = interpolate_color(ManimColor(lo), ManimColor(hi), k / 100)
            ink = max((THEME.color("text"), THEME.color("background")),
                      key=lambda c: contrast_ratio(c, f))
            if contrast_ratio(ink, f) >= MIN_CONTRAST * SHADE_MARGIN:
                steps.append((k / 100, f, ink))
        _CELL_STEPS[key] = steps
    steps = _CELL_STEPS[key]
    if not steps:                                  # no readable tone between lo and hi
        return ManimColor(lo), max((THEME.color("text"), THEME.color("background")),
                                   key=lambda c: contrast_ratio(c, ManimColor(lo)))
    _, f, ink = min(steps, key=lambda st: abs(st[0] - float(a)))
    return f, ink


def shade_color(x: float, scale: float) -> ManimColor:
    """The shade of a number's cell: from the background (0) toward blue (+) or red (−) in
    proportion to |x| / ``scale``, never so far that its digits drop under 4.5:1.

    >>> top = shade_color(-1.0, 1.0)
    >>> contrast_ratio(ink_color(-1.0), top) >= MIN_CONTRAST * SHADE_MARGIN
    True
    >>> shade_color(0.0, 1.0).to_hex().upper() == THEME.background.upper()
    True
    """
    if not np.isfinite(x):
        return THEME.color("masked")
    t = min(abs(float(x)) / scale, 1.0) if scale > 0 else 0.0
    pos, neg = shade_max()
    end = THEME.color("positive") if x >= 0 else THEME.color("negative")
    return interpolate_color(THEME.color("background"), end, t * (pos if x >= 0 else neg))
