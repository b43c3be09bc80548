"""The champion alias mover against a real MLflow registry (sqlite + file artifacts in tmp_path)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient

from contracts.model_card import CARD_JSON, CARD_MARKDOWN, ModelCard, card_json
from operators.errors import ModelVersionMissingError
from operators.model_registry import HISTORY_TAG, ChampionRegistry
from tests.unit.contracts.test_model_card import _card


@pytest.fixture(scope="module")
def mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    """One registry per module: creating the sqlite schema is the slow part."""
    tmp = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    experiment = MlflowClient(tracking_uri=uri).create_experiment("s", artifact_location=(tmp / "a").as_uri())
    return uri, experiment, tmp


@pytest.fixture
def registry(mlflow_db: tuple[str, str, Path], tmp_path: Path) -> tuple[str, MlflowClient]:
    """A fresh registered model ``tip-scorer`` per test (the old one is deleted)."""
    uri, experiment, _ = mlflow_db
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    if client.search_registered_models("name = 'tip-scorer'"):
        client.delete_registered_model("tip-scorer")
    client.create_registered_model("tip-scorer")
    # version 1 carries the pipeline's real card; version 2 an older free-form one
    for card in (card_json(_card()), json.dumps({"inputs": ["x"]})):
        run = client.create_run(experiment)
        client.log_text(run.info.run_id, card, CARD_JSON)
        client.create_model_version("tip-scorer", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    client.create_model_version("tip-scorer", (tmp_path / "no-run").as_uri())  # version 3 has no run
    client.set_registered_model_alias("tip-scorer", "champion", "1")
    return uri, client


def test_promote_then_roll_back_moves_alias_and_records_history(
    registry: tuple[str, MlflowClient], tmp_path: Path
) -> None:
    uri, client = registry
    champions = ChampionRegistry(uri)
    assert champions.champion("tip-scorer") == "1"

    assert champions.move_champion("tip-scorer", "2", rollout="ns/r1", reason="promoted") == "1"
    assert champions.champion("tip-scorer") == "2"
    assert champions.move_champion("tip-scorer", "2", rollout="ns/r1", reason="promoted") == "2"  # idempotent

    assert champions.move_champion("tip-scorer", "1", rollout="ns/r1", reason="rollback") == "2"
    assert champions.champion("tip-scorer") == "1"

    card = champions.model_card("tip-scorer", "2")
    assert card["inputs"] == ["x"]
    assert [(h["from"], h["to"], h["reason"]) for h in card["rolloutHistory"]] == [
        ("1", "2", "promoted"),
        ("2", "1", "rollback"),
    ]
    tag = json.loads(client.get_model_version("tip-scorer", "1").tags[HISTORY_TAG])
    assert [h["to"] for h in tag] == ["2", "1"]

    real = ModelCard.model_validate(champions.model_card("tip-scorer", "1"))
    assert [(m.from_version, m.to_version, m.reason) for m in real.alias_history] == [
        ("1", "2", "promoted"),
        ("2", "1", "rollback"),
    ]
    run_id = client.get_model_version("tip-scorer", "1").run_id
    markdown = Path(client.download_artifacts(run_id, CARD_MARKDOWN, str(tmp_path))).read_text()
    assert "`champion` 1 -> 2 (ns/r1: promoted)" in markdown


def test_a_version_without_a_run_keeps_history_in_a_tag(registry: tuple[str, MlflowClient]) -> None:
    uri, client = registry
    ChampionRegistry(uri).move_champion("tip-scorer", "3", rollout="ns/r2", reason="promoted")
    tag = json.loads(client.get_model_version("tip-scorer", "3").tags[HISTORY_TAG])
    assert tag[0]["to"] == "3" and tag[0]["rollout"] == "ns/r2"


def test_missing_version_and_missing_alias(registry: tuple[str, MlflowClient]) -> None:
    uri, client = registry
    champions = ChampionRegistry(uri)
    with pytest.raises(ModelVersionMissingError):
        champions.require_version("tip-scorer", "99")
    client.delete_registered_model_alias("tip-scorer", "champion")
    assert champions.champion("tip-scorer") is None
