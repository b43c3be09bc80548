"""The generator's context assembler against a real Feast store (SQLite online store, local default).

The rows are computed by the functions the stream consumers use (``task_views``, ``user_activity``) and
written through Feast's push sources, so the assembler reads exactly what ingestion leaves online.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from contracts.enums import TaskCategory, TaskPriority, TaskStatus
from contracts.generator import GeneratorInstance
from contracts.local_state import LocalState
from feature_repo.config import apply_definitions, open_store
from feature_repo.features import TaskRecord, task_views, user_activity
from predictors.generator.context import ContextAssembler, FeastUserStateReader

pytestmark = pytest.mark.integration

PUSHED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NOW = PUSHED + timedelta(hours=3)


def _task(
    task_id: str,
    category: TaskCategory,
    status: TaskStatus,
    hours_ago: float,
    title: str,
    due_at: datetime | None = None,
) -> TaskRecord:
    at = PUSHED - timedelta(hours=hours_ago)
    return TaskRecord(
        task_id=task_id,
        category=category,
        status=status,
        priority=TaskPriority.HIGH,
        first_seen_at=at - timedelta(days=1),
        updated_at=at,
        completed_at=at if status is TaskStatus.DONE else None,
        synced_at=at,
        title=title,
        due_at=due_at,
    )


TASKS = [
    _task(
        "t-report", TaskCategory.WORK, TaskStatus.OPEN, 1, title="Prepare report", due_at=PUSHED + timedelta(hours=10)
    ),
    _task("t-email", TaskCategory.WORK, TaskStatus.IN_PROGRESS, 2, title="Reply to email"),
    _task("t-gym", TaskCategory.HEALTH, TaskStatus.DONE, 5, title="Go to the gym"),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> object:
    fs = open_store(tmp_path_factory.mktemp("feast"))
    apply_definitions(fs)
    views = task_views(TASKS, PUSHED)
    fs.push("user_tasks_push", pd.DataFrame([{"user_id": "u1", **views, "event_timestamp": PUSHED}]))
    activity = user_activity(TASKS, [], [], PUSHED)
    fs.push("user_activity_push", pd.DataFrame([{"user_id": "u1", **activity, "event_timestamp": PUSHED}]))
    return fs


def _assembler(store: object) -> ContextAssembler:
    return ContextAssembler(FeastUserStateReader(store), timeout_seconds=10.0, clock=lambda: NOW)


async def test_context_carries_the_users_tasks_with_due_times_counted_from_now(store: object) -> None:
    ctx = await _assembler(store).assemble(GeneratorInstance(user_id="u1", task_id="t-report"))
    assert [t.task_id for t in ctx.open_tasks] == ["t-report", "t-email"]
    assert [t.title for t in ctx.open_tasks] == ["Prepare report", "Reply to email"]
    assert [t.task_id for t in ctx.recent_completed] == ["t-gym"]
    # Pushed 10 h before due, read 3 h later: 7 h left, not the 10 h stored at push time.
    assert ctx.open_tasks[0].due_in_hours == pytest.approx(7.0)
    assert ctx.open_tasks[1].due_in_hours is None
    assert ctx.focus_task is not None and ctx.focus_task.due_in_hours == pytest.approx(7.0)
    assert ctx.top_category is TaskCategory.WORK
    expected = user_activity(TASKS, [], [], PUSHED)["user_completion_rate_30d"]
    assert expected is not None and ctx.completion_rate == pytest.approx(expected)
    assert ctx.local_hour == NOW.hour


async def test_unknown_user_gets_an_empty_context(store: object) -> None:
    ctx = await _assembler(store).assemble(GeneratorInstance(user_id="nobody"))
    assert ctx.open_tasks == [] and ctx.recent_completed == [] and ctx.focus_task is None
    assert ctx.completion_rate is None and ctx.top_category is None


async def test_a_broken_online_store_degrades_the_context_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fs = open_store(tmp_path)
    apply_definitions(fs)
    (LocalState(tmp_path).feast_dir / "online.db").write_bytes(b"this is not a sqlite database" * 100)
    with caplog.at_level(logging.WARNING, logger="predictors.generator.context"):
        ctx = await _assembler(fs).assemble(GeneratorInstance(user_id="u1"))
    assert ctx.open_tasks == [] and ctx.completion_rate is None
    assert "user state read failed user_id=u1" in caplog.text
