"""The house rules of ARCHITECTURE.md, checked on the source: floors, no import circle, small modules.

Every ``import`` counts, at module level or inside a function (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("contracts", "streams", "feature_repo", "predictors", "experiments", "operators", "pipelines", "tipsml")
DEPLOYABLES = ("streams", "predictors", "pipelines", "operators")
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _graph() -> set[tuple[str, str]]:
    """Edges ``(importer, imported)`` between our modules."""
    modules = _modules()
    graph: set[tuple[str, str]] = set()
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph.add((name, target))
                    break
    return graph


def test_no_import_circle() -> None:
    # A package's __init__ importing its own submodules is how a package re-exports, not a dependency of
    # the package on its parts; those edges are left out, every other one counts.
    order: dict[str, set[str]] = {}
    for a, b in _graph():
        if not b.startswith(a + "."):
            order.setdefault(a, set()).add(b)
    try:
        TopologicalSorter(order).prepare()
    except CycleError as e:
        pytest.fail(f"import circle: {' -> '.join(e.args[1])}")


@pytest.mark.parametrize("deployable", DEPLOYABLES)
def test_deployables_do_not_import_each_other(deployable: str) -> None:
    others = [d for d in (*DEPLOYABLES, "tipsml") if d != deployable]
    wrong = sorted((a, b) for a, b in _graph() if a.split(".")[0] == deployable and b.split(".")[0] in others)
    assert not wrong, wrong


def test_contracts_import_nothing_of_ours() -> None:
    wrong = sorted((a, b) for a, b in _graph() if a.startswith("contracts") and not b.startswith("contracts"))
    assert not wrong, wrong


def test_no_module_over_the_size_limit() -> None:
    sizes = {str(p.relative_to(REPO)): len(p.read_text().splitlines()) for p in _modules().values()}
    long = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"
