from __future__ import annotations

import itertools
import json
import math
from datetime import UTC, date, datetime, timedelta

from contracts.enums import Platform, Reaction, TaskCategory, TaskPriority, TaskStatus
from contracts.events import AppOpened, TaskCompleted, TaskSynced, TipReaction, TipShown
from contracts.prompt_context import MAX_OPEN_TASKS
from contracts.task_state import decode_task_views, encode_task_views
from feature_repo.features import (
    MODEL_FEATURES,
    ActivityReplay,
    OpenCount,
    ShownTip,
    TaskRecord,
    apply_task_event,
    category_affinity,
    category_task_lift,
    decode_category_counts,
    encode_category_counts,
    local_hour,
    scoring_inputs,
    scoring_inputs_batch,
    smoothed_rate,
    task_views,
    tip_stats,
    user_activity,
)

NOW = datetime(2025, 3, 31, 12, 0, tzinfo=UTC)


def synced(
    task: str,
    at: datetime,
    status: TaskStatus = TaskStatus.OPEN,
    eid: str | None = None,
    due: datetime | None = None,
) -> TaskSynced:
    return TaskSynced(
        event_id=eid or f"e-{task}-{at.timestamp()}",
        occurred_at=at,
        user_id="u1",
        task_id=task,
        status=status,
        category=TaskCategory.WORK,
        title="secret title " * 20,
        due_at=due,
    )


def test_model_features_are_unique_and_stable() -> None:
    assert len(set(MODEL_FEATURES)) == len(MODEL_FEATURES)
    assert MODEL_FEATURES[0] == "completion_rate"


def test_local_hour_uses_device_offset() -> None:
    ev = AppOpened(
        event_id="a",
        occurred_at=datetime(2025, 3, 1, 23, 30, tzinfo=UTC),
        user_id="u",
        platform=Platform.IOS,
        tz_offset_minutes=90,
    )
    assert local_hour(ev) == 1
    west = ev.model_copy(update={"tz_offset_minutes": -600})
    assert local_hour(west) == 13


def test_task_events_last_writer_wins_and_completion_sticks() -> None:
    t1 = apply_task_event(None, synced("t", NOW - timedelta(hours=3)))
    assert t1 is not None and t1.status is TaskStatus.OPEN and t1.title is not None and len(t1.title) <= 120
    done = TaskCompleted(
        event_id="c",
        occurred_at=NOW - timedelta(hours=1),
        user_id="u1",
        task_id="t",
        category=TaskCategory.WORK,
    )
    t2 = apply_task_event(t1, done)
    assert t2 is not None and t2.status is TaskStatus.DONE and t2.completed_at == done.occurred_at
    assert t2.first_seen_at == t1.first_seen_at
    t3 = apply_task_event(t2, synced("t", NOW - timedelta(hours=2)))  # older than the completion
    assert t3 is not None and t3.status is TaskStatus.DONE and t3.synced_at == NOW - timedelta(hours=2)
    assert apply_task_event(t3, synced("t", NOW - timedelta(hours=2))) is None  # nothing new


def test_task_state_does_not_depend_on_arrival_order() -> None:
    events: list[TaskSynced | TaskCompleted] = [
        synced("t", NOW - timedelta(hours=5)),
        TaskCompleted(
            event_id="c", occurred_at=NOW - timedelta(hours=4), user_id="u1", task_id="t", category=TaskCategory.WORK
        ),
        synced("t", NOW - timedelta(hours=3), status=TaskStatus.OPEN, due=NOW),
        synced("t", NOW - timedelta(hours=1), status=TaskStatus.DONE),
    ]
    results = set()
    for order in itertools.permutations(events):
        state = None
        for ev in order:
            state = apply_task_event(state, ev) or state
        results.add(state)
    [final] = results
    assert final is not None and final.status is TaskStatus.DONE and final.completed_at == NOW - timedelta(hours=1)
    assert final.first_seen_at == NOW - timedelta(hours=5)


