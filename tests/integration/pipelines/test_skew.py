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
    online = feature_store.online_features(store, sample.to_dict("records"))
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
