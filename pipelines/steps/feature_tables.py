"""Replay the event log in time order into point-in-time feature tables, with the serving feature functions.

At every impression the user's, the tip's and the (user, category) pair's features are snapshotted from
the events strictly before it, with the functions of :mod:`feature_repo.features` the consumers also call;
the row's ``event_timestamp`` is the impression time, so Feast's point-in-time join hands exactly that
snapshot to the training row, and nothing that happened later. A last snapshot of every entity at the end
of the log is what ``materialize`` loads into the online store for serving.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

import pandas as pd

from contracts.enums import Reaction, TaskCategory, TaskPriority, TaskStatus
from contracts.events import SCHEMA_VERSION, AppOpened, TaskCompleted, TaskSynced
from feature_repo.features.records import OpenCount, ShownTip, TaskRecord, local_hour, utc_day
from feature_repo.features.tasks import apply_task_event
from feature_repo.features.views import (
    category_affinity,
    category_completions,
    tip_stats,
    user_activity,
    user_tip_exposure,
)
from feature_repo.names import (
    BATCH_VIEW_DTYPES,
    TIP_STATS_VIEW,
    USER_ACTIVITY_VIEW,
    USER_CATEGORY_AFFINITY_VIEW,
    USER_TIP_EXPOSURE_VIEW,
)

TIMESTAMP = "event_timestamp"
_TYPE_ORDER = {"tip_shown": 0}
"""Impressions sort first among events of the same instant: their snapshot must not see them."""


@dataclass
class FeatureTables:
    """The four batch-sourced feature views plus the impressions they were snapshotted for."""

    user_activity: pd.DataFrame
    tip_stats: pd.DataFrame
    user_category_affinity: pd.DataFrame
    user_tip_exposure: pd.DataFrame
    impressions: pd.DataFrame
    """request_id, user_id, tip_id, category, event_timestamp, platform, tz_offset_minutes, first_seen_at,
    profile_features (the recommender's snapshot as JSON text, None when the event carried none)."""
    end: datetime

    def views(self) -> dict[str, pd.DataFrame]:
        """Feature view name → table, as Feast's file sources expect them."""
        return {
            USER_ACTIVITY_VIEW: self.user_activity,
            TIP_STATS_VIEW: self.tip_stats,
            USER_CATEGORY_AFFINITY_VIEW: self.user_category_affinity,
            USER_TIP_EXPOSURE_VIEW: self.user_tip_exposure,
        }


@dataclass
class _User:
    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    opens: Counter[tuple[Any, int]] = field(default_factory=Counter)
    shown: dict[tuple[str, str], ShownTip] = field(default_factory=dict)
    first_seen: datetime | None = None
    platform: str | None = None
    tz_offset: int | None = None


@dataclass
class _Replay:
    users: dict[str, _User] = field(default_factory=dict)
    tip_counts: dict[str, list[int]] = field(default_factory=dict)
    tip_category: dict[str, str] = field(default_factory=dict)
    uc_counts: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    positive: dict[tuple[str, str], tuple[str, str, bool]] = field(default_factory=dict)
    """(request_id, tip_id) → (user_id, category, currently positive)."""

    def user(self, user_id: str, at: datetime) -> _User:
        u = self.users.get(user_id)
        if u is None:
            u = self.users[user_id] = _User(first_seen=at)
        return u

    def user_row(self, user_id: str, as_of: datetime) -> dict[str, Any]:
        u = self.users[user_id]
        opens = [OpenCount(day, hour, n) for (day, hour), n in u.opens.items()]
        return {
            "user_id": user_id,
            TIMESTAMP: as_of,
            **user_activity(u.tasks.values(), opens, u.shown.values(), as_of),
        }

    def tip_row(self, tip_id: str, as_of: datetime) -> dict[str, Any]:
        impressions, positives = self.tip_counts.get(tip_id, [0, 0])
        return {
            "tip_id": tip_id,
            TIMESTAMP: as_of,
            **tip_stats(impressions, positives, self.tip_category.get(tip_id)),
        }

    def uc_row(
        self, user_id: str, category: str, as_of: datetime, completions: Counter[TaskCategory]
    ) -> dict[str, Any]:
        impressions, positives = self.uc_counts.get((user_id, category), [0, 0])
        done = completions.get(TaskCategory(category), 0)
        return {
            "user_id": user_id,
            "category": category,
            TIMESTAMP: as_of,
            **category_affinity(impressions, positives, done),
        }

    def ut_row(self, user_id: str, tip_id: str, as_of: datetime) -> dict[str, Any]:
        return {
            "user_id": user_id,
            "tip_id": tip_id,
            TIMESTAMP: as_of,
            **user_tip_exposure(self.users[user_id].shown.values(), tip_id, as_of),
        }


class _Opened(NamedTuple):
    """The two fields :func:`feature_repo.features.records.local_hour` reads, without building a whole event."""

    occurred_at: datetime
    tz_offset_minutes: int


def _present(value: Any) -> bool:
    """Whether a cell of the wide event frame holds a value: an absent optional field reads as None, NaN or NA.

    ``pd.NA`` has no truth value, so ``value or default`` raises on it: every optional field goes through here.
    """
    return value is not None and not (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _int_or(value: Any, default: int) -> int:
    return int(value) if _present(value) else default


def _task_event(r: Any, at: datetime) -> TaskSynced | TaskCompleted:
    """Build the contract object without re-validating: the log only holds events that passed validation."""
    if r.type == "task_completed":
        return TaskCompleted.model_construct(
            event_id=r.event_id,
            occurred_at=at,
            user_id=r.user_id,
            task_id=r.task_id,
            category=TaskCategory(r.category),
            on_time=bool(r.on_time) if _present(r.on_time) else None,
            schema_version=SCHEMA_VERSION,
        )
    return TaskSynced.model_construct(
        event_id=r.event_id,
        occurred_at=at,
        user_id=r.user_id,
        task_id=r.task_id,
        status=TaskStatus(r.status),
        priority=TaskPriority(r.priority) if _present(r.priority) else TaskPriority.MEDIUM,
        category=TaskCategory(r.category),
        title=None,
        due_at=r.due_at.to_pydatetime() if _present(r.due_at) else None,
        estimated_minutes=None,
        schema_version=SCHEMA_VERSION,
    )


def build_feature_tables(events: pd.DataFrame) -> FeatureTables:
    """Fold the time-ordered events into point-in-time feature rows (see the module docstring)."""
    ordered = events.assign(_o=events["type"].map(_TYPE_ORDER).fillna(1)).sort_values(
        ["occurred_at", "_o", "event_id"], kind="stable"
    )
    rp = _Replay()
    ua_rows: list[dict[str, Any]] = []
    ts_rows: list[dict[str, Any]] = []
    uc_rows: list[dict[str, Any]] = []
    ut_rows: list[dict[str, Any]] = []
    imp_rows: list[dict[str, Any]] = []
    has_profile = "profile_features" in ordered.columns
    rows: Iterable[Any] = ordered.itertuples(index=False)
    for r in rows:
        at: datetime = r.occurred_at.to_pydatetime()
        u = rp.user(r.user_id, at)
        kind = r.type
        if kind in ("task_synced", "task_completed"):
            new = apply_task_event(u.tasks.get(r.task_id), _task_event(r, at))
            if new is not None:
                u.tasks[r.task_id] = new
        elif kind == "app_opened":
            offset = _int_or(r.tz_offset_minutes, 0)  # the contract's default when the producer left it out
            ev = cast(AppOpened, _Opened(at, offset))
            u.opens[(utc_day(at), local_hour(ev))] += 1
            u.platform, u.tz_offset = r.platform, offset
        elif kind == "tip_shown":
            cat = str(r.category)
            ua_rows.append(rp.user_row(r.user_id, at))
            ts_rows.append(rp.tip_row(r.tip_id, at))
            uc_rows.append(rp.uc_row(r.user_id, cat, at, category_completions(u.tasks.values(), at)))
            ut_rows.append(rp.ut_row(r.user_id, r.tip_id, at))
            imp_rows.append(
                {
                    "request_id": r.request_id,
                    "user_id": r.user_id,
                    "tip_id": r.tip_id,
                    "category": cat,
                    TIMESTAMP: at,
                    "platform": r.platform if isinstance(r.platform, str) else u.platform,
                    "tz_offset_minutes": u.tz_offset,
                    "first_seen_at": u.first_seen,
                    "profile_features": r.profile_features if has_profile and _present(r.profile_features) else None,
                }
            )
            key = (r.request_id, r.tip_id)
            u.shown[key] = ShownTip(r.tip_id, TaskCategory(cat), at, False)
            rp.positive[key] = (r.user_id, cat, False)
            rp.tip_category[r.tip_id] = cat
            rp.tip_counts.setdefault(r.tip_id, [0, 0])[0] += 1
            rp.uc_counts.setdefault((r.user_id, cat), [0, 0])[0] += 1
        elif kind == "tip_reaction":
            key = (r.request_id, r.tip_id)
            if key not in rp.positive:
                continue
            owner, cat, was = rp.positive[key]
            now = Reaction(r.reaction).is_positive
            if now != was:
                delta = 1 if now else -1
                rp.positive[key] = (owner, cat, now)
                rp.tip_counts[r.tip_id][1] += delta
                rp.uc_counts[(owner, cat)][1] += delta
                shown_user = rp.users[owner]
                shown_user.shown[key] = replace(shown_user.shown[key], positive=now)
    end = ordered["occurred_at"].iloc[-1].to_pydatetime() + timedelta(seconds=1)
    pairs: dict[str, list[str]] = {}
    for uid, cat in rp.uc_counts:
        pairs.setdefault(uid, []).append(cat)
    for user_id, u in rp.users.items():
        ua_rows.append(rp.user_row(user_id, end))
        completions = category_completions(u.tasks.values(), end)
        uc_rows.extend(rp.uc_row(user_id, cat, end, completions) for cat in pairs.get(user_id, []))
    ts_rows.extend(rp.tip_row(tip_id, end) for tip_id in rp.tip_counts)
    for user_id, u in rp.users.items():
        ut_rows.extend(rp.ut_row(user_id, tip_id, end) for tip_id in sorted({s.tip_id for s in u.shown.values()}))
    return FeatureTables(
        user_activity=_frame(ua_rows, ["user_id"]),
        tip_stats=_frame(ts_rows, ["tip_id"]),
        user_category_affinity=_frame(uc_rows, ["user_id", "category"]),
        user_tip_exposure=_frame(ut_rows, ["user_id", "tip_id"]),
        impressions=pd.DataFrame(imp_rows),
        end=end,
    )


INT_FEATURES = frozenset(n for dtypes in BATCH_VIEW_DTYPES.values() for n, t in dtypes.items() if t == "int")
"""Int64 in the feature views: stored as nullable integers so Feast reads the dtype it declares."""
FLOAT_FEATURES = frozenset(n for dtypes in BATCH_VIEW_DTYPES.values() for n, t in dtypes.items() if t == "float")


def _frame(rows: list[dict[str, Any]], keys: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame[TIMESTAMP] = pd.to_datetime(frame[TIMESTAMP], utc=True)
    for column in frame.columns:
        if column in INT_FEATURES:
            frame[column] = frame[column].astype("Int64")
        elif column in FLOAT_FEATURES:
            frame[column] = frame[column].astype("float64")
    return frame.drop_duplicates([*keys, TIMESTAMP], keep="last").reset_index(drop=True)
