"""The package's layering: dependencies between its sub-packages point one way (no import cycles), lazy imports
inside functions included."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import mdfloss

SRC = Path(mdfloss.__file__).resolve().parent


def _package_imports() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        pkg = parts[0] if len(parts) > 1 else "(top)"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module] if isinstance(node, ast.ImportFrom) and node.module else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                if name.startswith("mdfloss.") and name.split(".")[1] != pkg:
                    edges[pkg].add(name.split(".")[1])
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path + [node, nxt]
            if nxt not in state and (found := visit(nxt, path + [node])):
                return found
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start, [])):
            return found
    return None


def test_no_import_cycles_between_subpackages():
    assert _cycle(_package_imports()) is None, " -> ".join(_cycle(_package_imports()) or [])


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) is not None
    assert _cycle({"a": {"b"}, "b": {"c"}}) is None


def test_the_lower_layers_import_no_higher_one():
    edges = _package_imports()
    assert edges["common"] <= set()
    assert edges["tasks"] <= {"common"}
    assert edges["loss"] <= {"common"}
    assert "cli" not in set().union(*(v for k, v in edges.items() if k not in ("(top)",)))
