"""The one text engine of gpt-scenes: every string on screen is built here.

Text is drawn as one flat path per string (cheap to copy, hash and draw):

- :func:`flat_text` — any string (or Pango markup) laid out by Pango, the outlines read
  straight into one VMobject, cached per (string, size, font) and copied;
- :func:`num_text` — numbers and short labels composed from a glyph atlas (no Pango call);
- :func:`markup` — plain text with ``W_Q`` / ``d_head`` written as real subscripts;
- :func:`flatten` — any drawn mobject (a MathTex, a group) merged into one path per style.

And the rules for how a token or number reads on screen: :func:`visible_token`,
:func:`token_label`, :func:`displayable`, :func:`number_str`, :func:`shape_str`.

>>> token_label(" Paris"), token_label("\\n\\n"), token_label("<|im_end|>")
('␣Paris', '↵↵', '<|im_end|>')
>>> markup("W_Q & d_head")
'W<sub>Q</sub> &amp; d<sub>head</sub>'
"""
from __future__ import annotations

import hashlib
import os
import re
from typing import Any

import manimpango
import numpy as np
from manim import DOWN, ORIGIN, MarkupText, Text, VGroup, VMobject, config
from manim.mobject.text.text_mobject import START_X, START_Y, TEXT2SVG_ADJUSTMENT_FACTOR

from .theme import THEME, fmt

__all__ = ["flat_text", "num_text", "label_text", "markup", "flatten", "visible_token",
           "token_label", "displayable", "number_str", "shape_str", "wrap_lines",
           "wrapped_text", "SPACE_MARK", "bytes_str", "byte_pieces", "joined_pieces", "piece_bytes", "logit_str", "font_size_of"]

#: THE mark for a token's leading space, in boxes, tables, captions and bars alike
#: (U+2423 OPEN BOX). Every scene gets it through :func:`visible_token` / :func:`token_label`.
SPACE_MARK = "␣"

_TEXT_CACHE: dict[tuple, VMobject] = {}


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


_CUBICS: dict[str, np.ndarray] = {}


def _cubics(d: str) -> np.ndarray:
    """:func:`_path_to_cubics`, read once per outline (a glyph recurs in many strings)."""
    if d not in _CUBICS:
        _CUBICS[d] = _path_to_cubics(d)
    return _CUBICS[d]


_SCALE: dict[str, float] = {}


def _pango_flat(markup: str, size: float, font: str) -> VMobject | None:
    """Lay ``markup`` out with Pango (manim's own text2svg, files cached in manim's text
    dir) and read the glyph outlines straight into one VMobject — no SVGMobject tree."""
    d = config.get_dir("text_dir")
    d.mkdir(parents=True, exist_ok=True)
    # which of its characters some installed font has: a font installed later (CJK …)
    # must not reuse an outline drawn as Pango's hex box before
    glyphs = "".join("1" if has_glyph(c) else "0" for c in sorted(set(markup)) if ord(c) > 0x2FF)
    key = hashlib.sha256(f"flat3|{font}|{size}|{markup}|{glyphs}".encode()).hexdigest()[:16]
    f = d / f"flat_{key}.svg"
    if not f.exists():
        manimpango.MarkupUtils.text2svg(
            markup, font, "NORMAL", "NORMAL", size / TEXT2SVG_ADJUSTMENT_FACTOR, None, False,
            str(f), START_X, START_Y, 600, 400, pango_width=-1,
            alignment=manimpango.Alignment.CENTER)
    svg = f.read_text()
    glyphs = {gid: _cubics(dd) for gid, dd in _SYMBOL.findall(svg)}
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
    """Text in the theme font as one flat VMobject (see :func:`flatten`), cached per
    (string, size, font) and copied. ``.text`` is the string. ``markup=True`` takes Pango
    markup (``W<sub>Q</sub>``). Pango lays the text out exactly as for manim's Text; the
    outlines are read directly (≈10× faster than building a Text).

    >>> t = flat_text("−0.42", 20)
    >>> t.text, len(t.submobjects)
    ('−0.42', 0)
    """
    key = (s, round(float(size or THEME.small_size), 3), font or THEME.font, markup,
           THEME.mono if SPACE_MARK in s else "")
    tpl = _TEXT_CACHE.get(key)
    if tpl is None:
        mk = s if markup else s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        # the space mark always in the mono face (the text faces draw U+2423 differently,
        # some as a tie ‿): one mark on screen wherever it appears
        mk = mk.replace(SPACE_MARK, f'<span font_family="{THEME.mono}">{SPACE_MARK}</span>')
        try:
            tpl = _pango_flat(mk, key[1], key[2])
        except Exception:  # pragma: no cover - fall back to manim's own Text
            tpl = None
        if tpl is None:
            tpl = flatten(MarkupText(mk, font=key[2], font_size=key[1]))
        _tag_size(tpl, key[1])
        _TEXT_CACHE[key] = tpl
    t = tpl.copy()
    t.text = s
    t.font_size_made, t.extent_made = tpl.font_size_made, tpl.extent_made
    # the colour is set on every copy: a theme changed since the template was cached
    # (another scene's course in the same process) must not carry over
    t.set_fill(color if color is not None else THEME.text, opacity=1)
    return t


