"""How task events fold into a task's state: one rule for the consumers and the batch replay."""

from __future__ import annotations

from datetime import datetime

from contracts.enums import TaskPriority, TaskStatus
from contracts.events import TaskCompleted, TaskSynced
from contracts.prompt_context import MAX_TITLE_CHARS
from feature_repo.features.records import TaskRecord


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
