"""The ``user_tasks`` online feature view: each user's open and recently completed tasks, for prompts.

The stream consumer pushes it on every task event; the generator's context assembler reads it from the
online store (entity ``user``) and decodes it with :func:`decode_task_views`.

Schema (both String features, JSON arrays of :class:`contracts.prompt_context.TaskView` dicts):

* ``open_tasks_json``: tasks with status ``open`` or ``in_progress``, most recently updated first, at most
  :data:`~contracts.prompt_context.MAX_OPEN_TASKS`.
* ``recent_completed_json``: tasks with status ``done``, most recently completed first, at most
  :data:`~contracts.prompt_context.MAX_RECENT_COMPLETED`.

``due_in_hours`` is relative to the row's event timestamp (when it was pushed); pass that timestamp and the
current time to :func:`decode_task_views` to get it relative to now. Titles are personal data (already
truncated to ``MAX_TITLE_CHARS``): never log them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Final

from pydantic import TypeAdapter

from contracts.prompt_context import TaskView

USER_TASKS_VIEW: Final = "user_tasks"
OPEN_TASKS_FIELD: Final = "open_tasks_json"
RECENT_COMPLETED_FIELD: Final = "recent_completed_json"

_VIEWS: Final = TypeAdapter(list[TaskView])


def encode_task_views(views: list[TaskView]) -> str:
    """Serialize task views the way the feature stores them (compact JSON array)."""
    return json.dumps([v.model_dump(mode="json") for v in views], separators=(",", ":"))


def decode_task_views(
    text: str | None, *, pushed_at: datetime | None = None, now: datetime | None = None
) -> list[TaskView]:
    """Parse a stored array (None or empty: no tasks); shift ``due_in_hours`` from ``pushed_at`` to now."""
    if not text:
        return []
    return shift_due(_VIEWS.validate_json(text), pushed_at, now)


def shift_due(views: list[TaskView], pushed_at: datetime | None, now: datetime | None) -> list[TaskView]:
    """The views with ``due_in_hours`` counted from ``now`` instead of from ``pushed_at`` (unchanged if unknown)."""
    if pushed_at is None or now is None:
        return views
    elapsed = (now - pushed_at).total_seconds() / 3600.0
    return [
        v if v.due_in_hours is None else v.model_copy(update={"due_in_hours": round(v.due_in_hours - elapsed, 2)})
        for v in views
    ]
