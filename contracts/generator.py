"""``tip-generator`` request and response (KServe V1 protocol)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.enums import Platform
from contracts.events import Identifier
from contracts.profile import ProfileFeatures

MAX_INSTANCES: Final = 16
DEFAULT_PROMPT_VERSION: Final = "v1"

PromptVersionName = Annotated[
    str, StringConstraints(min_length=1, max_length=63, pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")
]
"""A stable prompt version string; also a valid Kubernetes object name."""


class GeneratorInstance(BaseModel):
    """Write one tip for a user, optionally about one task, optionally with a given prompt version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: Identifier
    task_id: Identifier | None = None
    prompt_version: PromptVersionName | None = None
    profile_features: ProfileFeatures | None = None
    request_id: Identifier | None = None
    platform: Platform | None = None
    """The app the tip will be shown in: a contextual bandit's segment (``segment_by: platform``)."""


class GeneratorRequest(BaseModel):
    """V1 ``:predict`` body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instances: Annotated[list[GeneratorInstance], Field(min_length=1, max_length=MAX_INSTANCES)]


class SelectionSource(StrEnum):
    """Where the prompt version came from, in precedence order."""

    REQUEST = "request"
    EXPERIMENT = "experiment"
    ENV = "env"
    DEFAULT = "default"


class Selection(BaseModel):
    """How the prompt version was chosen; ``propensity`` feeds off-policy evaluation."""

    source: SelectionSource
    arm: str | None = None
    """Experiment arm (or bandit arm) when ``source`` is ``experiment``."""
    experiment: str | None = None
    propensity: float = Field(default=1.0, ge=0.0, le=1.0)


class Usage(BaseModel):
    """Token usage as the LLM provider reported it."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class GeneratorPrediction(BaseModel):
    """One generated tip, with the prompt version actually used."""

    request_id: str
    text: str
    prompt_version: str
    model: str
    selection: Selection
    usage: Usage = Field(default_factory=Usage)
