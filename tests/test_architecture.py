"""The house rules that import-linter's contracts (pyproject.toml, run by .ci/run) do
not state: no import cycle between any two modules of flask_qed, counting imports
inside functions, and no module reaching for another module's ``_private`` name."""
from __future__ import annotations

import ast
from pathlib import Path

import grimp

from tests.conftest import ROOT


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if i < len(edges[node]):
                work.append((node, i + 1))
                nxt = edges[node][i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def test_no_module_of_flask_qed_imports_itself_round_a_circle() -> None:
    graph = grimp.build_graph("flask_qed", cache_dir=None)
    # A package's __init__ that hands on its children's names is not a circle with them.
    for package in [m for m in graph.modules if (ROOT / m.replace(".", "/") / "__init__.py").exists()]:
        for child in graph.find_modules_directly_imported_by(package):
            if child.startswith(package + ".") and package in graph.find_modules_directly_imported_by(child):
                graph.remove_import(importer=child, imported=package)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_circle() -> None:
    graph = grimp.ImportGraph()
    for a, b in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")):
        graph.add_import(importer=a, imported=b)
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]


def test_no_module_takes_a_private_name_from_another() -> None:
    taken = []
    for path in sorted((ROOT / "flask_qed").rglob("*.py")):
        if "vendor" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("flask_qed")):
                taken += [f"{path.relative_to(ROOT)}: {a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert taken == []


def test_modules_stay_small() -> None:
    long = [f"{p.relative_to(ROOT)}: {n}" for p in sorted((ROOT / "flask_qed").rglob("*.py"))
            if "vendor" not in p.parts and (n := len(p.read_text(encoding="utf-8").splitlines())) > 450]
    assert long == []
