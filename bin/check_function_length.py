"""Fails when a function outside tests and migrations is longer than MAX_LINES: a reader should be able to hold a
function in mind (ruff's C901 and PLR0915 in pyproject.toml bound its branches and statements; this bounds its
length, docstring included)."""

import ast
import sys
from pathlib import Path

MAX_LINES = 60
ROOTS = ("apps", "vendbot", "bench", "bin")


def long_functions(root: Path) -> list[str]:
    found = []
    for path in sorted(p for name in ROOTS for p in (root / name).rglob("*.py") if "migrations" not in p.parts):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_LINES:
                    found.append(
                        f"{path.relative_to(root)}:{node.lineno}: {node.name} is {length} lines (at most {MAX_LINES})"
                    )
    return found


if __name__ == "__main__":
    problems = long_functions(Path(__file__).resolve().parent.parent)
    print("\n".join(problems) or f"no function over {MAX_LINES} lines")
    sys.exit(1 if problems else 0)
