"""Events the app publishes on ``signals.>`` and ``feedback.>``.

Envelope: ``event_id`` (also the ``Nats-Msg-Id`` header, so JetStream drops re-publishes inside its
duplicate window), ``type`` (the discriminator), ``occurred_at`` (timezone-aware), ``user_id`` and
``schema_version``.

Compatibility policy (tested in ``tests/unit/contracts``):

* Unknown fields are ignored (tolerant reader). Producers may add optional fields without a version bump;
  old consumers keep working and the raw bytes stay in the offline event log.
* Removing or retyping a field is a breaking change: it bumps ``SCHEMA_VERSION``. An event whose
  ``schema_version`` is newer than this code knows is rejected (and so dead-lettered with the reason),
  never half-understood.
* An unknown ``type`` is rejected: a new event type needs a contract change first.
* ``schema_version`` is strictly a JSON integer (``true`` and ``"1"`` are rejected): a producer that sends
  anything else has a bug worth seeing in the dead-letter stream.
* ``occurred_at`` lies in ``[OCCURRED_AT_MIN, now + OCCURRED_AT_MAX_AHEAD]`` and ``due_at`` in
  ``[OCCURRED_AT_MIN, DUE_AT_MAX]``: timestamps outside overflow the writer's UTC conversion (year 1 or 9999 with
  an offset) or create absurd event-log partitions (``date=1970-01-01``), so they are rejected here with the
  bound in the reason, not discovered by the writer.
* The body's ``type`` must match the subject it was published on (:func:`parse_event_on`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, ClassVar, Final, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from contracts.enums import Platform, Reaction, TaskCategory, TaskPriority, TaskStatus
from contracts.profile import ProfileFeatures
from contracts.validation import FieldError, field_errors

SCHEMA_VERSION: Final = 1

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")]
"""Ids are opaque, printable and short: they travel in subjects, headers and logs."""

Probability = Annotated[float, Field(gt=0.0, le=1.0)]

OCCURRED_AT_MIN: Final = datetime(2000, 1, 1, tzinfo=UTC)
"""Earliest accepted timestamp: older than the app, so anything before is a broken clock or a forged event."""
OCCURRED_AT_MAX_AHEAD: Final = timedelta(days=1)
"""How far ``occurred_at`` may lie ahead of the consumer's clock: device clock skew, never a scheduled event."""
DUE_AT_MAX: Final = datetime(2200, 1, 1, tzinfo=UTC)
"""Latest accepted due date: far enough for any real plan, early enough that UTC conversion cannot overflow."""


def _occurred_in_range(value: datetime) -> datetime:
    latest = datetime.now(UTC) + OCCURRED_AT_MAX_AHEAD
    if not OCCURRED_AT_MIN <= value <= latest:
        raise ValueError(
            f"must lie between {OCCURRED_AT_MIN.isoformat()} and now + {OCCURRED_AT_MAX_AHEAD.days} day"
            f" ({latest.replace(microsecond=0).isoformat()})"
        )
    return value


def _due_in_range(value: datetime) -> datetime:
    if not OCCURRED_AT_MIN <= value <= DUE_AT_MAX:
        raise ValueError(f"must lie between {OCCURRED_AT_MIN.isoformat()} and {DUE_AT_MAX.isoformat()}")
    return value


OccurredAt = Annotated[AwareDatetime, AfterValidator(_occurred_in_range)]
"""When it happened, bounded (see the module docstring)."""
DueAt = Annotated[AwareDatetime, AfterValidator(_due_in_range)]


class EventBase(BaseModel):
    """Envelope shared by every event."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    family: ClassVar[str]
    """First subject token: ``signals`` or ``feedback``."""

    event_id: Identifier
    occurred_at: OccurredAt
    user_id: Identifier
    schema_version: int = Field(default=SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION, strict=True)

    @property
    def subject(self) -> str:
        """Subject this event is published on, e.g. ``signals.task_synced``."""
        event_type: str = getattr(self, "type")  # noqa: B009 - every concrete event declares it
        return f"{self.family}.{event_type}"


class TaskSynced(EventBase):
    """A task was created or changed; carries the task's full current state (last writer wins)."""

    family: ClassVar[str] = "signals"
    type: Literal["task_synced"] = "task_synced"
    task_id: Identifier
    status: TaskStatus
    priority: TaskPriority = TaskPriority.MEDIUM
    category: TaskCategory
    title: Annotated[str, StringConstraints(max_length=500)] | None = None
    """Personal data: used in prompts, never logged."""
    due_at: DueAt | None = None
    estimated_minutes: Annotated[int, Field(ge=0, le=7 * 24 * 60)] | None = None


