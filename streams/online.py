"""Fresh feature values for the keys batches touched, computed from the consumers' state and pushed online.

:class:`streams.pusher.OnlinePusher` calls these off the ack path, for the union of keys of many batches.

Values come from :mod:`feature_repo.features` (the functions the training pipeline uses too), so the online
store and the training tables agree. ``as_of`` is the batch's event time (its latest ``occurred_at``, never
later than now): live traffic gets "now", a replay of old events gets the time of the replay.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from contracts.enums import TaskCategory
from feature_repo.features import (
    category_affinity,
    category_completions,
    task_views,
    tip_stats,
    user_activity,
)
from streams.state_store import Affected, StateStore

if TYPE_CHECKING:
    from feast import FeatureStore

PUSH_SOURCES = {
    "user_activity": "user_activity_push",
    "tip_stats": "tip_stats_push",
    "user_category_affinity": "user_category_affinity_push",
    "user_tasks": "user_tasks_push",
}


def feature_frames(state: StateStore, affected: Affected, as_of: datetime) -> dict[str, pd.DataFrame]:
    """One DataFrame per feature view (join keys, features, ``event_timestamp``) for the affected keys."""
    frames: dict[str, pd.DataFrame] = {}
    task_users = affected.users | {u for u, _ in affected.user_categories}
    tasks = state.tasks(task_users) if task_users else {}
    if affected.users:
        opens = state.opens(affected.users, (as_of - timedelta(days=31)).date())
        shown = state.shown(affected.users, as_of - timedelta(days=31))
        rows: list[dict[str, Any]] = [
            {"user_id": u, **user_activity(tasks.get(u, []), opens.get(u, []), shown.get(u, []), as_of)}
            for u in sorted(affected.users)
        ]
        frames["user_activity"] = _frame(rows, as_of)
    if affected.task_users:
        frames["user_tasks"] = _frame(
            [{"user_id": u, **task_views(tasks.get(u, []), as_of)} for u in sorted(affected.task_users)],
            as_of,
        )
    if affected.tips:
        counts = state.tip_counts(affected.tips)
        frames["tip_stats"] = _frame(
            [{"tip_id": t, **tip_stats(*counts[t])} for t in sorted(affected.tips) if t in counts], as_of
        )
    if affected.user_categories:
        reward_counts = state.affinity_counts(affected.user_categories)
        completions = {u: category_completions(tasks.get(u, []), as_of) for u, _ in affected.user_categories}
        frames["user_category_affinity"] = _frame(
            [
                {
                    "user_id": u,
                    "category": c,
                    **category_affinity(*reward_counts.get((u, c), (0, 0)), completions[u][TaskCategory(c)]),
                }
                for u, c in sorted(affected.user_categories)
            ],
            as_of,
        )
    return {name: df for name, df in frames.items() if not df.empty}


def _frame(rows: list[dict[str, Any]], as_of: datetime) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["event_timestamp"] = pd.Timestamp(as_of)
    return df


def batch_as_of(latest_event: datetime | None) -> datetime:
    """The batch clock: its latest event time, capped at now."""
    now = datetime.now(UTC)
    return now if latest_event is None or latest_event > now else latest_event


def push_frames(store: FeatureStore, frames: dict[str, pd.DataFrame]) -> int:
    """Write the frames to the online store through the push sources; returns rows pushed."""
    from feast.data_source import PushMode

    n = 0
    for view, df in frames.items():
        store.push(PUSH_SOURCES[view], df, to=PushMode.ONLINE)
        n += len(df)
    return n
