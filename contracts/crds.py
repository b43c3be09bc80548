"""Spec and status of the ``tipsml.io/v1alpha1`` custom resources: PromptVersion and ModelRollout.

The CRDs in ``manifests/crds/`` are generated from these models, so this is the one definition the API
server, the operator and the CLI share. Field names are camelCase on the wire, as Kubernetes expects.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import AliasGenerator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from contracts.generator import PromptVersionName
from contracts.names import SCORER_MODEL

GROUP: Final = "tipsml.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
PROMPT_VERSION_KIND: Final = "PromptVersion"
PROMPT_VERSION_PLURAL: Final = "promptversions"
MODEL_ROLLOUT_KIND: Final = "ModelRollout"
MODEL_ROLLOUT_PLURAL: Final = "modelrollouts"
MAX_TEMPLATE_CHARS: Final = 8000


class CrdModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields rejected (the API server prunes too)."""

    model_config = ConfigDict(
        alias_generator=AliasGenerator(alias=to_camel),
        populate_by_name=True,
        extra="forbid",
    )


class Condition(CrdModel):
    """A Kubernetes-style status condition."""

    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str = ""
    message: str = ""
    last_transition_time: datetime | None = None
    observed_generation: int | None = None


# --- PromptVersion ---------------------------------------------------------------------------------


class ModelConfig(CrdModel):
    """LLM call settings for a prompt version; ``model`` is any LiteLLM model string."""

    model: str = Field(default="tipsml/offline", min_length=1, max_length=200)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    max_tokens: int = Field(default=120, ge=1, le=2048)
    timeout_seconds: float = Field(default=10.0, gt=0.0, le=120.0)
    retries: int = Field(default=2, ge=0, le=5)
    fallbacks: list[str] = Field(default_factory=list, max_length=5)
    """Other LiteLLM model strings tried in order when ``model`` fails."""
    api_base: str | None = None
    api_key_secret: str | None = None
    """Name of a Secret key (``secret/key``) holding the provider's API key; never the key itself."""


class PromptVersionSpec(CrdModel):
    """A prompt template, immutable once created (change = new version)."""

    version: PromptVersionName
    template: str = Field(min_length=1, max_length=MAX_TEMPLATE_CHARS)
    system: str = Field(default="", max_length=MAX_TEMPLATE_CHARS)
    model: ModelConfig = Field(default_factory=ModelConfig)
    description: str = Field(default="", max_length=500)
    default: bool = False
    """The version used when neither request nor experiment picks one; it cannot be deleted while default."""
    max_output_chars: int = Field(default=400, ge=20, le=4000)


class PromptPhase(StrEnum):
    """Lifecycle of a PromptVersion."""

    PENDING = "Pending"
    READY = "Ready"
    INVALID = "Invalid"


class PromptVersionStatus(CrdModel):
    """What the operator observed and did."""

    phase: PromptPhase = PromptPhase.PENDING
    content_hash: str | None = None
    observed_generation: int | None = None
    published_at: datetime | None = None
    message: str = ""
    conditions: list[Condition] = Field(default_factory=list)


# --- ModelRollout ----------------------------------------------------------------------------------


class ModelRef(CrdModel):
    """A registered model version, optionally with the storage URI KServe loads it from."""

    version: str = Field(min_length=1, max_length=64)
    storage_uri: str | None = None


class ShadowSpec(CrdModel):
    """Shadow phase: the challenger sees mirrored traffic; nothing it returns reaches users."""

    min_samples: int = Field(default=200, ge=1)
    max_psi: float = Field(default=0.2, gt=0.0)
    """Population stability index of challenger vs champion scores above which the rollout fails."""
    min_rank_agreement: float = Field(default=0.5, ge=-1.0, le=1.0)
    """Minimum mean Kendall tau between the two rankings of the same candidates."""
    max_duration_seconds: int = Field(default=3600, ge=1)


class CanaryStep(CrdModel):
    """Send ``weight`` percent of traffic to the challenger, then analyse after ``pause_seconds``."""

    weight: int = Field(ge=1, le=100)
    pause_seconds: int = Field(default=300, ge=0)


class CanarySpec(CrdModel):
    """Canary phase: stepped traffic with a reward non-inferiority gate at each step."""

    steps: list[CanaryStep] = Field(
        default_factory=lambda: [CanaryStep(weight=10), CanaryStep(weight=50)], min_length=1, max_length=10
    )
    min_samples: int = Field(default=200, ge=1)
    reward_margin: float = Field(default=0.02, ge=0.0, le=1.0)
    """Non-inferiority margin: the challenger's reward rate may be at most this much below the champion's."""


class Gates(CrdModel):
    """Gates applied in every phase."""

    max_error_rate: float = Field(default=0.01, ge=0.0, le=1.0)
    max_p99_latency_ms: float = Field(default=50.0, gt=0.0)


class ModelRolloutSpec(CrdModel):
    """Roll ``candidate`` out on ``inference_service``: shadow, canary steps, then promote or roll back."""

    model_name: str = Field(default=SCORER_MODEL, min_length=1)
    inference_service: str = Field(default=SCORER_MODEL, min_length=1)
    candidate: ModelRef
    baseline: ModelRef | None = None
    """The champion at the time of proposal; filled by the operator when absent."""
    shadow: ShadowSpec = Field(default_factory=ShadowSpec)
    canary: CanarySpec = Field(default_factory=CanarySpec)
    gates: Gates = Field(default_factory=Gates)
    paused: bool = False
    abort: bool = False


class RolloutPhase(StrEnum):
    """Pending → Shadow → Canary → Promoted | RolledBack | Failed."""

    PENDING = "Pending"
    SHADOW = "Shadow"
    CANARY = "Canary"
    PROMOTED = "Promoted"
    ROLLED_BACK = "RolledBack"
    FAILED = "Failed"

    @property
    def is_terminal(self) -> bool:
        """No further transitions happen from here."""
        return self in (RolloutPhase.PROMOTED, RolloutPhase.ROLLED_BACK, RolloutPhase.FAILED)


class AnalysisResult(CrdModel):
    """One gate evaluation."""

    phase: RolloutPhase
    step: int = 0
    passed: bool
    samples: int = 0
    metrics: dict[str, float] = Field(default_factory=dict)
    reasons: list[str] = Field(default_factory=list)
    time: datetime | None = None


MAX_ROLLOUT_HISTORY: Final = 100
"""Transitions kept in a rollout's status (the oldest are dropped): bounds the object's size in etcd."""


class RolloutHistoryEntry(CrdModel):
    """A transition, kept in status and appended to the model card."""

    time: datetime
    from_phase: RolloutPhase
    to_phase: RolloutPhase
    traffic_percent: int = 0
    reason: str = ""


class ModelRolloutStatus(CrdModel):
    """Where the rollout is; enough to resume after an operator restart."""

    phase: RolloutPhase = RolloutPhase.PENDING
    current_step: int = 0
    traffic_percent: int = Field(default=0, ge=0, le=100)
    step_started_at: datetime | None = None
    previous_champion: str | None = None
    last_analysis: AnalysisResult | None = None
    history: Annotated[list[RolloutHistoryEntry], Field(max_length=MAX_ROLLOUT_HISTORY)] = Field(default_factory=list)
    observed_generation: int | None = None
    message: str = ""
    conditions: list[Condition] = Field(default_factory=list)
