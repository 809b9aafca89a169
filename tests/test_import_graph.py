"""The package's import graph has no cycles, counting imports inside functions too.

Data flows one way (DESIGN.md: parameters → Network → simulate / dmft / learning → Dataset →
storage → plots; nothing imports cli or sweep). A cycle hidden behind a function-level import
still couples the two modules and breaks as soon as either import moves to the top, so the
graph is built from every ``import`` statement in the source, at any depth.

Edges: ``from a.b import c`` is an edge to the module ``a.b.c`` when that is a module of ours,
else to ``a.b``. Not counted: the implicit import of a module's parent package (Python runs a
package's ``__init__`` before any of its modules; that is not a dependency of the module on its
siblings), and the facade's ``importlib.import_module`` look-ups in ``neurodyn/__init__.py``
(PEP 562 re-exports of the public names).
"""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src"


def _module_names() -> dict[str, Path]:
    names = {}
    for path in (SOURCE / "neurodyn").rglob("*.py"):
        parts = list(path.relative_to(SOURCE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _edges(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if _is_package(path) else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            candidates = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules
                          else source for alias in node.names]
        else:
            continue
        targets.update(c for c in candidates if c in modules and c != name)
    return targets


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_edges_resolve_relative_imports_to_modules():
    modules = _module_names()
    graph = {name: _edges(name, path, modules) for name, path in modules.items()}
    # Known edges of the source: if these are not found, the graph is empty and proves nothing.
    assert "neurodyn.network" in graph["neurodyn.simulate"]
    assert "neurodyn.gaussian" in graph["neurodyn.dmft.stationary"]
    assert len(modules) > 30


def test_the_import_graph_has_no_cycles():
    modules = _module_names()
    graph = {name: _edges(name, path, modules) for name, path in modules.items()}
    assert _cycles(graph) == []


def test_no_module_imports_the_command_line_or_the_sweep_driver():
    modules = _module_names()
    for name, path in modules.items():
        if name in ("neurodyn.cli", "neurodyn.__main__"):
            continue
        edges = _edges(name, path, modules)
        assert "neurodyn.cli" not in edges, name
        # the chaos job is a driver on the sweep engine (its points run as a sweep); every
        # other module stays below the driver
        if name not in ("neurodyn.sweep", "neurodyn.chaos"):
            assert "neurodyn.sweep" not in edges, name
