"""Deterministic A/B assignment: the same user always lands in the same arm for a given salt.

The hash is SHA-256 of ``salt + ":" + user_id`` mapped to [0, 1), so assignment needs no state, survives
restarts and replicas, and a user's arm changes only when the salt or the weights do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from experiments.config import ABArm

_SCALE = float(1 << 64)


@dataclass(frozen=True, slots=True)
class Assignment:
    """The arm a user was assigned and the share of users that arm receives (the logging propensity)."""

    arm: str
    propensity: float
    bucket: float


def hash_unit(salt: str, user_id: str) -> float:
    """A uniform number in [0, 1) fixed by ``salt`` and ``user_id``."""
    digest = hashlib.sha256(f"{salt}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def assign(salt: str, user_id: str, arms: Sequence[ABArm]) -> Assignment:
    """Pick ``user_id``'s arm by weight; arms keep their order so adding one at the end moves few users."""
    if not arms:
        raise ValueError("an A/B experiment needs at least one arm")
    total = sum(a.weight for a in arms)
    bucket = hash_unit(salt, user_id)
    edge = 0.0
    for arm in arms:
        edge += arm.weight / total
        if bucket < edge:
            return Assignment(arm.prompt_version, arm.weight / total, bucket)
    last = arms[-1]
    return Assignment(last.prompt_version, last.weight / total, bucket)
