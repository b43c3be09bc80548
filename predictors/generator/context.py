"""The context assembler: request + online features → a bounded :class:`PromptContext`.

Tasks come from the ``user_tasks`` feature view (JSON arrays of ``TaskView`` the stream consumers push),
activity from ``user_activity``; the recommender's ``profile_features`` ride along on the request. Reads go
through a small :class:`UserStateReader` so the Feast-backed reader can be swapped (no store configured,
tests). Feast's client is synchronous, so reads run in a worker thread with a timeout; a slow or failing
store degrades the context (no tasks) instead of failing the tip, and the log says so by user id only.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from contracts.enums import TaskCategory
from contracts.generator import GeneratorInstance
from contracts.profile import ProfileFeatures
from contracts.prompt_context import MAX_OPEN_TASKS, MAX_RECENT_COMPLETED, PromptContext, TaskView
from contracts.task_state import OPEN_TASKS_FIELD, RECENT_COMPLETED_FIELD, USER_TASKS_VIEW, decode_task_views, shift_due
from feature_repo.names import USER_ACTIVITY_VIEW

log = logging.getLogger(__name__)

ACTIVITY_FEATURES: tuple[str, ...] = ("user_completion_rate_30d", "user_preferred_hour")
TIMESTAMP_SUFFIX = "__ts"
"""Feast's suffix for a feature's event timestamp (epoch seconds) in ``to_dict(include_event_timestamps=True)``."""
FEAST_REFS: tuple[str, ...] = (
    f"{USER_TASKS_VIEW}:{OPEN_TASKS_FIELD}",
    f"{USER_TASKS_VIEW}:{RECENT_COMPLETED_FIELD}",
    *(f"{USER_ACTIVITY_VIEW}:{name}" for name in ACTIVITY_FEATURES),
)


@dataclass(frozen=True, slots=True)
class UserState:
    """What the online store knows about a user."""

    open_tasks: list[TaskView] = field(default_factory=list)
    recent_completed: list[TaskView] = field(default_factory=list)
    completion_rate: float | None = None
    tasks_pushed_at: datetime | None = None
    """When the task lists were computed: their ``due_in_hours`` count from then, not from now."""


class UserStateReader(Protocol):
    """Reads one user's state; synchronous (called from a worker thread)."""

    def read(self, user_id: str) -> UserState:
        """The user's state (empty for an unknown user)."""
        ...


class NoUserState:
    """No online store: every user is unknown."""

    def read(self, user_id: str) -> UserState:
        """An empty state."""
        return UserState()


class FeastUserStateReader:
    """``user_tasks`` and ``user_activity`` from a Feast ``FeatureStore``."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def read(self, user_id: str) -> UserState:
        """One online read of every feature the context needs, with the task lists' push time."""
        values = self._store.get_online_features(features=list(FEAST_REFS), entity_rows=[{"user_id": user_id}])
        row = {k: v[0] for k, v in values.to_dict(include_event_timestamps=True).items()}
        rate = row.get("user_completion_rate_30d")
        open_text = row.get(OPEN_TASKS_FIELD)
        pushed = row.get(f"{OPEN_TASKS_FIELD}{TIMESTAMP_SUFFIX}") if open_text is not None else None
        return UserState(
            open_tasks=decode_task_views(open_text)[:MAX_OPEN_TASKS],
            recent_completed=decode_task_views(row.get(RECENT_COMPLETED_FIELD))[:MAX_RECENT_COMPLETED],
            completion_rate=min(max(float(rate), 0.0), 1.0) if rate is not None else None,
            tasks_pushed_at=datetime.fromtimestamp(pushed, UTC) if pushed else None,
        )


def top_category(tasks: list[TaskView]) -> TaskCategory | None:
    """The most common category (ties: the first seen)."""
    if not tasks:
        return None
    return Counter(t.category for t in tasks).most_common(1)[0][0]


class ContextAssembler:
    """Builds the prompt context of one instance."""

    def __init__(
        self,
        reader: UserStateReader,
        timeout_seconds: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.reader = reader
        self.timeout_seconds = timeout_seconds
        self._clock = clock

    async def read_state(self, user_id: str) -> UserState:
        """The user's state, or an empty one when the store is slow or failing."""
        try:
            return await asyncio.wait_for(asyncio.to_thread(self.reader.read, user_id), self.timeout_seconds)
        except TimeoutError:
            log.warning("user state read timed out user_id=%s", user_id)
        except Exception as e:  # noqa: BLE001 - any store failure degrades the context, never the tip
            log.warning("user state read failed user_id=%s error=%s", user_id, type(e).__name__)
        return UserState()

    async def assemble(self, instance: GeneratorInstance) -> PromptContext:
        """Request + state → context; ``local_hour`` is the profile's timezone-free UTC hour for now."""
        state = await self.read_state(instance.user_id)
        now = self._clock()
        profile = instance.profile_features or ProfileFeatures()
        open_tasks = shift_due(state.open_tasks[:MAX_OPEN_TASKS], state.tasks_pushed_at, now)
        recent = shift_due(state.recent_completed[:MAX_RECENT_COMPLETED], state.tasks_pushed_at, now)
        focus = None
        if instance.task_id is not None:
            focus = next((t for t in [*open_tasks, *recent] if t.task_id == instance.task_id), None)
        completion_rate = profile.completion_rate_30d
        if completion_rate is None:
            completion_rate = state.completion_rate
        return PromptContext(
            user_id=instance.user_id,
            local_hour=now.hour,
            weekday=now.strftime("%A"),
            open_tasks=open_tasks,
            recent_completed=recent,
            focus_task=focus,
            top_category=top_category([*open_tasks, *recent]),
            completion_rate=completion_rate,
            profile=profile,
        )
