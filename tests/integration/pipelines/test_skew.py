"""No train/serve skew: for the same user, tip and time, training features equal what the online store serves."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from feature_repo.features import MODEL_FEATURES
from pipelines.steps import feature_store
from pipelines.steps.events import load_events
from pipelines.steps.feature_tables import build_feature_tables

pytestmark = pytest.mark.integration


def _compare(historical: pd.DataFrame, online: pd.DataFrame) -> None:
    keys = ["user_id", "tip_id", "category"]
    historical = historical.sort_values(keys).reset_index(drop=True)
    online = online.sort_values(keys).reset_index(drop=True)
    assert len(historical) == len(online)
    assert (historical[keys].to_numpy() == online[keys].to_numpy()).all()
    for name in MODEL_FEATURES:
        np.testing.assert_allclose(
            historical[name].to_numpy(float), online[name].to_numpy(float), rtol=1e-12, err_msg=name
        )


def test_after_materialize_online_features_equal_training_features_at_the_log_end(staged: Any) -> None:
    """batch_features_stage materialized up to the end of the log; serving now reads what training would."""
    store = feature_store.open_store(staged.state_root)
    entities = pd.read_parquet(staged.entities)
    sample = entities.drop_duplicates("user_id").head(60)
    at_end = sample.assign(event_timestamp=pd.Timestamp(staged.summary["log_end"]))
    historical = feature_store.historical_features(store, at_end, "feast")
    online = feature_store.online_features(store, at_end.to_dict("records"))
    _compare(historical, online)
    assert historical["tip_impressions_log"].gt(0).all()  # real values, not defaults on both sides
    # The task-mix inputs (user_activity's category counts, read at the tip's category) are real values too.
    assert historical["tasks_30d"].gt(0).any() and historical["category_task_lift"].ne(0).any()


def test_materialize_up_to_an_impression_serves_that_impressions_training_row(staged: Any, tmp_path: Any) -> None:
    """Materialize a fresh store only up to a mid-log impression: serving then equals that training row."""
    events = load_events(staged.sim.events)
    tables = build_feature_tables(events)
    feature_store.write_tables(tables, tmp_path)
    store = feature_store.open_store(tmp_path)
    impressions = tables.impressions.sort_values("event_timestamp").reset_index(drop=True)
    row = impressions.iloc[len(impressions) // 2]
    at = row["event_timestamp"].to_pydatetime()
    feature_store.materialize(store, events["occurred_at"].min().to_pydatetime(), at, list(tables.views()))
    columns = ["request_id", "user_id", "tip_id", "category", "event_timestamp"]
    entity = impressions.iloc[[len(impressions) // 2]][columns]
    training = feature_store.historical_features(store, entity, "duckdb")
    online = feature_store.online_features(store, entity.to_dict("records"))
    _compare(training, online)


def _store_up_to(staged: Any, tmp_path: Any) -> tuple[Any, pd.DataFrame, pd.DataFrame, Any]:
    events = load_events(staged.sim.events)
    tables = build_feature_tables(events)
    feature_store.write_tables(tables, tmp_path)
    store = feature_store.open_store(tmp_path)
    impressions = tables.impressions.sort_values("event_timestamp").reset_index(drop=True)
    return store, events, impressions, tables


def test_with_profile_features_the_scorer_computes_the_inputs_training_sees(staged: Any, tmp_path: Any) -> None:
    """For impressions carrying the recommender's profile snapshot, the scorer's rows equal the training rows.

    The store is materialized up to each impression; the scorer (the in-process path and Feast's own on-demand
    transform) is asked for that user and tip with the snapshot the recommender sent and the impression's time.
    Every model input is compared, the new ones (fatigue, repeat exposure, due tasks) included, and the ones
    only the profile carries (tenure, notifications) are real values, not constants.
    """
    from contracts.profile import ProfileFeatures
    from predictors.scorer.features import FeastFeatureSource

    store, events, impressions, tables = _store_up_to(staged, tmp_path)
    repeats = impressions.duplicated(["user_id", "tip_id"], keep="first")
    picks = sorted({len(impressions) * 2 // 3, len(impressions) - 40, *impressions.index[repeats][-3:].tolist()})
    start = events["occurred_at"].min().to_pydatetime()
    seen_inputs: list[dict[str, float]] = []
    for i in picks:
        row = impressions.iloc[i]
        assert isinstance(row["profile_features"], str)  # the simulator sends a snapshot with every impression
        at = row["event_timestamp"].to_pydatetime()
        feature_store.materialize(store, start, at, list(tables.views()))
        columns = ["request_id", "user_id", "tip_id", "category", "event_timestamp", "profile_features"]
        training = feature_store.historical_features(store, impressions.iloc[[i]][columns], "duckdb")
        profile = ProfileFeatures.model_validate_json(row["profile_features"])
        for transform in ("in_process", "feast"):
            source = FeastFeatureSource(store, MODEL_FEATURES, transform=transform)  # type: ignore[arg-type]
            served = source.rows(row["user_id"], [row["tip_id"]], profile, at=at.timestamp())[0]
            np.testing.assert_allclose(
                served, training[list(MODEL_FEATURES)].to_numpy(float)[0], rtol=1e-12, err_msg=f"{i} {transform}"
            )
        seen_inputs.append(dict(zip(MODEL_FEATURES, served.tolist(), strict=True)))
    assert any(r["tenure"] > 0 for r in seen_inputs) and {r["notifications_on"] for r in seen_inputs} <= {0.0, 1.0}
    assert any(r["tip_seen_30d"] > 0 and r["tip_hours_since"] < 720 for r in seen_inputs)  # a repeat was covered
