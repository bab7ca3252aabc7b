"""Print subsetml's internal import graph, lazy imports included, and its cycles.

Every ``import`` statement is read with :mod:`ast`, at module level or inside a
function, so an import deferred to call time still counts as a dependency.
Docstring examples are not code and are not read. Exits 1 when a cycle exists.

Usage: ``python .ci/import_graph.py [--edges]``
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "subsetml"


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path, name, modules):
    """The subsetml modules ``path`` imports, each with whether it is lazy."""
    is_pkg = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), str(path))
    found = {}

    def add(target, lazy):
        # "from a.b import c" may name the module a.b.c or an attribute of a.b.
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            found[target] = found.get(target, True) and lazy

    def visit(node, lazy):
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == PACKAGE:
                        add(alias.name, inner)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = name if is_pkg else name.rpartition(".")[0]
                    for _ in range(child.level - 1):
                        base = base.rpartition(".")[0]
                    mod = f"{base}.{child.module}" if child.module else base
                else:
                    mod = child.module or ""
                if mod.split(".")[0] != PACKAGE:
                    continue
                for alias in child.names:
                    add(f"{mod}.{alias.name}", inner)
            visit(child, inner)

    visit(tree, False)
    return found


def graph():
    paths = {module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}
    return {name: imports_of(path, name, paths) for name, path in paths.items()}


def cycles(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            strong(v)
    return out


def main(argv):
    edges = graph()
    if "--edges" in argv:
        for src in sorted(edges):
            for dst, lazy in sorted(edges[src].items()):
                print(f"{src} -> {dst}{'  (lazy)' if lazy else ''}")
    found = cycles(edges)
    for comp in found:
        print(f"cycle of {len(comp)} modules:")
        members = set(comp)
        for src in comp:
            for dst, lazy in sorted(edges[src].items()):
                if dst in members:
                    print(f"  {src} -> {dst}{'  (lazy)' if lazy else ''}")
    if not found:
        print("no import cycle")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
