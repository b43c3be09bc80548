"""Hypothesis strategies for events as a producer sends them: valid ones, and ones broken on one named field.

A plain module (the test tree has no packages). Each drawn :class:`Sent` knows whether it is valid and, when
not, which field the dead-letter reason must name; event ids are unique across a run (JetStream remembers
``Nats-Msg-Id`` for an hour).
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from contracts.enums import Platform, Reaction, TaskCategory, TaskPriority, TaskStatus

_IDS = itertools.count(int(time.time() * 1000) * 100)
NOW = datetime.now(UTC)
ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@-"

ids = st.text(ID_ALPHABET, min_size=1, max_size=40)
times = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=(NOW - timedelta(hours=3)).replace(tzinfo=None),
    timezones=st.sampled_from([timezone(timedelta(minutes=m)) for m in (-14 * 60, -300, 0, 60, 330, 14 * 60)]),
)
offsets = st.integers(-14 * 60, 14 * 60)
short = st.text(max_size=64).filter(lambda s: len(s) >= 1)


def _iso(dt: datetime) -> str:
    return dt.isoformat()


OPTIONAL: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "task_synced": {
        "priority": st.sampled_from([p.value for p in TaskPriority]),
        "title": st.one_of(st.none(), st.text(max_size=500)),
        "due_at": st.one_of(st.none(), times.map(_iso)),
        "estimated_minutes": st.one_of(st.none(), st.integers(0, 7 * 24 * 60)),
    },
    "task_completed": {"on_time": st.one_of(st.none(), st.booleans())},
    "app_opened": {
        "tz_offset_minutes": offsets,
        "app_version": st.one_of(st.none(), st.text(max_size=32)),
    },
    "tip_shown": {
        "prompt_version": st.one_of(st.none(), st.text(min_size=1, max_size=64)),
        "propensity": st.floats(min_value=1e-6, max_value=1.0),
        "position": st.integers(0, 100),
        "platform": st.one_of(st.none(), st.sampled_from([p.value for p in Platform])),
    },
    "tip_reaction": {
        "model_version": st.one_of(st.none(), st.text(max_size=64)),
        "prompt_version": st.one_of(st.none(), st.text(max_size=64)),
    },
}
REQUIRED: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "task_synced": {
        "task_id": ids,
        "status": st.sampled_from([s.value for s in TaskStatus]),
        "category": st.sampled_from([c.value for c in TaskCategory]),
    },
    "task_completed": {"task_id": ids, "category": st.sampled_from([c.value for c in TaskCategory])},
    "app_opened": {"platform": st.sampled_from([p.value for p in Platform])},
    "tip_shown": {
        "request_id": ids, "tip_id": ids, "category": st.sampled_from([c.value for c in TaskCategory]),
        "model_version": short,
    },
    "tip_reaction": {"request_id": ids, "tip_id": ids, "reaction": st.sampled_from([r.value for r in Reaction])},
}
KINDS = tuple(REQUIRED)
FAMILY = {k: "feedback" if k.startswith("tip_") else "signals" for k in KINDS}

BREAKS: dict[str, st.SearchStrategy[Any]] = {
    "occurred_at": st.sampled_from(
        ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1970-01-01T00:00:00Z", "2025-01-01T00:00:00",
         "yesterday", 0, None]
    ),
    "user_id": st.sampled_from(["", "has space", "x" * 129, 7, None, "ü"]),
    "schema_version": st.sampled_from([True, "1", 1.5, 0, 99, None]),
}
"""Envelope fields and values that each break the contract on that field."""
TYPE_BREAKS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "task_synced": {"status": st.sampled_from(["", "closed", 3]), "estimated_minutes": st.sampled_from([-1, "x"])},
    "task_completed": {"on_time": st.sampled_from(["perhaps", 2])},
    "app_opened": {"tz_offset_minutes": st.sampled_from([841, -841, "UTC"]), "platform": st.just("symbian")},
    "tip_shown": {"propensity": st.sampled_from([0, -0.1, 1.5, "high"]), "position": st.sampled_from([-1, 101])},
    "tip_reaction": {"reaction": st.sampled_from(["loved", None])},
}


@dataclass(frozen=True)
class Sent:
    """One message as published: subject, bytes, id, and what must happen to it."""

    subject: str
    body: bytes
    msg_id: str
    valid: bool
    field: str | None = None
    """The field a dead-letter reason must name (None for a valid event)."""


@st.composite
def valid_events(draw: st.DrawFn, kind: str | None = None) -> dict[str, Any]:
    """A valid event of ``kind`` (or any), optional fields present or left out at random."""
    kind = kind or draw(st.sampled_from(KINDS))
    body: dict[str, Any] = {
        "event_id": f"fz-{next(_IDS)}", "type": kind, "occurred_at": _iso(draw(times)), "user_id": draw(ids),
    }
    body.update({name: draw(s) for name, s in REQUIRED[kind].items()})
    for name, s in OPTIONAL[kind].items():
        if draw(st.booleans()):
            body[name] = draw(s)
    if draw(st.booleans()):
        body["schema_version"] = 1
    if draw(st.integers(0, 9)) == 0:
        body["x_unknown"] = draw(st.text(max_size=20))  # tolerant reader
    return body


@st.composite
def sent_events(draw: st.DrawFn) -> Sent:
    """A valid event, or one broken on exactly one field (or its subject, or not JSON at all)."""
    body = draw(valid_events())
    kind = body["type"]
    subject = f"{FAMILY[kind]}.{kind}"
    how = draw(st.sampled_from(["valid", "valid", "valid", "envelope", "field", "missing", "subject", "garbage"]))
    if how == "valid":
        return Sent(subject, json.dumps(body).encode(), body["event_id"], True)
    if how == "envelope":
        name = draw(st.sampled_from(sorted(BREAKS)))
        body[name] = draw(BREAKS[name])
    elif how == "field":
        name = draw(st.sampled_from(sorted(TYPE_BREAKS[kind])))
        body[name] = draw(TYPE_BREAKS[kind][name])
    elif how == "missing":
        name = draw(st.sampled_from(sorted(REQUIRED[kind])))
        del body[name]
    elif how == "subject":
        other = draw(st.sampled_from([k for k in KINDS if k != kind]))
        subject, name = f"{FAMILY[other]}.{other}", "type"
    else:
        raw = draw(st.sampled_from([b"{not json", b"", b"[]", b"null", b'{"type": "app_opened"']))
        return Sent(subject, raw, body["event_id"], False, "")
    return Sent(subject, json.dumps(body).encode(), body["event_id"], False, name)
