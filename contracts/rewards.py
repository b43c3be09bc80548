"""Rewards: one shown tip and the reaction it got, attributed to the model and prompt version behind it.

Written by the stream consumers (``experiments.reward_log``), read by the generator's bandits, the operator's
canary gate and ``tipsml report rewards``. The reward is derived, never sent: 1 when the latest reaction is
positive (:attr:`contracts.enums.Reaction.is_positive`), else 0 (no reaction yet counts as 0).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, computed_field

from contracts.enums import Reaction, TaskCategory


class RewardRecord(BaseModel):
    """A tip shown under ``request_id`` and its reaction, if any."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str
    user_id: str
    tip_id: str
    category: TaskCategory
    model_version: str
    prompt_version: str | None = None
    """None for catalogue tips that no prompt wrote."""
    propensity: float = Field(default=1.0, gt=0.0, le=1.0)
    shown_at: AwareDatetime
    reaction: Reaction | None = None
    reacted_at: AwareDatetime | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reward(self) -> int:
        """1 for a positive reaction, 0 otherwise (including no reaction yet)."""
        return int(self.reaction is not None and self.reaction.is_positive)


class RewardAggregate(BaseModel):
    """Counts for one bucket (a prompt version or a model version)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str | None
    """The bucket's value; None groups catalogue tips when bucketing by prompt version."""
    shown: int = Field(ge=0)
    positive: int = Field(ge=0)
    reacted: int = Field(default=0, ge=0)
    first_shown_at: datetime | None = None
    last_shown_at: datetime | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rate(self) -> float:
        """Positive share of shown tips; 0.0 for an empty bucket."""
        return self.positive / self.shown if self.shown else 0.0
