"""The batch tables end where the consumers' replay of the same log ends (``feature_repo.ActivityReplay``).

The pipeline folds events in time order to snapshot features at every impression; at the end of the log
its last snapshot must equal what the shared replay computes from all events, with the same functions,
so a materialized value and a streamed value of the same entity agree.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd
import pytest

from contracts.events import parse_event
from feature_repo.features import ActivityReplay, category_affinity, category_completions, tip_stats, user_activity
from pipelines.steps.events import load_events
from pipelines.steps.feature_tables import build_feature_tables

pytestmark = pytest.mark.integration


def _last(frame: pd.DataFrame, keys: list[str]) -> dict[Any, dict[str, Any]]:
    latest = frame.sort_values("event_timestamp").groupby(keys).tail(1)
    return {tuple(r[k] for k in keys): r.to_dict() for _, r in latest.iterrows()}


def _same(ours: dict[str, Any], theirs: dict[str, Any]) -> bool:
    return all((pd.isna(v) and pd.isna(ours[k])) or ours[k] == pytest.approx(v) for k, v in theirs.items())


def test_last_batch_snapshot_equals_the_shared_replay(sim_run: Any) -> None:
    tables = build_feature_tables(load_events(sim_run.events))
    replay = ActivityReplay()
    replay.apply(parse_event(line) for line in sim_run.events.read_text().splitlines() if line)
    end = tables.end

    users = _last(tables.user_activity, ["user_id"])
    assert len(users) >= 250
    for (user_id,), row in users.items():
        assert _same(row, user_activity(*replay.user_records(user_id), end)), user_id

    shown = replay.shown_tips()
    per_tip: Counter[str] = Counter(s.tip_id for _, s in shown)
    pos_tip: Counter[str] = Counter(s.tip_id for _, s in shown if s.positive)
    category = {s.tip_id: s.category for _, s in shown}
    tips = _last(tables.tip_stats, ["tip_id"])
    assert set(k[0] for k in tips) == set(per_tip)
    for (tip_id,), row in tips.items():
        assert _same(row, tip_stats(per_tip[tip_id], pos_tip[tip_id], category[tip_id])), tip_id

    per_pair: Counter[tuple[str, str]] = Counter((u, str(s.category)) for u, s in shown)
    pos_pair: Counter[tuple[str, str]] = Counter((u, str(s.category)) for u, s in shown if s.positive)
    pairs = _last(tables.user_category_affinity, ["user_id", "category"])
    for (user_id, cat), row in pairs.items():
        done = category_completions(replay.user_records(user_id)[0], end)
        expected = category_affinity(per_pair[(user_id, cat)], pos_pair[(user_id, cat)], done.get(cat, 0))
        assert _same(row, expected), (user_id, cat)
