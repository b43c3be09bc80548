"""What a prompt template may use: the only variables a PromptVersion can reference.

Bounded on purpose (few tasks, short titles), so a prompt's size and cost stay predictable whatever the
user's task list looks like.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.enums import TaskCategory, TaskPriority, TaskStatus
from contracts.profile import ProfileFeatures

MAX_OPEN_TASKS: Final = 8
MAX_RECENT_COMPLETED: Final = 5
MAX_TITLE_CHARS: Final = 120

Title = Annotated[str, StringConstraints(max_length=MAX_TITLE_CHARS)]


class TaskView(BaseModel):
    """A task as a prompt sees it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task_id: str
    title: Title = ""
    category: TaskCategory
    priority: TaskPriority = TaskPriority.MEDIUM
    status: TaskStatus = TaskStatus.OPEN
    due_in_hours: float | None = None
    """Hours until due (negative: overdue); None when it has no due date."""


class PromptContext(BaseModel):
    """Everything a template may reference (``{{ open_tasks }}``, ``{{ focus_task.title }}``...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: str
    local_hour: int = Field(ge=0, le=23)
    weekday: str
    open_tasks: list[TaskView] = Field(default_factory=list, max_length=MAX_OPEN_TASKS)
    recent_completed: list[TaskView] = Field(default_factory=list, max_length=MAX_RECENT_COMPLETED)
    focus_task: TaskView | None = None
    """The task the recommender asked about (request ``task_id``), if any."""
    top_category: TaskCategory | None = None
    completion_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    profile: ProfileFeatures = Field(default_factory=ProfileFeatures)


def sample_prompt_context() -> PromptContext:
    """A realistic context used to validate templates before they are published."""
    work = TaskView(task_id="t-1", title="Send the quarterly report", category=TaskCategory.WORK,
                    priority=TaskPriority.HIGH, due_in_hours=5.0)
    gym = TaskView(task_id="t-2", title="Book a gym class", category=TaskCategory.HEALTH, due_in_hours=30.0)
    done = TaskView(task_id="t-3", title="Pay rent", category=TaskCategory.FINANCE, status=TaskStatus.DONE)
    return PromptContext(
        user_id="u-sample", local_hour=9, weekday="Monday", open_tasks=[work, gym], recent_completed=[done],
        focus_task=work, top_category=TaskCategory.WORK, completion_rate=0.62,
        profile=ProfileFeatures(completion_rate_30d=0.62, preferred_hour=9, tenure_days=120),
    )