def test_user_activity_windows() -> None:
    tasks = [
        TaskRecord(
            "a",
            TaskCategory.WORK,
            TaskStatus.DONE,
            TaskPriority.HIGH,
            NOW - timedelta(days=3),
            NOW - timedelta(days=1),
            completed_at=NOW - timedelta(days=1),
        ),
        TaskRecord(
            "b",
            TaskCategory.WORK,
            TaskStatus.OPEN,
            TaskPriority.LOW,
            NOW - timedelta(days=2),
            NOW - timedelta(days=2),
            due_at=NOW - timedelta(hours=3),  # overdue: counts as pressing
        ),
        TaskRecord(
            "old",
            TaskCategory.HOME,
            TaskStatus.DONE,
            TaskPriority.LOW,
            NOW - timedelta(days=60),
            NOW - timedelta(days=20),
            completed_at=NOW - timedelta(days=20),
        ),
        TaskRecord(
            "future",
            TaskCategory.HOME,
            TaskStatus.OPEN,
            TaskPriority.LOW,
            NOW + timedelta(days=1),
            NOW + timedelta(days=1),
        ),
    ]
    opens = [
        OpenCount(date(2025, 3, 30), 9, 3),
        OpenCount(date(2025, 3, 29), 20, 2),
        OpenCount(date(2025, 1, 1), 20, 50),
    ]
    shown = [
        ShownTip("x", TaskCategory.WORK, NOW - timedelta(days=1), True),
        ShownTip("y", TaskCategory.WORK, NOW - timedelta(days=10), False),
        ShownTip("z", TaskCategory.WORK, NOW - timedelta(days=40), True),
    ]
    f = user_activity(tasks, opens, shown, NOW)
    assert f == {
        "user_completion_rate_30d": 0.5,
        "user_preferred_hour": 9,
        "user_active_days_30d": 2,
        "user_tip_volume_7d": 1,
        "user_like_rate_30d": 0.5,
        "user_open_tasks": 1,
        "user_completed_7d": 1,
        "user_category_tasks_30d": '{"work":2}',
        "user_tips_24h": 1,
        "user_category_due": '{"work":1}',
    }
    empty = user_activity([], [], [], NOW)
    assert empty["user_completion_rate_30d"] is None and empty["user_preferred_hour"] is None
    assert empty["user_category_tasks_30d"] == "{}"


def test_category_counts_round_trip_and_bad_values_read_as_none() -> None:
    text = encode_category_counts({"work": 3, "home": 1, "health": 0})
    assert text == '{"home":1,"work":3}'
    assert decode_category_counts(text) == {"home": 1, "work": 3}
    for bad in (None, "", "not json", "[1, 2]", '{"work": "x"}'):
        assert decode_category_counts(bad) == {}


def test_category_task_lift_is_neutral_without_evidence_and_follows_the_share() -> None:
    assert category_task_lift({}, "work") == 0.0
    assert category_task_lift({"work": 9}, "") == 0.0 and category_task_lift({"work": 9}, "nope") == 0.0
    mostly_work = {"work": 9, "home": 1}
    assert category_task_lift(mostly_work, "work") > 0 > category_task_lift(mostly_work, "finance")
    # (9 + 1) / (10 + 8) of the tasks against an even 1/8.
    assert abs(category_task_lift(mostly_work, "work") - math.log(10 / 18 * 8)) < 1e-12


def test_smoothed_rates() -> None:
    assert smoothed_rate(0, 0) == 0.2
    assert tip_stats(100, 50, TaskCategory.HOME)["tip_like_rate_smoothed"] == smoothed_rate(50, 100)
    assert tip_stats(1, 0, None)["tip_category"] == ""
    assert category_affinity(10, 10, 2)["uc_affinity"] == 0.6


def test_task_views_bounded_newest_first_and_roundtrip() -> None:
    tasks = [
        TaskRecord(
            f"t{i}",
            TaskCategory.WORK,
            TaskStatus.OPEN,
            TaskPriority.LOW,
            NOW - timedelta(hours=i),
            NOW - timedelta(hours=i),
            due_at=NOW + timedelta(hours=10),
        )
        for i in range(12)
    ]
    tasks.append(
        TaskRecord(
            "d",
            TaskCategory.HOME,
            TaskStatus.DONE,
            TaskPriority.LOW,
            NOW - timedelta(days=1),
            NOW - timedelta(hours=1),
            completed_at=NOW - timedelta(hours=1),
        )
    )
    views = task_views(tasks, NOW)
    open_tasks = decode_task_views(views["open_tasks_json"])
    assert [t.task_id for t in open_tasks] == [f"t{i}" for i in range(MAX_OPEN_TASKS)]
    assert open_tasks[0].due_in_hours == 10.0
    shifted = decode_task_views(views["open_tasks_json"], pushed_at=NOW, now=NOW + timedelta(hours=4))
    assert shifted[0].due_in_hours == 6.0
    assert [t.task_id for t in decode_task_views(views["recent_completed_json"])] == ["d"]
    assert decode_task_views(None) == [] and json.loads(encode_task_views([])) == []


