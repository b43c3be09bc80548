"""The batch replay: the training pipeline's side of the state the consumers keep."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date

from contracts.events import AppOpened, EventBase, TaskCompleted, TaskSynced, TipReaction, TipShown
from feature_repo.features.records import OpenCount, ShownTip, TaskRecord, local_hour, utc_day
from feature_repo.features.tasks import apply_task_event


class ActivityReplay:
    """Folds events, in any order, into the same records the consumers keep; for the batch job.

    Feed events with :meth:`apply`, then ask for a user's records and call the feature functions at any
    ``as_of``. Duplicate ``event_id`` are applied once, like in the consumers.
    """

    def __init__(self) -> None:
        self.tasks: dict[str, dict[str, TaskRecord]] = {}
        self.opens: dict[str, Counter[tuple[date, int]]] = {}
        self.shown: dict[tuple[str, str], tuple[TipShown | None, TipReaction | None]] = {}
        self._seen: set[str] = set()

    def apply(self, events: Iterable[EventBase]) -> None:
        """Fold events into the state (idempotent per ``event_id``)."""
        for ev in sorted(events, key=lambda e: e.occurred_at):
            if ev.event_id in self._seen:
                continue
            self._seen.add(ev.event_id)
            if isinstance(ev, TaskSynced | TaskCompleted):
                user_tasks = self.tasks.setdefault(ev.user_id, {})
                new = apply_task_event(user_tasks.get(ev.task_id), ev)
                if new is not None:
                    user_tasks[ev.task_id] = new
            elif isinstance(ev, AppOpened):
                self.opens.setdefault(ev.user_id, Counter())[(utc_day(ev.occurred_at), local_hour(ev))] += 1
            elif isinstance(ev, TipShown):
                key = (ev.request_id, ev.tip_id)
                self.shown[key] = (ev, self.shown.get(key, (None, None))[1])
            elif isinstance(ev, TipReaction):
                key = (ev.request_id, ev.tip_id)
                shown, old = self.shown.get(key, (None, None))
                if old is None or ev.occurred_at >= old.occurred_at:
                    self.shown[key] = (shown, ev)

    def shown_tips(self, user_id: str | None = None) -> list[tuple[str, ShownTip]]:
        """(user_id, shown tip) pairs, optionally for one user; reactions without impressions are skipped."""
        out = []
        for shown, reaction in self.shown.values():
            if shown is None or (user_id is not None and shown.user_id != user_id):
                continue
            positive = reaction is not None and reaction.reaction.is_positive
            out.append((shown.user_id, ShownTip(shown.tip_id, shown.category, shown.occurred_at, positive)))
        return out

    def user_records(self, user_id: str) -> tuple[list[TaskRecord], list[OpenCount], list[ShownTip]]:
        """Inputs of :func:`user_activity` for one user."""
        tasks = list(self.tasks.get(user_id, {}).values())
        opens = [OpenCount(day, hour, n) for (day, hour), n in self.opens.get(user_id, Counter()).items()]
        return tasks, opens, [s for _, s in self.shown_tips(user_id)]
