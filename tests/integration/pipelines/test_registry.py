"""MLflow registration (real sqlite tracking + registry): model cards, alias ``challenger``, champion gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightgbm as lgb
import pandas as pd
import pytest

from contracts.model_card import CARD_JSON, CARD_MARKDOWN, ModelCard
from contracts.names import CHALLENGER_ALIAS, CHAMPION_ALIAS, SCORER_MODEL
from feature_repo.names import MODEL_FEATURES
from pipelines.steps import stages

pytestmark = pytest.mark.integration


def _lineage() -> dict[str, Any]:
    return {
        "event_log": "sim",
        "feature_repo": "feature_repo",
        "pipeline": "train-tip-scorer",
        "pipeline_run": "test",
        "seed": 7,
        "params": {"seed": 7},
    }


def _train_evaluate_register(staged: Any, tmp: Path, uri: str, train_set: Path, loose: Any) -> Any:
    model, report = tmp / f"{train_set.stem}.model", tmp / f"{train_set.stem}.report.json"
    stages.train_stage(str(train_set), 7, 60, str(model))
    stages.evaluate_stage(
        str(train_set), str(staged.test), str(model), uri, str(staged.sim.truth), 7, loose, str(report)
    )
    window = {
        "start": staged.summary["log_start"],
        "end": staged.summary["log_end"],
        "split_at": staged.split_at,
        "label_window_hours": 24.0,
    }
    return stages.register_stage(
        str(model), str(train_set), str(report), uri, str(tmp / "artifacts"), 0.005, _lineage(), window
    )


def _assert_complete_card(client: Any, version: Any) -> ModelCard:
    run_id = version.run_id
    local = Path(client.download_artifacts(run_id, CARD_JSON))
    card = ModelCard.model_validate(json.loads(local.read_text()))
    assert card.model_version == str(version.version)
    assert card.inputs.model_features == list(MODEL_FEATURES) and card.inputs.feature_service == "tip_scoring"
    assert {f.name for f in card.inputs.profile_features} >= {"completion_rate_30d", "tenure_days"}
    assert {"challenger", "popularity", "logistic_regression"} <= set(card.offline_metrics)
    assert card.oracle["available"] and card.fairness["dimensions"].keys() == {"tenure", "platform", "timezone_band"}
    assert card.data_window.n_train > 0 and card.lineage.mlflow_run_id == run_id
    assert card.rollout_history == []
    markdown = Path(client.download_artifacts(run_id, CARD_MARKDOWN)).read_text()
    assert f"v{card.model_version}" in markdown and "## Fairness" in markdown and "## Rollout history" in markdown
    assert version.tags["model_card"] == f"runs:/{run_id}/{CARD_JSON}"
    return card


def test_registration_cards_alias_and_champion_gate(staged: Any, tmp_path: Path, loose_thresholds: Any) -> None:
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    first = _train_evaluate_register(staged, tmp_path, uri, staged.train, loose_thresholds)
    assert first.version == "1" and first.proposed
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    assert str(client.get_model_version_by_alias(SCORER_MODEL, CHALLENGER_ALIAS).version) == "1"

    # The signature and input example cover MODEL_FEATURES in order; the scorer loads the native booster.
    info = mlflow.models.get_model_info(f"models:/{SCORER_MODEL}/1")
    assert info.signature.inputs.input_names() == list(MODEL_FEATURES)
    booster = mlflow.lightgbm.load_model(f"models:/{SCORER_MODEL}/1")
    assert isinstance(booster, lgb.Booster) and booster.feature_name() == list(MODEL_FEATURES)

    # Version 1 becomes champion; a challenger trained on shuffled labels is registered, not proposed.
    client.set_registered_model_alias(SCORER_MODEL, CHAMPION_ALIAS, "1")
    train = pd.read_parquet(staged.train)
    shuffled = tmp_path / "shuffled.parquet"
    train.assign(label=train["label"].sample(frac=1.0, random_state=0).to_numpy()).to_parquet(shuffled)
    second = _train_evaluate_register(staged, tmp_path, uri, shuffled, loose_thresholds)
    assert second.version == "2" and not second.proposed and second.champion_version == "1"
    assert "vs champion 1" in second.reason
    assert str(client.get_model_version_by_alias(SCORER_MODEL, CHALLENGER_ALIAS).version) == "1"
    assert client.get_model_version(SCORER_MODEL, "2").tags["gate"] == "rejected"

    # Every registered version carries a complete model card.
    versions = client.search_model_versions(f"name='{SCORER_MODEL}'")
    assert sorted(str(v.version) for v in versions) == ["1", "2"]
    cards = {str(v.version): _assert_complete_card(client, v) for v in versions}
    assert cards["1"].gate.proposed and not cards["2"].gate.proposed
    assert cards["2"].gate.champion_version == "1" and "champion" in cards["2"].offline_metrics
