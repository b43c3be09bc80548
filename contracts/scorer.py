"""``tip-scorer`` request and response (KServe V1 protocol: ``instances`` in, ``predictions`` out)."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field

from contracts.events import Identifier
from contracts.profile import ProfileFeatures

MAX_CANDIDATES: Final = 100
MAX_INSTANCES: Final = 32


class ScorerInstance(BaseModel):
    """Rank ``candidates`` (tip ids) for one user."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: Identifier
    candidates: Annotated[list[Identifier], Field(min_length=1, max_length=MAX_CANDIDATES)]
    profile_features: ProfileFeatures | None = None
    request_id: Identifier | None = None
    """Optional caller-chosen id; one is generated when absent. It ties later reactions to this call."""


class ScorerRequest(BaseModel):
    """V1 ``:predict`` body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instances: Annotated[list[ScorerInstance], Field(min_length=1, max_length=MAX_INSTANCES)]


class ScoredTip(BaseModel):
    """One candidate and its score (probability of a positive reaction)."""

    tip_id: str
    score: float


class ScorerPrediction(BaseModel):
    """Candidates ranked, highest score first."""

    request_id: str
    model_version: str
    scores: list[ScoredTip]


class ScorerResponse(BaseModel):
    """V1 ``:predict`` response."""

    predictions: list[ScorerPrediction]
