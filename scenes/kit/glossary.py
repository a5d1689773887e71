"""The glossary: one symbol, one meaning, one colour for every model quantity on screen.

Every scene writes model quantities with these symbols (row vectors, products written
``x·W``), and colours a concept with its colour (a :class:`scenes.kit.theme.Theme` field,
so a course's palette still applies). The README prints :func:`markdown_table`;
``tests/test_glossary.py`` fails when a scene draws a subscripted symbol that is not here,
a spelling listed in :data:`FORBIDDEN`, or a glossary symbol in another concept's colour.

Conventions (one way each):

- vectors are rows; a product with a matrix is ``x̂·W`` (``W`` is [in, out]); ``W_U`` is
  [d_model, vocab], so the logits are ``ℓ = x̂·W_U`` (a tied model: ``W_U = W_Eᵀ``);
- ``·`` is a dot / vector–matrix product, ``⊙`` elementwise, ``×`` a number times a number
  (or a shape, ``576 × 49,152``);
- ``x̂`` is every normalised vector: RMSNorm ``x̂ = x ÷ rms(x) ⊙ g``, LayerNorm
  ``x̂ = (x − μ) ÷ σ ⊙ g + b``;
- the attention scale is written ``÷ √d_head``; ``z`` is the attention output (weights ×
  values), ``ℓ`` the logits, ``p`` probabilities, ``T`` the temperature.

>>> symbol("ℓ").meaning
'logits: one score per vocabulary token, ℓ = x̂·W_U'
>>> colour_of("q") == colour_of("W_Q")
True
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from .theme import THEME

__all__ = ["Term", "GLOSSARY", "CONCEPTS", "FORBIDDEN", "symbol", "colour_of",
           "concept_colour", "notation_problems", "markdown_table", "scale_str"]


@dataclass(frozen=True)
class Term:
    """``symbol`` means ``meaning``; drawn in theme colour ``colour`` (a Theme field) when it
    is drawn as a label of its own."""

    symbol: str
    meaning: str
    colour: str = "text"


#: Every symbol a scene may write for a model quantity.
GLOSSARY: tuple[Term, ...] = (
    Term("x", "the residual stream at one position: a row of d_model numbers"),
    Term("x̂", "x normalised (RMSNorm or LayerNorm) — every normalised vector"),
    Term("g", "the norm's learned gain (elementwise, ⊙)"),
    Term("b", "a learned bias (LayerNorm's shift; b_Q … of a projection)"),
    Term("μ", "mean of x's entries (LayerNorm)"),
    Term("σ", "√(var(x) + ε) (LayerNorm)"),
    Term("rms(x)", "√(mean(x²) + ε) (RMSNorm)"),
    Term("ε", "the norm's small constant"),
    Term("W_E", "token embedding [vocab, d_model]: row id is token id's vector"),
    Term("W_pos", "learned position embedding [n_ctx, d_model] (GPT-2)"),
    Term("W_Q", "query projection [d_model, d_head] of one head", "query"),
    Term("W_K", "key projection [d_model, d_head]", "key"),
    Term("W_V", "value projection [d_model, d_head]", "value"),
    Term("W_O", "output projection of the heads [n_head·d_head, d_model]", "attention"),
    Term("b_Q", "query bias (GPT-2)", "query"),
    Term("b_K", "key bias (GPT-2)", "key"),
    Term("b_V", "value bias (GPT-2)", "value"),
    Term("q", "query of a position: q = x̂·W_Q (+ b_Q)", "query"),
    Term("k", "key of a position: k = x̂·W_K (+ b_K)", "key"),
    Term("v", "value of a position: v = x̂·W_V (+ b_V)", "value"),
    Term("K", "the keys of all positions stacked, one row k_j each", "key"),
    Term("V", "the values of all positions stacked, one row v_j each", "value"),
    Term("b_O", "bias of the output projection (GPT-2)", "attention"),
    Term("s", "attention score: s = q·k ÷ √d_head, masked"),
    Term("z", "attention output of a head: Σ weight × v", "attention"),
    Term("W_in", "MLP up projection [d_model, d_mlp]", "mlp"),
    Term("W_gate", "MLP gate projection [d_model, d_mlp] (SwiGLU)", "mlp"),
    Term("W_out", "MLP down projection [d_mlp, d_model]", "mlp"),
    Term("b_in", "MLP up bias (GPT-2)", "mlp"),
    Term("b_gate", "MLP gate bias", "mlp"),
    Term("b_out", "MLP down bias (GPT-2)", "mlp"),
    Term("W_U", "unembedding [d_model, vocab]; tied: W_U = W_Eᵀ"),
    Term("W_Uᵀ", "W_U transposed, one row per token (how a scene may draw it)"),
    Term("ℓ", "logits: one score per vocabulary token, ℓ = x̂·W_U"),
    Term("p", "probabilities: p = softmax(ℓ ÷ T)"),
    Term("T", "temperature", "highlight"),
    Term("d_model", "width of the residual stream"),
    Term("d_head", "width of one head's q, k, v"),
    Term("d_mlp", "number of MLP neurons"),
    Term("n_head", "query heads per layer"),
    Term("n_layer", "blocks in the stack"),
    Term("x_L", "the residual stream after block L (logit lens)"),
)

#: One colour per concept, across scenes (Theme field names).
CONCEPTS: dict[str, str] = {
    "attention block and its writes": "attention",
    "MLP block and its writes": "mlp",
    "query / key / value": "query / key / value",
    "sampled token, text appended": "accent",
    "probability (bars, curves)": "positive",
    "positive / negative value": "positive / negative",
    "focus (what the caption is about)": "highlight",
    "secondary text, rank": "dim",
}

#: Spellings that drift from the glossary → what to write instead.
FORBIDDEN: dict[str, str] = {
    "norm(x)": "x̂",
    "· W_Uᵀ": "x̂·W_U (W_U is [d_model, vocab])",
    "·W_Uᵀ": "x̂·W_U (W_U is [d_model, vocab])",
    "W_U·": "x̂·W_U (row vector times matrix)",
    "logit z": "logit ℓ",
    "z_i": "ℓ_i (z is the attention output)",
    "rms(x) × g": "rms(x) ⊙ g",
    "σ × g": "σ ⊙ g",
    "/√": "÷ √",
    "(gate) · up": "(gate) ⊙ up",
    "(gate) × up": "(gate) ⊙ up",
}

_BY_SYMBOL = {t.symbol: t for t in GLOSSARY}
#: a subscripted name as scenes write it (``W_Q``, ``d_head``, ``x_L``)
_SUBSCRIPTED = re.compile(r"(?<![A-Za-z_])([A-Za-z]_[A-Za-z0-9]+)(?![A-Za-z0-9_(])")
#: names that are not model quantities (file names, knob names shown as text)
_NOT_QUANTITIES = {"mlp_out", "attn_out"}
#: a glossary symbol with a position index: ``q_i``, ``k_j``, ``ℓ_i``, ``p_i``
_INDEXED = re.compile(r"^([A-Za-zℓ])_([ijn0-9]+)$")
#: drifting spellings found by pattern → what to write instead
FORBIDDEN_PATTERNS: dict[str, str] = {
    r"k(?:_j)?\s*×\s*\d": "the scale as ÷ √d_head (scale_str)",
    r"norm\(x": "x̂ (every normalised vector)",
    r"x_ℓ": "x_L (ℓ is the logits)",
}


def scale_str(scale: float, d_head: int) -> str:
    """The attention scale as written everywhere: ``÷ √64`` when it is 1/√d_head (the
    usual), else the model's own factor ``× 0.1``.

    >>> scale_str(0.125, 64), scale_str(0.1, 64)
    ('÷ √64', '× 0.1')
    """
    if abs(scale * (d_head ** 0.5) - 1.0) < 1e-6:
        return f"÷ √{d_head}"
    return f"× {scale:g}"


def symbol(s: str) -> Term:
    return _BY_SYMBOL[s]


def colour_of(s: str) -> str:
    """The theme colour (hex) glossary symbol ``s`` is drawn in."""
    return concept_colour(_BY_SYMBOL[s].colour)


def concept_colour(field: str) -> str:
    return str(getattr(THEME, field))


def notation_problems(texts: Iterable[tuple[str, str | None]]) -> list[str]:
    """Problems in drawn ``(text, colour hex or None)``: a subscripted symbol not in the
    glossary, a :data:`FORBIDDEN` spelling, a glossary symbol drawn alone in a colour other
    than its own (or plain text / dim / highlight). One line each, deduplicated."""
    out: dict[str, None] = {}
    neutral = {concept_colour(f).lower() for f in ("text", "dim", "highlight")}
    for text, colour in texts:
        text = _plain(text)
        for bad, good in FORBIDDEN.items():
            if bad in text:
                out[f"spelling {bad!r} in {text[:50]!r}: write {good}"] = None
        for pat, good in FORBIDDEN_PATTERNS.items():
            if re.search(pat, text):
                out[f"spelling /{pat}/ in {text[:50]!r}: write {good}"] = None
        for name in _SUBSCRIPTED.findall(text):
            m = _INDEXED.match(name)
            if m and m.group(1) in _BY_SYMBOL:
                continue
            if name not in _BY_SYMBOL and name not in _NOT_QUANTITIES:
                out[f"symbol {name!r} not in the glossary (in {text[:50]!r})"] = None
        term = _BY_SYMBOL.get(text.strip())
        if term is not None and colour is not None and len(term.symbol) > 0:
            own = concept_colour(term.colour).lower()
            if colour.lower() not in neutral | {own}:
                out[f"colour of {term.symbol!r}: {colour} is not its own ({own}, {term.colour})"] = None
    return list(out)


def _plain(s: str) -> str:
    """Pango markup as the plain spelling: ``W<sub>Q</sub>`` → ``W_Q``."""
    s = re.sub(r"<sub>(.*?)</sub>", r"_\1", s)
    s = re.sub(r"<[^>]+>", "", s)
    return s.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def markdown_table() -> str:
    """The glossary as a Markdown table (printed in the README)."""
    from .theme import Theme

    default = Theme()

    def hexes(fields: str) -> str:
        return " / ".join(f"{f} `{getattr(default, f)}`" for f in fields.split(" / "))

    rows = ["| symbol | meaning | colour |", "|---|---|---|"]
    for t in GLOSSARY:
        rows.append(f"| {t.symbol} | {t.meaning} | {hexes(t.colour)} |")
    rows += ["", "| concept | colour |", "|---|---|"]
    rows += [f"| {k} | {hexes(v)} |" for k, v in CONCEPTS.items()]
    return "\n".join(rows)
