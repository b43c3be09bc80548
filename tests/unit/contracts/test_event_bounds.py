"""Timestamps, schema versions and subjects a careless or hostile producer might send are rejected by name."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.events import EventValidationError, parse_event, parse_event_on

BASE: dict[str, Any] = {
    "type": "app_opened", "event_id": "e-1", "occurred_at": "2026-11-01T08:30:00+01:00", "user_id": "u-1",
    "platform": "ios",
}


def _errors(**overrides: Any) -> dict[str, str]:
    with pytest.raises(EventValidationError) as info:
        parse_event(json.dumps({**BASE, **overrides}))
    return {e.field: e.reason for e in info.value.errors}


@pytest.mark.parametrize(
    "when",
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "1970-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        (datetime.now(UTC) + timedelta(days=2)).isoformat(),
    ],
)
def test_occurred_at_outside_the_sane_range_is_rejected_with_the_bound(when: str) -> None:
    reason = _errors(occurred_at=when)["occurred_at"]
    assert "2000-01-01" in reason and "now + 1 day" in reason


def test_occurred_at_at_the_bounds_is_accepted() -> None:
    parse_event(json.dumps({**BASE, "occurred_at": "2000-01-01T00:00:00Z"}))
    parse_event(json.dumps({**BASE, "occurred_at": (datetime.now(UTC) + timedelta(hours=23)).isoformat()}))


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1970-01-01T00:00:00Z"])
def test_due_at_outside_its_range_is_rejected(when: str) -> None:
    raw = {
        **BASE, "type": "task_synced", "task_id": "t", "status": "open", "category": "work", "due_at": when,
    }
    with pytest.raises(EventValidationError) as info:
        parse_event(json.dumps(raw))
    assert [e.field for e in info.value.errors] == ["due_at"]


@pytest.mark.parametrize("version", [True, "1", 1.0, "one"])
def test_schema_version_is_strictly_an_integer(version: Any) -> None:
    assert "schema_version" in _errors(schema_version=version)


def test_schema_version_one_is_accepted() -> None:
    assert parse_event(json.dumps({**BASE, "schema_version": 1})).schema_version == 1


def test_a_body_whose_type_does_not_match_its_subject_is_rejected() -> None:
    shown = {
        **BASE, "type": "tip_shown", "request_id": "r", "tip_id": "t", "category": "work", "model_version": "1",
    }
    with pytest.raises(EventValidationError) as info:
        parse_event_on(json.dumps(shown), "signals.app_opened")
    (err,) = info.value.errors
    assert err.field == "type" and "feedback.tip_shown" in err.reason
    assert parse_event_on(json.dumps(shown), "feedback.tip_shown").type == "tip_shown"
