"""A Trace in Jupyter: :func:`trace_html` is ``Trace._repr_html_`` — a compact summary (the
prompt, the tokens with their ids, the shapes of the arrays, the top next-token predictions),
computed from what the Trace stores: nothing per layer is derived for it."""
from __future__ import annotations

import html
from typing import Any

#: Arrays listed with their shapes (derived ones are lazy: their shape costs nothing).
SHOWN = ("embed", "resid", "q", "k", "v", "pattern", "attn_out", "mlp_act", "mlp_out",
         "final", "logits")


def trace_html(t: Any, top: int = 5) -> str:
    """HTML for ``display(t)``: model, prompt, tokens (piece, id), shapes, top-k next tokens."""
    esc = html.escape
    info = t.info
    ids = [int(i) for i in t.token_ids]
    toks = "".join(f'<td style="text-align:center"><code>{esc(s.replace(" ", "␣"))}</code>'
                   f'<br><small>{i}</small></td>' for s, i in zip(t.tokens, ids))
    shapes = "".join(f"<tr><td><code>{n}</code></td><td>[{', '.join(map(str, getattr(t, n).shape))}]"
                     f"</td></tr>" for n in SHOWN if getattr(t, n, None) is not None)
    preds = "".join(f"<tr><td><code>{esc(s.replace(' ', '␣'))}</code></td><td>{p:.4f}</td></tr>"
                    for s, p in t.top_next(top))
    head = (f"<b>Trace</b> of <code>{esc(info.get('name', '?'))}</code> — {info['n_layer']} layers, "
            f"{info['n_head']} heads, d_model {info['d_model']}, vocabulary {info['vocab_size']:,}")
    return (f'<div class="gpt-scenes-trace">{head}<br>prompt: <code>{esc(t.prompt)}</code> '
            f"({len(ids)} tokens)<table><tr>{toks}</tr></table>"
            f'<table style="display:inline-table;margin-right:2em"><tr><th>array</th><th>shape</th></tr>'
            f"{shapes}</table>"
            f'<table style="display:inline-table"><tr><th>next token</th><th>p</th></tr>{preds}</table></div>')
