"""How every feature value is computed, once, for both the streaming consumers and the batch pipeline.

The consumers keep per-user state (tasks, app-open counts, the reward log) and, after each batch, call these
functions for the users and tips the batch touched; the training pipeline folds the offline event log into the
same records (:class:`ActivityReplay`) and calls the same functions at each point in time. One implementation,
so training and serving see identical values.

Everything here is pure: no I/O, no clock (``as_of`` is always passed in).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Final

from contracts.enums import TaskCategory, TaskPriority, TaskStatus
from contracts.events import AppOpened, EventBase, TaskCompleted, TaskSynced, TipReaction, TipShown
from contracts.prompt_context import MAX_OPEN_TASKS, MAX_RECENT_COMPLETED, MAX_TITLE_CHARS, TaskView
from contracts.task_state import encode_task_views

# --- names (stable: the scorer, training and the consumers use them) ------------------------------------

USER_ACTIVITY_FEATURES: Final = (
    "user_completion_rate_30d",
    "user_preferred_hour",
    "user_active_days_30d",
    "user_tip_volume_7d",
    "user_like_rate_30d",
    "user_open_tasks",
    "user_completed_7d",
    "user_category_tasks_30d",
)
TIP_STATS_FEATURES: Final = ("tip_impressions", "tip_positives", "tip_like_rate_smoothed", "tip_category")
AFFINITY_FEATURES: Final = ("uc_impressions", "uc_positives", "uc_completions_30d", "uc_affinity")
USER_TASKS_FEATURES: Final = ("open_tasks_json", "recent_completed_json")

MODEL_FEATURES: Final[tuple[str, ...]] = (
    "completion_rate",
    "like_rate",
    "hour_preferred",
    "active_days",
    "tips_7d",
    "open_tasks",
    "completed_7d",
    "tip_impressions_log",
    "tip_like_rate",
    "affinity",
    "affinity_lift",
    "category_completions_30d",
    "tenure",
    "streak",
    "notifications_on",
    "tasks_30d",
    "category_task_lift",
)
"""Ordered model input columns: the outputs of the ``scoring_inputs`` on-demand view (all Float64)."""

N_CATEGORIES: Final = len(TaskCategory)
_CATEGORY_VALUES: Final = frozenset(c.value for c in TaskCategory)
TASK_PRIOR: Final = 1.0
"""Pseudo-tasks per category in :func:`category_task_lift`: a user without tasks is neutral (lift 0)."""

PRIOR_LIKE_RATE: Final = 0.2
"""Population like rate the smoothed rates shrink towards."""
PRIOR_WEIGHT: Final = 10.0
"""Pseudo-impressions of the prior: a tip needs ~10 impressions before its own rate dominates."""

OPEN_STATUSES: Final = frozenset({TaskStatus.OPEN, TaskStatus.IN_PROGRESS})


# --- state records (what the consumers keep and the replay rebuilds) ------------------------------------


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """Latest known state of one task (see :func:`apply_task_event` for who wins)."""

    task_id: str
    category: TaskCategory
    status: TaskStatus
    priority: TaskPriority
    first_seen_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None
    title: str | None = None
    due_at: datetime | None = None
    synced_at: datetime | None = None
    """Time of the latest ``task_synced`` applied (title, priority and due date come from it)."""


@dataclass(frozen=True, slots=True)
class OpenCount:
    """App opens of one user on one UTC day at one local hour."""

    day: date
    local_hour: int
    n: int


@dataclass(frozen=True, slots=True)
class ShownTip:
    """One shown tip and whether its latest reaction is positive."""

    tip_id: str
    category: TaskCategory
    shown_at: datetime
    positive: bool


def local_hour(ev: AppOpened) -> int:
    """Hour of day on the user's device when the app was opened."""
    utc = ev.occurred_at.astimezone(UTC)
    return ((utc.hour * 60 + utc.minute + ev.tz_offset_minutes) // 60) % 24


def utc_day(ts: datetime) -> date:
    """UTC calendar day of a timestamp: the unit of ``active_days``."""
    return ts.astimezone(UTC).date()


def apply_task_event(current: TaskRecord | None, ev: TaskSynced | TaskCompleted) -> TaskRecord | None:
    """The task's state after ``ev``, or None when ``ev`` changes nothing.

    Order-independent, so a consumer seeing events out of order ends where the time-ordered batch replay ends:
    status, category and completion follow the latest event of either type (``completed_at`` is that event's
    time when it says done); title, priority and due date follow the latest ``task_synced``; ``first_seen_at``
    is the earliest event.
    """
    at = ev.occurred_at
    first_seen = min(current.first_seen_at, at) if current else at
    completed_at: datetime | None
    if current is None or at >= current.updated_at:
        status = TaskStatus.DONE if isinstance(ev, TaskCompleted) else ev.status
        category, updated_at = ev.category, at
        completed_at = at if status is TaskStatus.DONE else None
    else:
        status, category, updated_at = current.status, current.category, current.updated_at
        completed_at = current.completed_at
    synced_at: datetime | None
    due_at: datetime | None
    if isinstance(ev, TaskSynced) and (current is None or current.synced_at is None or at >= current.synced_at):
        priority, title, due_at, synced_at = (
            ev.priority,
            ev.title[:MAX_TITLE_CHARS] if ev.title else None,
            ev.due_at,
            at,
        )
    elif current is not None:
        priority, title, due_at, synced_at = current.priority, current.title, current.due_at, current.synced_at
    else:
        priority, title, due_at, synced_at = TaskPriority.MEDIUM, None, None, None
    new = TaskRecord(
        task_id=ev.task_id,
        category=category,
        status=status,
        priority=priority,
        first_seen_at=first_seen,
        updated_at=updated_at,
        completed_at=completed_at,
        title=title,
        due_at=due_at,
        synced_at=synced_at,
    )
    return None if new == current else new


# --- feature functions ----------------------------------------------------------------------------------


def smoothed_rate(positives: int, impressions: int) -> float:
    """Like rate shrunk towards :data:`PRIOR_LIKE_RATE` (Beta prior), so new tips are not 0 or 1."""
    return (positives + PRIOR_LIKE_RATE * PRIOR_WEIGHT) / (impressions + PRIOR_WEIGHT)


def user_activity(
    tasks: Iterable[TaskRecord], opens: Iterable[OpenCount], shown: Iterable[ShownTip], as_of: datetime
) -> dict[str, float | int | str | None]:
    """The ``user_activity`` feature values of one user as of ``as_of`` (rows after it are ignored)."""
    d30, d7 = as_of - timedelta(days=30), as_of - timedelta(days=7)
    created = done = open_now = completed_7d = 0
    per_category: Counter[str] = Counter()
    for t in tasks:
        if t.first_seen_at > as_of:
            continue
        completed = t.completed_at is not None and t.completed_at <= as_of
        if t.first_seen_at >= d30:
            created += 1
            done += completed
            per_category[t.category.value] += 1
        if completed and t.completed_at is not None and t.completed_at >= d7:
            completed_7d += 1
        if t.status in OPEN_STATUSES and t.updated_at <= as_of:
            open_now += 1
    hours: Counter[int] = Counter()
    days: set[date] = set()
    first_day, last_day = utc_day(d30), utc_day(as_of)
    for o in opens:
        if first_day < o.day <= last_day and o.n > 0:
            hours[o.local_hour] += o.n
            days.add(o.day)
    shown_7d = shown_30d = positive_30d = 0
    for s in shown:
        if d30 <= s.shown_at <= as_of:
            shown_30d += 1
            positive_30d += s.positive
            shown_7d += s.shown_at >= d7
    preferred = min(hours, key=lambda h: (-hours[h], h)) if hours else None
    return {
        "user_completion_rate_30d": done / created if created else None,
        "user_preferred_hour": preferred,
        "user_active_days_30d": len(days),
        "user_tip_volume_7d": shown_7d,
        "user_like_rate_30d": positive_30d / shown_30d if shown_30d else None,
        "user_open_tasks": open_now,
        "user_completed_7d": completed_7d,
        "user_category_tasks_30d": encode_category_counts(per_category),
    }


def encode_category_counts(counts: Mapping[str, int]) -> str:
    """``{"category": tasks}`` as compact JSON with sorted keys: one stable string value per user.

    One field rather than one per category keeps a user's online row (and each push) small.
    """
    return json.dumps({k: counts[k] for k in sorted(counts) if counts[k] > 0}, separators=(",", ":"))


@lru_cache(maxsize=4096)
def decode_category_counts(text: str | None) -> dict[str, int]:
    """Inverse of :func:`encode_category_counts`; None, empty or malformed text reads as no tasks.

    Cached: serving decodes the same user's value once per candidate. Callers must not mutate the result.
    """
    if not text:
        return {}
    try:
        raw = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(raw, dict):
        return {}
    return {str(k): int(v) for k, v in raw.items() if isinstance(v, int | float) and v > 0}


def category_task_lift(counts: Mapping[str, int], category: str | None) -> float:
    """How over-represented ``category`` is among the user's recent tasks: log of its share times K.

    People write tasks where their interests lie, so the share of a category in their own task list is
    evidence of how they will take a tip of that category, even before any tip of it was shown. The share
    is smoothed by :data:`TASK_PRIOR` pseudo-tasks per category, so it is 0 for a user without tasks or an
    unknown category, positive above an even spread and negative below it.
    """
    if not category or category not in _CATEGORY_VALUES:
        return 0.0
    total = sum(counts.values())
    share = (counts.get(category, 0) + TASK_PRIOR) / (total + TASK_PRIOR * N_CATEGORIES)
    return math.log(share * N_CATEGORIES)



def tip_stats(impressions: int, positives: int, category: TaskCategory | str | None) -> dict[str, float | int | str]:
    """The ``tip_stats`` feature values of one tip from its all-time counts."""
    return {
        "tip_impressions": impressions,
        "tip_positives": positives,
        "tip_like_rate_smoothed": smoothed_rate(positives, impressions),
        "tip_category": str(category) if category is not None else "",
    }


def category_affinity(impressions: int, positives: int, completions_30d: int) -> dict[str, float | int]:
    """The ``user_category_affinity`` values of one (user, category) pair."""
    return {
        "uc_impressions": impressions,
        "uc_positives": positives,
        "uc_completions_30d": completions_30d,
        "uc_affinity": smoothed_rate(positives, impressions),
    }


def category_completions(tasks: Iterable[TaskRecord], as_of: datetime) -> Counter[TaskCategory]:
    """Tasks completed per category in the 30 days up to ``as_of``."""
    d30 = as_of - timedelta(days=30)
    return Counter(t.category for t in tasks if t.completed_at is not None and d30 <= t.completed_at <= as_of)


def task_views(tasks: Iterable[TaskRecord], as_of: datetime) -> dict[str, str]:
    """The ``user_tasks`` values: open and recently completed tasks, newest first, bounded."""
    known = [t for t in tasks if t.updated_at <= as_of]
    open_tasks = sorted((t for t in known if t.status in OPEN_STATUSES), key=lambda t: t.updated_at, reverse=True)
    done = sorted(
        (t for t in known if t.status is TaskStatus.DONE and t.completed_at is not None),
        key=lambda t: t.completed_at or as_of,
        reverse=True,
    )
    return {
        "open_tasks_json": encode_task_views([_view(t, as_of) for t in open_tasks[:MAX_OPEN_TASKS]]),
        "recent_completed_json": encode_task_views([_view(t, as_of) for t in done[:MAX_RECENT_COMPLETED]]),
    }


def _view(t: TaskRecord, as_of: datetime) -> TaskView:
    due = None if t.due_at is None else round((t.due_at - as_of).total_seconds() / 3600.0, 2)
    return TaskView(
        task_id=t.task_id,
        title=(t.title or "")[:MAX_TITLE_CHARS],
        category=t.category,
        priority=t.priority,
        status=t.status,
        due_in_hours=due,
    )


def _num(value: object, default: float) -> float:
    if value is None or isinstance(value, str):
        return default
    f = float(value)  # type: ignore[arg-type]
    return default if math.isnan(f) else f


def scoring_inputs(row: Mapping[str, object]) -> dict[str, float]:
    """Model inputs of one (user, tip) row from its feature values and ``profile_features``.

    The recommender's profile values win where it sends them (they are fresher), ours fill the gaps, and
    missing values get fixed, documented defaults. Runs inside the ``scoring_inputs`` on-demand view, so
    training (historical retrieval) and serving (online retrieval) use this very function.
    """
    completion = _num(row.get("completion_rate_30d"), _num(row.get("user_completion_rate_30d"), 0.5))
    like = _num(row.get("like_rate_30d"), _num(row.get("user_like_rate_30d"), PRIOR_LIKE_RATE))
    affinity = _num(row.get("uc_affinity"), PRIOR_LIKE_RATE)
    encoded = row.get("user_category_tasks_30d")
    task_counts = decode_category_counts(encoded if isinstance(encoded, str) else None)
    category = row.get("tip_category")
    return {
        "completion_rate": completion,
        "like_rate": like,
        "hour_preferred": _num(row.get("preferred_hour"), _num(row.get("user_preferred_hour"), -1.0)),
        "active_days": _num(row.get("active_days_30d"), _num(row.get("user_active_days_30d"), 0.0)),
        "tips_7d": _num(row.get("tip_volume_7d"), _num(row.get("user_tip_volume_7d"), 0.0)),
        "open_tasks": _num(row.get("user_open_tasks"), 0.0),
        "completed_7d": _num(row.get("user_completed_7d"), 0.0),
        "tip_impressions_log": math.log1p(max(0.0, _num(row.get("tip_impressions"), 0.0))),
        "tip_like_rate": _num(row.get("tip_like_rate_smoothed"), PRIOR_LIKE_RATE),
        "affinity": affinity,
        "affinity_lift": affinity - like,
        "category_completions_30d": _num(row.get("uc_completions_30d"), 0.0),
        "tenure": _num(row.get("tenure_days"), 0.0),
        "streak": _num(row.get("streak_days"), 0.0),
        "notifications_on": _num(row.get("notifications_enabled"), 0.0),
        "tasks_30d": float(sum(task_counts.values())),
        "category_task_lift": category_task_lift(task_counts, category if isinstance(category, str) else None),
    }


def scoring_inputs_batch(columns: Mapping[str, Sequence[object]]) -> dict[str, list[float]]:
    """Column-wise :func:`scoring_inputs` (the shape Feast's python-mode on-demand views use)."""
    n = max((len(v) for v in columns.values()), default=0)
    out: dict[str, list[float]] = {name: [] for name in MODEL_FEATURES}
    for i in range(n):
        values = scoring_inputs({k: v[i] if i < len(v) else None for k, v in columns.items()})
        for name in MODEL_FEATURES:
            out[name].append(values[name])
    return out


# --- batch replay (the training pipeline's side) --------------------------------------------------------


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
