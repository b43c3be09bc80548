"""Shared names are spelled once, in their home module, and imported everywhere else.

A second spelling drifts: a renamed feature view would leave a literal behind that reads nothing from the online
store (Feast answers None, not an error), and a second copy of the positive reactions would count rewards
differently in the features and in the bandits. This scans the string literals of every source module (tests
are free to spell names, they check the values).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.enums import Reaction
from contracts.names import GENERATOR_MODEL, SCORER_MODEL
from contracts.task_state import USER_TASKS_VIEW
from feature_repo.names import FEATURE_SERVICE, TIP_STATS_VIEW, USER_ACTIVITY_VIEW, USER_CATEGORY_AFFINITY_VIEW

ROOT = Path(__file__).resolve().parents[2]
NOT_SOURCE = {"tests", "scripts", "charts", "manifests"}

HOMES = {
    FEATURE_SERVICE: "feature_repo/names.py",
    USER_ACTIVITY_VIEW: "feature_repo/names.py",
    TIP_STATS_VIEW: "feature_repo/names.py",
    USER_CATEGORY_AFFINITY_VIEW: "feature_repo/names.py",
    USER_TASKS_VIEW: "contracts/task_state.py",
    SCORER_MODEL: "contracts/names.py",
    GENERATOR_MODEL: "contracts/names.py",
}
POSITIVE_SQL_VALUES = tuple(f"'{r.value}'" for r in Reaction if r.is_positive)
POSITIVE_HOME = "experiments/reward_log.py"


def source_files() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if parts[0] in NOT_SOURCE or any(p.startswith(".") for p in parts):
            continue
        yield path


def literals(path: Path) -> Iterator[tuple[int, str]]:
    """Every string constant of a module, f-string pieces included; ``__all__`` lists identifiers, not names."""
    tree = ast.parse(path.read_text(), str(path))
    exports = {
        id(c)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
        for c in ast.walk(node.value)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in exports:
            yield node.lineno, node.value


def spells(value: str, name: str) -> bool:
    """The literal is the name itself, or for a view a ``view:feature`` reference or the view's push source."""
    if name in (SCORER_MODEL, GENERATOR_MODEL):
        return value == name
    return value in (name, f"{name}_push") or value.startswith(f"{name}:")


def test_the_scan_sees_the_source_tree() -> None:
    files = {p.relative_to(ROOT).as_posix() for p in source_files()}
    assert {*HOMES.values(), POSITIVE_HOME, "streams/online.py", "predictors/scorer/features.py"} <= files
    assert not any(f.startswith("tests/") for f in files)


@pytest.mark.parametrize("name", sorted(HOMES))
def test_a_shared_name_is_spelled_only_in_its_home(name: str) -> None:
    found = [
        f"{path.relative_to(ROOT).as_posix()}:{line}"
        for path in source_files()
        for line, value in literals(path)
        if spells(value, name)
    ]
    assert found == [f"{HOMES[name]}:{line}" for line, value in literals(ROOT / HOMES[name]) if spells(value, name)]
    assert len(found) == 1, found


def test_the_positive_reactions_are_listed_in_sql_only_by_the_reward_log() -> None:
    assert POSITIVE_SQL_VALUES  # derived from Reaction.is_positive, so the scan follows the enum
    found = {
        path.relative_to(ROOT).as_posix()
        for path in source_files()
        for _, value in literals(path)
        if any(v in value for v in POSITIVE_SQL_VALUES)
    }
    assert found == set(), "the reward log derives its SQL from Reaction.is_positive; nothing spells it"
