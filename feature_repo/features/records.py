"""The records feature values are computed from: what the consumers keep per user and the replay rebuilds.

Frozen and plain, so the consumers' SQLite state and the batch replay hold the very same values; the two
helpers turn an event's time into the keys app opens are counted under.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from contracts.enums import TaskCategory, TaskPriority, TaskStatus
from contracts.events import AppOpened


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
