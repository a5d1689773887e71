"""No import circles, counting the imports inside functions too (a lazy import that closes
a circle still ties two modules to each other): in tensors/ and the render driver."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def graph(pkg: str) -> dict[str, set[str]]:
    """module -> the modules of ``pkg`` it imports anywhere in its source."""
    base = ROOT / pkg.replace(".", "/")
    mods = {".".join(p.relative_to(ROOT).with_suffix("").parts): p for p in base.rglob("*.py")}
    mods = {m.removesuffix(".__init__"): p for m, p in mods.items()}
    out: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        here = m if p.name == "__init__.py" else m.rsplit(".", 1)[0]
        for n in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(n, ast.ImportFrom):
                if n.level:
                    parent = here.rsplit(".", n.level - 1)[0] if n.level > 1 else here
                    target = f"{parent}.{n.module}" if n.module else parent
                else:
                    target = n.module or ""
                names = [f"{target}.{a.name}" for a in n.names]
                hits = [x for x in names if x in mods] or ([target] if target in mods else [])
            elif isinstance(n, ast.Import):
                hits = [a.name for a in n.names if a.name in mods]
            else:
                continue
            out[m] |= {h for h in hits if h != m and not m.startswith(h + ".")
                       and not h == m.rsplit(".", 1)[0]}
    return out


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(g.get(m, ())):
            if state.get(n) == 1:
                found.append(path[path.index(n):] + [n] if n in path else [m, n])
            elif n not in state:
                visit(n, path + [n])
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m, [m])
    return found


@pytest.mark.parametrize("pkg", ["tensors", "scenes.render"])
def test_no_import_circles(pkg):
    assert cycles(graph(pkg)) == []