_ATLAS: dict[str, tuple[dict[str, np.ndarray], dict[str, float]]] = {}
_ATLAS_CHARS = "0123456789.,−+-e%∞<>×⋮⋯⋱ "
_ATLAS_REF = 48.0


def _atlas(font: str) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Glyph outlines and advances of the characters numbers are made of, measured once per
    font from Pango's own layout (each character set between two zeros)."""
    if font in _ATLAS:
        return _ATLAS[font]
    # measured once per font and kept beside Pango's SVGs (a fresh process reads it back)
    key = hashlib.sha256(f"atlas1|{font}|{_ATLAS_CHARS}|{_ATLAS_REF}|{manimpango.__version__}"
                         .encode()).hexdigest()[:16]
    path = config.get_dir("text_dir") / f"atlas_{key}.npz"
    try:
        with np.load(path) as z:
            chars = [str(c) for c in z["chars"]]
            _ATLAS[font] = ({c: z[f"g{i}"] for i, c in enumerate(chars) if f"g{i}" in z},
                            {c: float(a) for c, a in zip(chars, z["adv"])})
        return _ATLAS[font]
    except (OSError, KeyError, ValueError):
        pass
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
    chars = list(adv)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, chars=np.array(chars), adv=np.array([adv[c] for c in chars]),
                 **{f"g{i}": glyphs[c] for i, c in enumerate(chars) if c in glyphs})
        os.replace(tmp, path)
    except OSError:
        pass
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
                p = np.vstack(pts) * (size / _ATLAS_REF)
                # centred and measured by its anchors, as manim measures a path (move_to,
                # width), in one pass instead of three
                a = np.concatenate([p[0::4], p[3::4]])
                p = p + (ORIGIN - (a.min(0) + a.max(0)) / 2)
                a = np.concatenate([p[0::4], p[3::4]])
                lo, hi = a.min(0), a.max(0)
                t = VMobject(stroke_width=0)
                t.set_points(p)
                t.set_fill(color if color is not None else THEME.text, opacity=1)
                t.text = s
                t.font_size_made = size
                t.extent_made = (float(hi[0] - lo[0]), float(hi[1] - lo[1]))
                return t
    return flat_text(s, size, color, font)


def _tag_size(t: VMobject, size: float) -> None:
    """Remember the size a text was made at and its extent then, so :func:`font_size_of`
    can tell the size it is drawn at after any scaling (the legibility check reads it)."""
    t.font_size_made = float(size)
    t.extent_made = (float(t.width), float(t.height))


def font_size_of(t: VMobject) -> float | None:
    """The font size a text made here is drawn at now (scaling and quarter turns included);
    None for a mobject not made by :func:`flat_text` / :func:`num_text`.

    >>> t = num_text("12", 20); _ = t.scale(0.5); round(font_size_of(t), 6)
    10.0
    """
    made = getattr(t, "font_size_made", None)
    if made is None:
        return None
    w0, h0 = t.extent_made
    if w0 * h0 <= 0:
        return made
    return made * float(np.sqrt(max(t.width * t.height, 0.0) / (w0 * h0)))


