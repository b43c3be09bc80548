"""Every event type: valid, optional fields omitted, bad enums, missing fields, wrong types, naive times."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.enums import Reaction
from contracts.events import (
    EVENT_TYPES,
    SCHEMA_VERSION,
    AppOpened,
    EventValidationError,
    TaskCompleted,
    TaskSynced,
    TipReaction,
    TipShown,
    dump_event,
    parse_event,
)

ENVELOPE = {"event_id": "evt-1", "occurred_at": "2026-11-01T08:30:00+01:00", "user_id": "u-42"}

FULL: dict[str, dict[str, Any]] = {
    "task_synced": {
        "task_id": "t-1", "status": "open", "priority": "high", "category": "work", "title": "Write report",
        "due_at": "2026-11-02T17:00:00Z", "estimated_minutes": 45,
    },
    "task_completed": {"task_id": "t-1", "category": "work", "on_time": True},
    "app_opened": {"platform": "ios", "tz_offset_minutes": 60, "app_version": "4.2.0"},
    "tip_shown": {
        "request_id": "r-1", "tip_id": "tip-7", "category": "health", "model_version": "3", "prompt_version": "v2",
        "propensity": 0.25, "position": 0, "platform": "web",
    },
    "tip_reaction": {"request_id": "r-1", "tip_id": "tip-7", "reaction": "liked", "model_version": "3",
                     "prompt_version": "v2"},
}
REQUIRED_ONLY: dict[str, dict[str, Any]] = {
    "task_synced": {"task_id": "t-1", "status": "open", "category": "work"},
    "task_completed": {"task_id": "t-1", "category": "work"},
    "app_opened": {"platform": "android"},
    "tip_shown": {"request_id": "r-1", "tip_id": "tip-7", "category": "health", "model_version": "3"},
    "tip_reaction": {"request_id": "r-1", "tip_id": "tip-7", "reaction": "dismissed"},
}
ENUM_FIELDS = {
    "task_synced": "status", "task_completed": "category", "app_opened": "platform",
    "tip_shown": "category", "tip_reaction": "reaction",
}
WRONG_TYPES = {
    "task_synced": ("estimated_minutes", "forty"), "task_completed": ("on_time", "perhaps"),
    "app_opened": ("tz_offset_minutes", "UTC+1"), "tip_shown": ("propensity", "high"),
    "tip_reaction": ("tip_id", 7),
}


def raw(kind: str, body: dict[str, Any], **envelope: Any) -> bytes:
    return json.dumps({"type": kind, **ENVELOPE, **envelope, **body}).encode()


def fields_of(exc: pytest.ExceptionInfo[EventValidationError]) -> set[str]:
    return {e.field for e in exc.value.errors}


def test_every_event_type_is_covered() -> None:
    assert set(FULL) == set(EVENT_TYPES) == set(REQUIRED_ONLY) == set(ENUM_FIELDS) == set(WRONG_TYPES)


@pytest.mark.parametrize("kind", sorted(EVENT_TYPES))
def test_full_payload_parses_to_its_class(kind: str) -> None:
    event = parse_event(raw(kind, FULL[kind]))
    assert isinstance(event, EVENT_TYPES[kind])
    assert event.occurred_at.utcoffset() is not None
    assert event.schema_version == SCHEMA_VERSION
    assert event.subject == f"{event.family}.{kind}"


@pytest.mark.parametrize("kind", sorted(EVENT_TYPES))
def test_optional_fields_may_be_omitted(kind: str) -> None:
    event = parse_event(raw(kind, REQUIRED_ONLY[kind]))
    assert isinstance(event, EVENT_TYPES[kind])


def test_documented_defaults_of_optional_fields() -> None:
    synced = parse_event(raw("task_synced", REQUIRED_ONLY["task_synced"]))
    shown = parse_event(raw("tip_shown", REQUIRED_ONLY["tip_shown"]))
    opened = parse_event(raw("app_opened", REQUIRED_ONLY["app_opened"]))
    assert isinstance(synced, TaskSynced) and synced.priority == "medium" and synced.due_at is None
    assert isinstance(shown, TipShown) and shown.propensity == 1.0 and shown.prompt_version is None
    assert isinstance(opened, AppOpened) and opened.tz_offset_minutes == 0


@pytest.mark.parametrize("kind", sorted(EVENT_TYPES))
def test_invalid_enum_value_names_the_field(kind: str) -> None:
    field = ENUM_FIELDS[kind]
    with pytest.raises(EventValidationError) as exc:
        parse_event(raw(kind, {**FULL[kind], field: "not-a-member"}))
    assert fields_of(exc) == {field}


@pytest.mark.parametrize("kind", sorted(EVENT_TYPES))
@pytest.mark.parametrize("missing", ["event_id", "occurred_at", "user_id"])
def test_missing_envelope_field_is_named(kind: str, missing: str) -> None:
    doc = {"type": kind, **ENVELOPE, **FULL[kind]}
    del doc[missing]
    with pytest.raises(EventValidationError) as exc:
        parse_event(json.dumps(doc))
    assert fields_of(exc) == {missing}


@pytest.mark.parametrize("kind", sorted(EVENT_TYPES))
def test_missing_required_payload_fields_are_named(kind: str) -> None:
    for field in REQUIRED_ONLY[kind]:
        body = {k: v for k, v in REQUIRED_ONLY[kind].items() if k != field}
        with pytest.raises(EventValidationError) as exc:
            parse_event(raw(kind, body))
        assert fields_of(exc) == {field}
        assert "required" in str(exc.value).lower()


@pytest.mark.parametrize("kind", sorted(EVENT_TYPES))
def test_wrong_type_names_the_field(kind: str) -> None:
    field, value = WRONG_TYPES[kind]
    with pytest.raises(EventValidationError) as exc:
        parse_event(raw(kind, {**FULL[kind], field: value}))
    assert fields_of(exc) == {field}


@pytest.mark.parametrize("kind", sorted(EVENT_TYPES))
def test_naive_datetime_is_rejected(kind: str) -> None:
    with pytest.raises(EventValidationError) as exc:
        parse_event(raw(kind, FULL[kind], occurred_at="2026-11-01T08:30:00"))
    assert fields_of(exc) == {"occurred_at"}
    assert "timezone" in str(exc.value)


def test_naive_due_at_is_rejected() -> None:
    with pytest.raises(EventValidationError) as exc:
        parse_event(raw("task_synced", {**FULL["task_synced"], "due_at": "2026-11-02T17:00:00"}))
    assert fields_of(exc) == {"due_at"}


def test_unknown_type_is_rejected_naming_type() -> None:
    with pytest.raises(EventValidationError) as exc:
        parse_event(raw("task_exploded", {}))
    assert fields_of(exc) == {"type"}
    assert "task_synced" in str(exc.value)


def test_missing_type_is_rejected_naming_type() -> None:
    with pytest.raises(EventValidationError) as exc:
        parse_event(json.dumps({**ENVELOPE, "platform": "ios"}))
    assert fields_of(exc) == {"type"}


def test_not_json_is_a_validation_error() -> None:
    with pytest.raises(EventValidationError) as exc:
        parse_event(b"{not json")
    assert "JSON" in str(exc.value)


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    event = parse_event(raw("app_opened", {**FULL["app_opened"], "screen": "home", "experiments": [1, 2]}))
    assert isinstance(event, AppOpened)
    assert "screen" not in event.model_dump()


def test_newer_schema_version_is_rejected_not_half_understood() -> None:
    with pytest.raises(EventValidationError) as exc:
        parse_event(raw("app_opened", FULL["app_opened"], schema_version=SCHEMA_VERSION + 1))
    assert fields_of(exc) == {"schema_version"}


@pytest.mark.parametrize("bad_id", ["", "has space", "x" * 129, "slash/inside"])
def test_ids_are_short_and_printable(bad_id: str) -> None:
    with pytest.raises(EventValidationError) as exc:
        parse_event(raw("app_opened", FULL["app_opened"], event_id=bad_id))
    assert fields_of(exc) == {"event_id"}


def test_propensity_must_be_a_probability() -> None:
    for bad in (0.0, 1.5, -0.1):
        with pytest.raises(EventValidationError) as exc:
            parse_event(raw("tip_shown", {**FULL["tip_shown"], "propensity": bad}))
        assert fields_of(exc) == {"propensity"}


def test_round_trip_through_the_wire_format() -> None:
    for kind in EVENT_TYPES:
        event = parse_event(raw(kind, FULL[kind]))
        assert parse_event(dump_event(event)) == event


def test_reward_semantics_of_reactions() -> None:
    assert {r for r in Reaction if r.is_positive} == {Reaction.LIKED, Reaction.ACTED}
    reaction = parse_event(raw("tip_reaction", FULL["tip_reaction"]))
    completed = parse_event(raw("task_completed", FULL["task_completed"]))
    assert isinstance(reaction, TipReaction) and reaction.reaction.is_positive
    assert isinstance(completed, TaskCompleted) and completed.on_time is True
