"""Kubernetes-style status conditions: set one, keeping its transition time when nothing changed."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from contracts.crds import Condition

ConditionStatus = Literal["True", "False", "Unknown"]


def set_condition(
    conditions: list[Condition],
    type_: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    *,
    now: datetime,
    generation: int | None,
) -> list[Condition]:
    """A new list with ``type_`` set; ``lastTransitionTime`` moves only when the status flips."""
    previous = next((c for c in conditions if c.type == type_), None)
    since = previous.last_transition_time if previous is not None and previous.status == status else now
    updated = Condition(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=since,
        observed_generation=generation,
    )
    return [*(c for c in conditions if c.type != type_), updated]


def condition_is(conditions: list[Condition], type_: str, status: ConditionStatus) -> bool:
    """Whether ``type_`` is present with ``status``."""
    return any(c.type == type_ and c.status == status for c in conditions)
