"""Fresh feature values for the keys batches touched, computed from the consumers' state and pushed online.

:class:`OnlinePusher` runs beside the consumers in its own thread: it takes every committed batch not yet
pushed, unions their keys (a user touched by ten batches is pushed once), computes the values, pushes them
with Feast and marks the batches pushed. It is off the ack path, so the online store's write speed bounds
how fresh values are under load, not how fast events are acknowledged.

Values come from :mod:`feature_repo.features` (the functions the training pipeline uses too), so the online
store and the training tables agree. ``as_of`` is the batch's event time (its latest ``occurred_at``, never
later than now): live traffic gets "now", a replay of old events gets the time of the replay.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
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

log = logging.getLogger(__name__)

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


class OnlinePusher:
    """Background thread that pushes the feature values of committed batches, coalesced, to the online store."""

    def __init__(
        self,
        state_db: Path,
        store: FeatureStore,
        *,
        synchronous: str = "FULL",
        observe: Callable[[float, int, int], None] | None = None,
        max_batches_per_push: int = 200,
    ) -> None:
        self._state_db = state_db
        self._synchronous = synchronous
        self.store = store
        self._observe = observe
        self._max = max_batches_per_push
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="online-pusher", daemon=True)
        self.failures = 0

    def start(self) -> None:
        """Start the thread (it first pushes whatever a previous run left unpushed)."""
        self._thread.start()

    def notify(self) -> None:
        """A batch was committed: push soon."""
        self._wake.set()

    def stop(self, timeout: float = 60.0) -> None:
        """Push what is committed, then stop."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        state = StateStore(self._state_db, synchronous=self._synchronous)
        try:
            while True:
                self._wake.wait(0.5)
                self._wake.clear()
                while self.push_pending(state):
                    pass
                if self._stopping.is_set():
                    return
        finally:
            state.close()

    def push_pending(self, state: StateStore) -> bool:
        """Push one coalesced round; True when there may be more to push."""
        pending = state.unpushed(self._max)
        if not pending:
            return False
        merged = Affected()
        for _, affected, _ in pending:
            merged.users |= affected.users
            merged.task_users |= affected.task_users
            merged.tips |= affected.tips
            merged.user_categories |= affected.user_categories
        as_of = batch_as_of(max(a for _, _, a in pending))
        started = time.perf_counter()
        try:
            rows = push_frames(self.store, feature_frames(state, merged, as_of))
        except Exception:
            self.failures += 1
            log.exception("online push of %d batches failed; retrying", len(pending))
            time.sleep(min(5.0, 0.1 * 2**self.failures))
            return not self._stopping.is_set()
        self.failures = 0
        state.mark_pushed([b for b, _, _ in pending])
        if self._observe is not None:
            self._observe(time.perf_counter() - started, rows, len(pending))
        return len(pending) == self._max
