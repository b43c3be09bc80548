from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from contracts.crds import RolloutHistoryEntry, RolloutPhase
from contracts.model_card import (
    CardFeature,
    CardInputs,
    DataWindow,
    GateDecision,
    Lineage,
    ModelCard,
    append_rollout,
    card_json,
    render_markdown,
)

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _card() -> ModelCard:
    feature = CardFeature(name="affinity", dtype="float", source="feature_service:tip_scoring")
    return ModelCard(
        model_name="tip-scorer",
        model_version="4",
        created_at=NOW,
        intended_use="Rank tips.",
        inputs=CardInputs(
            feature_service="tip_scoring",
            model_features=["affinity"],
            features=[feature],
            profile_features=[CardFeature(name="tenure_days", dtype="int", source="profile_features")],
        ),
        offline_metrics={"challenger": {"auc": 0.7, "log_loss": 0.5, "ece": 0.01, "ndcg_at_5": float("nan"), "n": 10}},
        oracle={"available": False},
        fairness={"passed": True, "dimensions": {}},
        data_window=DataWindow(
            start=NOW, end=NOW, split_at=NOW, label_window_hours=24, n_train=5, n_test=5, positive_rate_train=0.3
        ),
        lineage=Lineage(
            event_log="log",
            feature_repo="repo",
            mlflow_run_id="r",
            pipeline="p",
            pipeline_run="x",
            code_version="0.1.0",
            seed=7,
            params={},
        ),
        gate=GateDecision(proposed=True, reason="no comparable champion"),
    )


def test_rollout_history_is_appended_and_rendered() -> None:
    card = _card()
    entry = RolloutHistoryEntry(
        time=NOW, from_phase=RolloutPhase.SHADOW, to_phase=RolloutPhase.CANARY, traffic_percent=10
    )
    updated = append_rollout(card, entry)
    assert card.rollout_history == [] and updated.rollout_history == [entry]
    text = render_markdown(updated)
    assert "Shadow -> Canary at 10%" in text and "| challenger | 0.7000 | 0.5000 | 0.0100 | n/a | 10 |" in text
    assert card_json(ModelCard.model_validate(json.loads(card_json(updated)))) == card_json(updated)


def test_a_card_without_a_required_section_is_rejected() -> None:
    data = json.loads(card_json(_card()))
    del data["fairness"]
    with pytest.raises(ValidationError, match="fairness"):
        ModelCard.model_validate(data)
