"""The layers import one way (DESIGN.md): registry ← auth ← schema; adapters use registry."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {
    "registry": {"registry"},
    "auth": {"auth", "registry"},
    "schema": {"schema", "registry", "auth"},
    "adapters": {"adapters", "registry"},
    "ops": {"ops", "registry", "auth", "schema", "adapters"},
}
# HTTP and GraphQL stay out of the domain, so it runs the same from a CLI, a job or a test
FORBIDDEN_IN_REGISTRY = {"starlette", "strawberry", "uvicorn", "httpx", "graphql"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_it_may(layer: str) -> None:
    ours = set(ALLOWED)
    for path in sorted((ROOT / layer).rglob("*.py")):
        imported = _imports(path)
        wrong = (imported & ours) - ALLOWED[layer]
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"
        if layer == "registry":
            leaked = imported & FORBIDDEN_IN_REGISTRY
            assert not leaked, f"{path.relative_to(ROOT)} imports {sorted(leaked)}"
