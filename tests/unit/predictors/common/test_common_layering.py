"""The predictors' floors hold: scorer and generator never import each other, ``common`` sits below both, and
what the issue moved into one place (server set-up, NATS connect options) is not written again beside it."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]


def imported_modules(folder: Path) -> dict[Path, set[str]]:
    """Every module each Python file under ``folder`` imports (absolute names)."""
    found: dict[Path, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        found[path] = names
    return found


def offenders(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(REPO)} imports {name}"
        for path, names in imported_modules(REPO / folder).items()
        for name in sorted(names)
        if name.startswith(forbidden)
    ]


def test_scorer_and_generator_do_not_import_each_other_and_common_imports_neither() -> None:
    assert offenders("predictors/scorer", ("predictors.generator",)) == []
    assert offenders("predictors/generator", ("predictors.scorer",)) == []
    assert offenders("predictors/common", ("predictors.scorer", "predictors.generator")) == []
    assert offenders("contracts", ("predictors", "streams", "operators", "pipelines", "tipsml")) == []


def test_server_set_up_and_nats_options_are_written_once() -> None:
    def files_with(text: str, *folders: str) -> list[str]:
        return sorted(
            str(path.relative_to(REPO))
            for folder in folders
            for path in (REPO / folder).rglob("*.py")
            if text in path.read_text()
        )

    assert files_with("kserve.ModelServer(", "predictors") == ["predictors/common/server.py"]
    assert files_with("max_reconnect_attempts", "predictors", "streams", "contracts") == [
        "contracts/nats_options.py"
    ]
    assert files_with("load_cert_chain", "predictors", "streams", "contracts") == ["contracts/nats_options.py"]