class TaskCompleted(EventBase):
    """A task was marked done."""

    family: ClassVar[str] = "signals"
    type: Literal["task_completed"] = "task_completed"
    task_id: Identifier
    category: TaskCategory
    on_time: bool | None = None
    """Whether it was done before its due date; None when it had none."""


class AppOpened(EventBase):
    """The user opened the app: the activity signal behind preferred hour and active days."""

    family: ClassVar[str] = "signals"
    type: Literal["app_opened"] = "app_opened"
    platform: Platform
    tz_offset_minutes: Annotated[int, Field(ge=-14 * 60, le=14 * 60)] = 0
    """The device's UTC offset, so the local hour can be derived without a timezone database."""
    app_version: Annotated[str, StringConstraints(max_length=32)] | None = None


class TipShown(EventBase):
    """A tip was shown; ``request_id`` ties it to the scorer/generator call that produced it."""

    family: ClassVar[str] = "feedback"
    type: Literal["tip_shown"] = "tip_shown"
    request_id: Identifier
    tip_id: Identifier
    category: TaskCategory
    model_version: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    prompt_version: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    """None for catalogue tips that no prompt wrote."""
    propensity: Probability = 1.0
    """Probability the serving policy had of showing this tip: what off-policy estimators divide by."""
    position: Annotated[int, Field(ge=0, le=100)] = 0
    platform: Platform | None = None
    profile_features: ProfileFeatures | None = None
    """The ``profile_features`` the recommender sent with the scoring request that chose this tip, so
    training sees the values serving saw. Optional (older producers leave it out); names this side does
    not know are dropped, a known name of the wrong type rejects the event naming the field."""


class TipReaction(EventBase):
    """The user reacted to a shown tip."""

    family: ClassVar[str] = "feedback"
    type: Literal["tip_reaction"] = "tip_reaction"
    request_id: Identifier
    tip_id: Identifier
    reaction: Reaction
    model_version: Annotated[str, StringConstraints(max_length=64)] | None = None
    prompt_version: Annotated[str, StringConstraints(max_length=64)] | None = None


Event = Annotated[
    TaskSynced | TaskCompleted | AppOpened | TipShown | TipReaction,
    Field(discriminator="type"),
]
"""Every event, discriminated on ``type``."""

EVENT_TYPES: Final[dict[str, type[EventBase]]] = {
    "task_synced": TaskSynced,
    "task_completed": TaskCompleted,
    "app_opened": AppOpened,
    "tip_shown": TipShown,
    "tip_reaction": TipReaction,
}

EVENT_ADAPTER: Final[TypeAdapter[Event]] = TypeAdapter(Event)


class EventValidationError(ValueError):
    """An event failed its contract; ``errors`` name each offending field."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def parse_event(raw: bytes | str) -> Event:
    """Parse and validate one JSON event.

    Raises:
        EventValidationError: the payload is not valid JSON or breaks the contract.
    """
    try:
        return EVENT_ADAPTER.validate_json(raw)
    except ValidationError as e:
        raise EventValidationError(field_errors(e, union_tags=EVENT_TYPES)) from e


def parse_event_on(raw: bytes | str, subject: str) -> Event:
    """Parse an event received on ``subject`` and check the body's ``type`` belongs there.

    A ``tip_shown`` published on ``signals.app_opened`` would otherwise reach the reward log through a subject
    that permissions, filters and dashboards treat as app activity.

    Raises:
        EventValidationError: as :func:`parse_event`, or the ``type`` does not match the subject.
    """
    event = parse_event(raw)
    if event.subject != subject:
        raise EventValidationError(
            [FieldError("type", f"'{event.type}' does not match subject '{subject}' (expected '{event.subject}')")]
        )
    return event


def parse_event_obj(obj: object) -> Event:
    """Like :func:`parse_event` for an already-decoded object (simulator, tests)."""
    try:
        return EVENT_ADAPTER.validate_python(obj)
    except ValidationError as e:
        raise EventValidationError(field_errors(e, union_tags=EVENT_TYPES)) from e


def dump_event(event: EventBase) -> bytes:
    """Serialize an event the way it travels on the wire (JSON, ISO-8601 timestamps)."""
    return event.model_dump_json().encode()
