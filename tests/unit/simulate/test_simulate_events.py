"""Generated lines are valid contract events, unique, time-ordered and inside the window."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from contracts.enums import TaskStatus
from contracts.events import AppOpened, TaskCompleted, TaskSynced, TipReaction, TipShown, parse_event
from tipsml.simulate import Simulation, simulate


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return simulate(users=200, days=3, seed=5)


def test_every_event_type_is_present_and_a_sample_parses(sim: Simulation) -> None:
    counts = sim.events.counts()
    assert all(n > 0 for n in counts.values()), counts
    rng = np.random.default_rng(0)
    sample = rng.choice(len(sim.events), size=min(1500, len(sim.events)), replace=False)
    seen: set[type] = set()
    for i in sample.tolist():
        event = parse_event(sim.events.lines[i])
        assert event.event_id == sim.events.event_ids[i]
        assert event.subject == list(counts)[int(sim.events.kind[i])]
        assert event.occurred_at.tzinfo is not None
        seen.add(type(event))
    assert seen == {AppOpened, TaskSynced, TaskCompleted, TipShown, TipReaction}


def test_every_line_parses(sim: Simulation) -> None:
    for line in sim.events.lines:
        parse_event(line)


def test_ids_unique_and_time_ordered_within_window(sim: Simulation) -> None:
    assert len(set(sim.events.event_ids)) == len(sim.events)
    assert np.all(np.diff(sim.events.t) >= 0)
    times = [parse_event(sim.events.lines[i]).occurred_at for i in (0, len(sim.events) - 1)]
    assert times == sorted(times)
    assert times[0] >= sim.start
    # reactions may land a few minutes after the window's end
    assert times[1] < sim.start + timedelta(days=sim.days, hours=2)


def test_default_window_ends_on_fixed_date() -> None:
    assert simulate(users=5, days=4, seed=0).start == datetime(2026, 10, 28, tzinfo=UTC)


def test_tip_shown_carries_logging_policy_fields(sim: Simulation) -> None:
    shown = [json.loads(line) for line in sim.events.lines if '"type":"tip_shown"' in line]
    assert {s["model_version"] for s in shown} == {"sim-logging-v0"}
    assert {s["prompt_version"] for s in shown} == {None, "v1", "v2"}
    assert all(0.0 < s["propensity"] <= 1.0 for s in shown)
    assert len({s["request_id"] for s in shown}) == len(shown)
    truth = sim.truth().set_index("request_id")
    for s in shown[:200]:
        assert truth.loc[s["request_id"], "tip_id"] == s["tip_id"]
        assert truth.loc[s["request_id"], "propensity"] == pytest.approx(s["propensity"])


def test_reactions_follow_their_impression(sim: Simulation) -> None:
    shown_at = {}
    for line in sim.events.lines:
        event = parse_event(line)
        if isinstance(event, TipShown):
            shown_at[event.request_id] = event.occurred_at
        elif isinstance(event, TipReaction):
            delay = event.occurred_at - shown_at[event.request_id]
            assert timedelta(seconds=5) <= delay < timedelta(hours=2)


def test_completed_tasks_are_synced_done_at_the_same_instant(sim: Simulation) -> None:
    done: dict[str, datetime] = {}
    completed: dict[str, datetime] = {}
    for line in sim.events.lines:
        event = parse_event(line)
        if isinstance(event, TaskSynced) and event.status is TaskStatus.DONE:
            done[event.task_id] = event.occurred_at
        elif isinstance(event, TaskCompleted):
            completed[event.task_id] = event.occurred_at
    assert completed and completed == done


def test_new_users_sign_up_inside_the_window(sim: Simulation) -> None:
    users = sim.users
    assert users["is_new"].any()
    assert (users.loc[users["is_new"], "signup_day"].between(0, sim.days - 1)).all()
    assert (users.loc[~users["is_new"], "signup_day"] < 0).all()