def wrap_lines(s: str, size: float, max_width: float, max_lines: int = 3) -> list[str]:
    """``s`` cut at spaces into as few lines as fit ``max_width`` at ``size`` (never
    shrunk), the lines as even as possible. A caption too long for one line takes two.
    ValueError when ``max_lines`` lines are not enough.

    >>> wrap_lines("short", 26, 13.0)
    ['short']
    """
    if flat_text(s, size).width <= max_width:
        return [s]
    words = s.split(" ")
    ws = [flat_text(w, size).width if w else 0.0 for w in words]   # one layout per word
    sp = flat_text("a a", size).width - 2 * flat_text("a", size).width

    def lines_for(target: float) -> list[list[int]]:
        out, cur, x = [], [], 0.0
        for i, w in enumerate(ws):
            add = w + (sp if cur else 0.0)
            if cur and x + add > target:
                out.append(cur)
                cur, x = [i], w
            else:
                cur.append(i)
                x += add
        out.append(cur)
        return out

    total = sum(ws) + sp * (len(ws) - 1)
    for n in range(2, max_lines + 1):
        for frac in np.linspace(1.0 / n, 1.0, 24):
            target = min(total * frac, max_width)
            idx = lines_for(target)
            if len(idx) > n:
                continue
            lines = [" ".join(words[i] for i in line) for line in idx]
            if all(flat_text(l, size).width <= max_width for l in lines):
                return lines
    raise ValueError(f"text too long for {max_lines} lines at size {size}: {s[:60]!r}…")


def logit_str(z: float) -> str:
    """How a logit is printed everywhere: two decimals, a minus sign only (no plus sign).

    >>> logit_str(17.3712), logit_str(-2.5)
    ('17.37', '−2.50')
    """
    return number_str(z, 2)


def label_text(s: str, size: float, color=None) -> VMobject:
    """A label in the theme font; ``'W_Q'`` gets a real subscript (Pango markup)."""
    if "_" in s and "<" not in s:
        a, b = s.split("_", 1)
        return flat_text(f"{a}<sub>{b}</sub>", size, color or THEME.text, markup=True)
    return flat_text(s, size, color or THEME.text)


def number_str(x: float, digits: int | None = None) -> str:
    """How an entry is printed: :func:`scenes.kit.theme.fmt` without a plus sign, and no minus
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
    ``' fluffy'`` → ``('␣', 'fluffy')`` (:data:`SPACE_MARK`); newlines become ``↵`` and
    tabs ``⇥``.

    >>> visible_token(' fluffy'), visible_token('ant'), visible_token('\\n')
    (('␣', 'fluffy'), ('', 'ant'), ('', '↵'))
    """
    s = byte_pieces(s).replace("\n", "↵").replace("\t", "⇥").replace("\r", "")
    n = len(s) - len(s.lstrip(" "))
    body = s[n:]
    if not body:  # a token that is only spaces
        return ("", SPACE_MARK * max(n, 1))
    return (SPACE_MARK * n, body.replace(" ", SPACE_MARK))


#: a byte the tokenizer's piece holds that is not a whole UTF-8 character, as
#: :func:`tensors.capture.readable_tokens` writes it (``backslashreplace``)
_BYTE_ESC = re.compile(r"\\x([0-9a-fA-F]{2})")


def piece_bytes(s: str) -> bytes:
    """The bytes a readable piece stands for: its text as UTF-8, each ``\\xNN`` escape (a
    byte that is only part of a character) as that byte."""
    out, at = bytearray(), 0
    for m in _BYTE_ESC.finditer(s):
        out += s[at:m.start()].encode("utf-8") + bytes([int(m.group(1), 16)])
        at = m.end()
    return bytes(out + s[at:].encode("utf-8"))


def bytes_str(b: bytes) -> str:
    """``b`` decoded as UTF-8; each run of bytes that is not a whole character shown as its
    bytes in hex, ``⟨E5 BA⟩`` — never ``�``.

    >>> bytes_str("度".encode()), bytes_str("度".encode()[:2]), bytes_str(b"a\\xff")
    ('度', '⟨E5 BA⟩', 'a⟨FF⟩')
    """
    out, bad = [], bytearray()
    text = b.decode("utf-8", errors="surrogateescape")
    for c in text:
        if 0xDC80 <= ord(c) <= 0xDCFF:        # an undecodable byte
            bad.append(ord(c) - 0xDC00)
            continue
        if bad:
            out.append("⟨" + " ".join(f"{x:02X}" for x in bad) + "⟩")
            bad.clear()
        out.append(c)
    if bad:
        out.append("⟨" + " ".join(f"{x:02X}" for x in bad) + "⟩")
    return "".join(out)


def byte_pieces(s: str) -> str:
    """A readable piece with its partial-character bytes as ``⟨E6⟩`` (:func:`bytes_str`).

    >>> byte_pieces(" \\\\xe6"), byte_pieces("度")
    (' ⟨E6⟩', '度')
    """
    return bytes_str(piece_bytes(s)) if "\\x" in s else s


