"""Fresh feature values for the keys batches touched, computed from the consumers' state and pushed online.

:class:`streams.pusher.OnlinePusher` calls these off the ack path, for the union of keys of many batches.

Values come from :mod:`feature_repo.features.views` (the functions the training pipeline uses too), so the online
store and the training tables agree. ``as_of`` is the batch's event time (its latest ``occurred_at``, never
later than now): live traffic gets "now", a replay of old events gets the time of the replay. The pusher never
lets it go back (:meth:`streams.state_store.StateStore.next_push_stamp`): a round from a lagging stream is
computed and stamped just after the latest push, so the online store keeps it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from contracts.enums import TaskCategory
from feature_repo.features.views import (
    category_affinity,
    category_completions,
    task_views,
    tip_stats,
    user_activity,
    user_tip_exposure,
)
from feature_repo.names import (
    PUSHED_VIEWS,
    TIP_STATS_VIEW,
    USER_ACTIVITY_VIEW,
    USER_CATEGORY_AFFINITY_VIEW,
    USER_TASKS_VIEW,
    USER_TIP_EXPOSURE_VIEW,
    push_source_name,
)
from streams.state_store import Affected, StateStore

if TYPE_CHECKING:
    from feast import FeatureStore

PUSH_SOURCES = {view: push_source_name(view) for view in PUSHED_VIEWS}


FeatureRows = dict[str, list[dict[str, Any]]]
"""Per feature view, one dict per entity: its join keys and feature values (None where undefined)."""


def feature_rows(state: StateStore, affected: Affected, as_of: datetime) -> FeatureRows:
    """The fresh values of every affected key, per feature view; views without keys are left out.

    Plain dicts rather than DataFrames: the pusher turns them straight into online-store rows, and a
    DataFrame round trip per round cost more than computing the values.
    """
    out: FeatureRows = {}
    task_users = affected.users | {u for u, _ in affected.user_categories}
    tasks = state.tasks(task_users) if task_users else {}
    shown_users = affected.users | {u for u, _ in affected.user_tips}
    shown = state.shown(shown_users, as_of - timedelta(days=31)) if shown_users else {}
    if affected.users:
        opens = state.opens(affected.users, (as_of - timedelta(days=31)).date())
        out[USER_ACTIVITY_VIEW] = [
            {"user_id": u, **user_activity(tasks.get(u, []), opens.get(u, []), shown.get(u, []), as_of)}
            for u in sorted(affected.users)
        ]
    if affected.task_users:
        out[USER_TASKS_VIEW] = [
            {"user_id": u, **task_views(tasks.get(u, []), as_of)} for u in sorted(affected.task_users)
        ]
    if affected.tips:
        counts = state.tip_counts(affected.tips)
        out[TIP_STATS_VIEW] = [{"tip_id": t, **tip_stats(*counts[t])} for t in sorted(affected.tips) if t in counts]
    if affected.user_categories:
        reward_counts = state.affinity_counts(affected.user_categories)
        completions = {u: category_completions(tasks.get(u, []), as_of) for u, _ in affected.user_categories}
        out[USER_CATEGORY_AFFINITY_VIEW] = [
            {
                "user_id": u,
                "category": c,
                **category_affinity(*reward_counts.get((u, c), (0, 0)), completions[u][TaskCategory(c)]),
            }
            for u, c in sorted(affected.user_categories)
        ]
    if affected.user_tips:
        out[USER_TIP_EXPOSURE_VIEW] = [
            {"user_id": u, "tip_id": t, **user_tip_exposure(shown.get(u, []), t, as_of)}
            for u, t in sorted(affected.user_tips)
        ]
    return {view: rows for view, rows in out.items() if rows}


def feature_frames(rows: FeatureRows, as_of: datetime) -> dict[str, pd.DataFrame]:
    """The same values as DataFrames with ``event_timestamp`` (what ``FeatureStore.push`` takes)."""
    return {view: pd.DataFrame(recs).assign(event_timestamp=pd.Timestamp(as_of)) for view, recs in rows.items()}


def batch_as_of(latest_event: datetime | None) -> datetime:
    """The batch clock: its latest event time, capped at now."""
    now = datetime.now(UTC)
    return now if latest_event is None or latest_event > now else latest_event


_CASTS: dict[str, Any] = {
    "double_val": float,
    "float_val": float,
    "int64_val": int,
    "int32_val": int,
    "string_val": str,
    "bool_val": bool,
}


class OnlineWriter:
    """Writes feature frames to the online store through Feast's online-store interface.

    The same rows ``FeatureStore.push`` would write to the views behind the push sources, without its
    per-call registry lookups and per-value type-checked conversions, which cost more than the write itself;
    the online store is whatever the repo config names (SQLite locally, Redis in production).
    """

    def __init__(self, store: FeatureStore) -> None:
        from feast.infra.online_stores.helpers import get_online_store_from_config
        from feast.value_type import ValueType

        self.store = store
        self.online_store = get_online_store_from_config(store.config.online_store)
        self.views = {name: store.get_feature_view(name) for name in PUSH_SOURCES}
        kinds = {
            ValueType.DOUBLE: "double_val",
            ValueType.FLOAT: "float_val",
            ValueType.INT64: "int64_val",
            ValueType.INT32: "int32_val",
            ValueType.STRING: "string_val",
            ValueType.BOOL: "bool_val",
        }
        self.slots = {
            name: {f.name: kinds[f.dtype.to_value_type()] for f in fv.features} for name, fv in self.views.items()
        }

    def write(self, rows: FeatureRows, event_ts: datetime) -> int:
        """Write every view's rows (join keys and features) stamped ``event_ts``; returns rows written."""
        from feast.protos.feast.types.EntityKey_pb2 import EntityKey
        from feast.protos.feast.types.Value_pb2 import Value

        created = datetime.now(UTC)
        n = 0
        for view, recs in rows.items():
            fv = self.views[view]
            slots = self.slots[view]
            keys = [c.name for c in fv.entity_columns]
            data: list[tuple[EntityKey, dict[str, Value], datetime, datetime | None]] = []
            for rec in recs:
                entity = EntityKey(join_keys=keys, entity_values=[Value(string_val=str(rec[k])) for k in keys])
                values: dict[str, Value] = {}
                for name, slot in slots.items():
                    v = rec.get(name)
                    values[name] = Value() if v is None or v != v else Value(**{slot: _CASTS[slot](v)})
                data.append((entity, values, event_ts, created))
            self.online_store.online_write_batch(self.store.config, fv, data, None)
            n += len(data)
        return n
