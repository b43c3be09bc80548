"""The active experiment over prompt versions: an A/B split or a bandit policy.

A small JSON file (``experiment.json``) names at most one active experiment; the generator reads it (and
re-reads it when it changes) and consults it after the request's own ``prompt_version``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.generator import PromptVersionName


class ABArm(BaseModel):
    """One arm of an A/B test: a prompt version and its share of users."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt_version: PromptVersionName
    weight: float = Field(gt=0.0)


class ABExperiment(BaseModel):
    """Sticky, weighted split of users by ``hash(salt + user_id)``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["ab"] = "ab"
    name: str = Field(min_length=1, max_length=63)
    salt: str = Field(min_length=1, max_length=200)
    """Changing the salt reshuffles users; keep it fixed for the experiment's life."""
    arms: list[ABArm] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _distinct_arms(self) -> ABExperiment:
        names = [a.prompt_version for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError("arms must name distinct prompt versions")
        return self


class BanditAlgorithm(StrEnum):
    """Supported bandit policies."""

    THOMPSON = "thompson"
    UCB1 = "ucb1"
    EPSILON_GREEDY = "epsilon_greedy"
    UNIFORM = "uniform"
    SEGMENT_THOMPSON = "segment_thompson"
    """Thompson sampling per user segment (:class:`experiments.bandits.SegmentThompsonSampling`)."""


class SegmentBy(StrEnum):
    """What a contextual policy's segment is: read from the generator request, and from the reward log."""

    PLATFORM = "platform"
    """The app the tip is shown in (the request's and the ``tip_shown``'s ``platform``)."""
    TENURE = "tenure"
    """``new`` below :data:`NEW_USER_DAYS` of tenure, else ``tenured`` (``profile_features.tenure_days``)."""


NEW_USER_DAYS = 30
UNKNOWN_SEGMENT = "unknown"
"""The segment of a request (or impression) that does not say its platform or tenure."""


def segment_of(segment_by: SegmentBy, platform: str | None, tenure_days: int | None) -> str:
    """The segment of one request or impression; the reward log's SQL buckets by the same rule."""
    if segment_by is SegmentBy.PLATFORM:
        return platform or UNKNOWN_SEGMENT
    if tenure_days is None:
        return UNKNOWN_SEGMENT
    return "new" if tenure_days < NEW_USER_DAYS else "tenured"


class BanditExperiment(BaseModel):
    """A bandit over prompt versions, learning from the reward log."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["bandit"] = "bandit"
    name: str = Field(min_length=1, max_length=63)
    algorithm: BanditAlgorithm = BanditAlgorithm.THOMPSON
    arms: list[PromptVersionName] = Field(min_length=1, max_length=20)
    epsilon: float = Field(default=0.1, ge=0.0, le=1.0)
    """Exploration share of epsilon-greedy."""
    prior_alpha: float = Field(default=1.0, gt=0.0)
    prior_beta: float = Field(default=1.0, gt=0.0)
    segment_by: SegmentBy = SegmentBy.PLATFORM
    """The context of ``segment_thompson`` (ignored by the context-free algorithms)."""
    pool_strength: float = Field(default=1e6, ge=0.0)
    """At most this many pseudo-observations a segment borrows from the others per arm (``segment_thompson``)."""
    refresh_seconds: float = Field(default=30.0, gt=0.0)
    """How often the generator re-reads reward counts from the reward log."""

    @model_validator(mode="after")
    def _distinct_arms(self) -> BanditExperiment:
        if len(set(self.arms)) != len(self.arms):
            raise ValueError("arms must be distinct prompt versions")
        return self


Experiment = Annotated[ABExperiment | BanditExperiment, Field(discriminator="kind")]


class ExperimentFile(BaseModel):
    """Contents of ``experiment.json``; ``active: null`` (or no file) means no experiment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    active: Experiment | None = None