def joined_pieces(pieces: "list[str]") -> str:
    """Pieces generated one after another, as the text they make together: the bytes of
    all of them decoded at once (two halves of a character join into it), any byte left
    over shown as ``⟨E5⟩`` — what a generated text reads as on screen.

    >>> joined_pieces([" \\\\xe6", "\\\\xb8", "\\\\xa9", " \\\\xe6"])
    ' 温 ⟨E6⟩'
    """
    return bytes_str(b"".join(piece_bytes(p) for p in pieces))


def token_label(s: str) -> str:
    """A token as one string with its leading space visible (``' Paris'`` → ``'␣Paris'``)."""
    marker, body = visible_token(s)
    return marker + body


_SUB = re.compile(r"(?<![A-Za-z])([A-Za-z])_([A-Za-z0-9ℓ]+)")


def markup(s: str) -> str:
    """Plain text → Pango markup: escaped, and ``W_Q`` / ``d_head`` / ``x_ℓ`` with
    subscripts (a one-letter name only: ``mlp_out`` stays as it is)."""
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SUB.sub(r"\1<sub>\2</sub>", s)


def wrapped_text(s: str, size: float, max_width: float, color=None) -> VMobject:
    """``s`` (subscripts as in :func:`markup`) at ``size``, cut into centred lines no wider
    than ``max_width`` by :func:`wrap_lines` (the size is kept). ``.text`` is ``s``."""
    lines = [flat_text(markup(x), size, color or THEME.text, markup=True)
             for x in wrap_lines(s, size, max_width)]
    out = lines[0] if len(lines) == 1 else VGroup(*lines).arrange(DOWN, buff=0.12)
    out.text = s
    return out


def flatten(mob: Any) -> Any:
    """The same drawing as ``mob`` (a Text, a MathTex, a VGroup of glyphs…) as one VMobject
    per style. Cairo pays a fixed cost per VMobject and frame; merging glyphs into one path
    per colour makes labels several times cheaper (most of all where every frame is redrawn,
    under a turning 3D camera). Set attributes such as ``.value`` on the result."""
    leaves = [m for m in mob.family_members_with_points() if isinstance(m, VMobject)]
    groups: dict[tuple, list] = {}
    for m in leaves:
        key = (m.get_fill_color().to_hex(), round(float(m.get_fill_opacity()), 3),
               m.get_stroke_color().to_hex(), round(float(m.get_stroke_width()), 3),
               round(float(m.get_stroke_opacity()), 3))
        groups.setdefault(key, []).append(m)
    parts = []
    for ms in groups.values():
        v = VMobject()
        v.set_points(np.concatenate([m.points for m in ms]))
        v.match_style(ms[0])
        parts.append(v)
    out = parts[0] if len(parts) == 1 else VGroup(*parts)
    if hasattr(mob, "text"):
        out.text = mob.text
    return out


_DRAWABLE: dict[tuple[str, str], bool] = {}


_HAS_GLYPH: dict[str, bool] = {}


def has_glyph(c: str) -> bool:
    """Whether an installed font has a glyph for ``c`` (fontconfig; Pango falls back to it
    when the theme font lacks it — CJK needs e.g. ``fonts-wqy-microhei``, see
    scripts/setup.sh). Without one Pango draws a tiny boxed hex code."""
    import subprocess

    if c not in _HAS_GLYPH:
        try:
            r = subprocess.run(["fc-list", f":charset={ord(c):x}", "family"],
                               capture_output=True, text=True, timeout=10)
            _HAS_GLYPH[c] = bool(r.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            _HAS_GLYPH[c] = True              # no fontconfig tools: trust Pango
    return _HAS_GLYPH[c]


def displayable(s: str) -> str:
    """``s`` with every character that would draw as nothing or as Pango's tiny hex box
    (no installed font has it, right-to-left scripts that manim's Text drops, zero-width
    characters) replaced by its code point ``U+05E9``, so a real vocabulary entry never
    shows as an empty or unreadable box; partial-character bytes as ``⟨E5 BA⟩``."""
    out = []
    for c in byte_pieces(s):
        if c.isascii() or c in "␣↵⇥⟨⟩":
            out.append(c)
            continue
        ok = _DRAWABLE.get((THEME.font, c))
        if ok is None:
            try:
                ok = has_glyph(c) and Text(c, font=THEME.font, font_size=20).width > 0
            except Exception:
                ok = False
            _DRAWABLE[(THEME.font, c)] = ok
        out.append(c if ok else f"U+{ord(c):04X}")
    return "".join(out)
