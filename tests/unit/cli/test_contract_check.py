"""`tipsml contract check` against fixture registries: one matching, one drifted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tipsml.cli.main import app
from tipsml.contract.ts_registry import RegistryParseError, compare, parse_registry

FIXTURES = Path(__file__).parents[2] / "fixtures" / "registry"
runner = CliRunner()


def test_matching_registry_passes() -> None:
    result = runner.invoke(app, ["contract", "check", "--registry", str(FIXTURES / "registry.ts")])
    assert result.exit_code == 0, result.output
    assert "match" in result.output


def test_drifted_registry_fails_listing_every_difference() -> None:
    result = runner.invoke(app, ["contract", "check", "--registry", str(FIXTURES / "registry_drifted.ts")])
    assert result.exit_code == 1
    for needle in ("tenure_days", "dtype differs", "streak_days", "missing in recommender",
                   "push_opt_in", "missing in tipsml"):
        assert needle in result.output
    assert "notifications_enabled" in result.output


def test_parser_ignores_comments_strings_and_function_bodies() -> None:
    src = """
    // a: { dtype: "int" }  <- in a comment, not an entry
    export const REG = {
      a: { dtype: "number", compute: (c) => { if (c.x) { return `}`; } return 1; } },
      /* b: { dtype: "bool" } */
      "c-d": { description: "has { braces }", dtype: 'boolean' },
    };
    """
    assert parse_registry(src) == {"a": "number", "c-d": "boolean"}
    assert compare({"a": "number"}, {"a": "float"}) == []


def test_unreadable_registry_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryParseError):
        parse_registry("export const x = 1;")
    bad = tmp_path / "registry.ts"
    bad.write_text("export const nothing = {};\n")
    result = runner.invoke(app, ["contract", "check", "--registry", str(bad)])
    assert result.exit_code == 2
    assert "dtype" in result.output


def test_schema_export_is_json() -> None:
    result = runner.invoke(app, ["contract", "schema"])
    assert result.exit_code == 0
    assert "completion_rate_30d" in json.loads(result.output)["properties"]
