"""The code's shape: few long functions (a body over 40 lines, docstring left out)."""

from __future__ import annotations

import ast
from pathlib import Path

import mdfloss

SRC = Path(mdfloss.__file__).resolve().parent
MAX_LONG = 5  # functions allowed a body over 40 lines


def long_functions(limit: int = 40) -> list[tuple[int, str]]:
    out = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                if isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
                    body = body[1:] or body  # the docstring does not count
                lines = node.end_lineno - body[0].lineno + 1
                if lines > limit:
                    out.append((lines, f"{path.relative_to(SRC)}:{node.name}"))
    return sorted(out, reverse=True)


def test_at_most_five_long_functions():
    found = long_functions()
    assert len(found) <= MAX_LONG, found