def test_scoring_inputs_prefers_profile_and_fills_defaults() -> None:
    row = {
        "completion_rate_30d": 0.9,
        "user_completion_rate_30d": 0.1,
        "user_like_rate_30d": 0.4,
        "uc_affinity": 0.5,
        "tip_impressions": None,
        "notifications_enabled": True,
        "preferred_hour": None,
        "user_preferred_hour": 7,
    }
    x = scoring_inputs(row)
    assert list(x) == list(MODEL_FEATURES)
    assert x["completion_rate"] == 0.9 and x["like_rate"] == 0.4 and x["hour_preferred"] == 7.0
    assert abs(x["affinity_lift"] - 0.1) < 1e-12 and x["notifications_on"] == 1.0 and x["tip_impressions_log"] == 0.0
    assert x["tasks_30d"] == 0.0 and x["category_task_lift"] == 0.0
    batch = scoring_inputs_batch({k: [v, None] for k, v in row.items()})
    assert batch["completion_rate"] == [0.9, 0.5]


def test_scoring_inputs_reads_the_tips_category_in_the_users_task_mix() -> None:
    row = {"user_category_tasks_30d": '{"health":1,"work":5}', "tip_category": "health"}
    x = scoring_inputs(row)
    assert x["tasks_30d"] == 6.0
    assert x["category_task_lift"] == category_task_lift({"health": 1, "work": 5}, "health")
    work = scoring_inputs({**row, "tip_category": "work"})["category_task_lift"]
    assert work > x["category_task_lift"]


def test_replay_matches_the_rules_and_dedupes() -> None:
    t0 = NOW - timedelta(days=2)
    events = [
        synced("a", t0),
        synced("a", t0),
        TaskCompleted(
            event_id="c",
            occurred_at=t0 + timedelta(hours=1),
            user_id="u1",
            task_id="a",
            category=TaskCategory.WORK,
        ),
        AppOpened(event_id="o1", occurred_at=t0, user_id="u1", platform=Platform.WEB),
        TipShown(
            event_id="s1",
            occurred_at=t0,
            user_id="u1",
            request_id="r",
            tip_id="x",
            category=TaskCategory.WORK,
            model_version="m",
        ),
        TipReaction(
            event_id="r1",
            occurred_at=t0 + timedelta(minutes=1),
            user_id="u1",
            request_id="r",
            tip_id="x",
            reaction=Reaction.ACTED,
        ),
    ]
    replay = ActivityReplay()
    replay.apply(reversed(events))
    replay.apply(events)
    tasks, opens, shown = replay.user_records("u1")
    f = user_activity(tasks, opens, shown, NOW)
    assert f["user_completion_rate_30d"] == 1.0 and f["user_like_rate_30d"] == 1.0
    assert f["user_active_days_30d"] == 1 and f["user_preferred_hour"] == 12


def test_user_tip_exposure_counts_shows_of_that_tip_in_30_days_and_the_latest() -> None:
    from feature_repo.features import user_tip_exposure

    shown = [
        ShownTip("x", TaskCategory.WORK, NOW - timedelta(days=1), True),
        ShownTip("x", TaskCategory.WORK, NOW - timedelta(days=3), False),
        ShownTip("x", TaskCategory.WORK, NOW - timedelta(days=40), False),
        ShownTip("y", TaskCategory.WORK, NOW - timedelta(hours=1), False),
        ShownTip("x", TaskCategory.WORK, NOW + timedelta(hours=1), False),
    ]
    assert user_tip_exposure(shown, "x", NOW) == {
        "ut_shown_30d": 2,
        "ut_last_shown_at": (NOW - timedelta(days=1)).timestamp(),
    }
    assert user_tip_exposure(shown, "z", NOW) == {"ut_shown_30d": 0, "ut_last_shown_at": None}


def test_new_scoring_inputs_read_the_request_time_and_the_tips_category() -> None:
    from feature_repo.features import scoring_inputs
    from feature_repo.features.scoring import NEVER_SHOWN_HOURS

    t = NOW.timestamp()
    row = {
        "tip_category": "work",
        "user_tips_24h": 3,
        "ut_shown_30d": 2,
        "ut_last_shown_at": t - 5 * 3600,
        "request_time_s": t,
        "user_category_due": '{"work":2,"home":1}',
    }
    got = scoring_inputs(row)
    assert (got["tips_24h"], got["tip_seen_30d"], got["tip_hours_since"], got["category_due_tasks"]) == (
        3.0, 2.0, 5.0, 2.0
    )
    never = scoring_inputs({"tip_category": "finance", "request_time_s": t})
    assert never["tip_hours_since"] == NEVER_SHOWN_HOURS and never["category_due_tasks"] == 0.0
    unknown_time = scoring_inputs({**row, "request_time_s": None})
    assert unknown_time["tip_hours_since"] == NEVER_SHOWN_HOURS
