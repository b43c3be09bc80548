"""The values of each pushed feature view, computed from the records at a given ``as_of``.

The consumers call these for the keys a batch touched, the training pipeline at every point in time of its
replay: one implementation, so the online store and the training tables agree. Pure: no I/O, no clock.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Final

from contracts.enums import TaskCategory, TaskStatus
from contracts.prompt_context import MAX_OPEN_TASKS, MAX_RECENT_COMPLETED, MAX_TITLE_CHARS, TaskView
from contracts.task_state import OPEN_TASKS_FIELD, RECENT_COMPLETED_FIELD, encode_task_views
from feature_repo.features.records import OpenCount, ShownTip, TaskRecord, utc_day

PRIOR_LIKE_RATE: Final = 0.2
"""Population like rate the smoothed rates shrink towards."""
PRIOR_WEIGHT: Final = 10.0
"""Pseudo-impressions of the prior: a tip needs ~10 impressions before its own rate dominates."""

OPEN_STATUSES: Final = frozenset({TaskStatus.OPEN, TaskStatus.IN_PROGRESS})
DUE_SOON: Final = timedelta(hours=24)
"""An open task counts as pressing when it is overdue or due within this horizon."""
RECENT_TIPS: Final = timedelta(hours=24)
"""Window of ``user_tips_24h``, the notification-fatigue input."""
EXPOSURE_WINDOW: Final = timedelta(days=30)
"""Window of ``ut_shown_30d``, the repeat-exposure input."""


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
    due_per_category: Counter[str] = Counter()
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
            if t.due_at is not None and t.due_at <= as_of + DUE_SOON:
                due_per_category[t.category.value] += 1
    hours: Counter[int] = Counter()
    days: set[date] = set()
    first_day, last_day = utc_day(d30), utc_day(as_of)
    for o in opens:
        if first_day < o.day <= last_day and o.n > 0:
            hours[o.local_hour] += o.n
            days.add(o.day)
    shown_7d = shown_30d = positive_30d = shown_24h = 0
    d1 = as_of - RECENT_TIPS
    for s in shown:
        if d30 <= s.shown_at <= as_of:
            shown_30d += 1
            positive_30d += s.positive
            shown_7d += s.shown_at >= d7
            shown_24h += s.shown_at >= d1
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
        "user_tips_24h": shown_24h,
        "user_category_due": encode_category_counts(due_per_category),
    }


def user_tip_exposure(shown: Iterable[ShownTip], tip_id: str, as_of: datetime) -> dict[str, float | int | None]:
    """The ``user_tip_exposure`` values of one (user, tip) pair: shows in 30 days and the latest (epoch s).

    Repeat exposure wears off: a tip seen yesterday lands worse than one never seen or seen a month ago, so
    the model gets how often and how long ago; hours since are taken at scoring time from the timestamp.
    """
    since = as_of - EXPOSURE_WINDOW
    times = [s.shown_at for s in shown if s.tip_id == tip_id and since <= s.shown_at <= as_of]
    return {
        "ut_shown_30d": len(times),
        "ut_last_shown_at": max(times).timestamp() if times else None,
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
        OPEN_TASKS_FIELD: encode_task_views([_view(t, as_of) for t in open_tasks[:MAX_OPEN_TASKS]]),
        RECENT_COMPLETED_FIELD: encode_task_views([_view(t, as_of) for t in done[:MAX_RECENT_COMPLETED]]),
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
