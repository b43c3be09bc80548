"""Spec and status of the ``tipsml.io/v1alpha1`` custom resources: PromptVersion and ModelRollout.

The CRDs in ``manifests/crds/`` are generated from these models, so this is the one definition the API
server, the operator and the CLI share. Field names are camelCase on the wire, as Kubernetes expects.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import AliasGenerator, BaseModel, ConfigDict, Field, model_validator
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

SECRET_KEY_REF_PATTERN: Final = (
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/[-._a-zA-Z0-9]*[-_a-zA-Z0-9][-._a-zA-Z0-9]*$"
)
"""``<secret-name>/<key>``: a DNS-1123 Secret name and a Secret data key that is not ``.`` or ``..``.

Nothing else may name a file: the generator reads ``<secrets_dir>/<name>/<key>``, so a free-form string
(``x//etc/...``, ``../../token``) would turn a PromptVersion into a way to read any file in the Pod."""
SERVICE_NAME_PATTERN: Final = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
ROUTE_NAME_PATTERN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
"""An object name (DNS-1123 subdomain), as an HTTPRoute's."""
MAX_SERVICE_NAME_CHARS: Final = 56
"""An InferenceService name is a DNS-1035 label (63 characters); 7 are kept for the ``-shadow`` suffix."""
MAX_CANARY_WEIGHT: Final = 99
"""A canary step sends at most 99 %: 100 % is promotion, which only a passed analysis may reach."""
MAX_PAUSE_SECONDS: Final = 86_400
"""A canary step waits at most a day; a longer pause is a rollout that never ends."""
MAX_SHADOW_SECONDS: Final = 7 * 86_400
MIN_GATE_SAMPLES: Final = 30
"""Fewer samples than this make every gate a coin toss, so a phase cannot pass on a handful of requests."""
MAX_SAMPLES: Final = 10_000_000
MAX_ERROR_RATE_BOUND: Final = 0.2
"""The loosest error-rate gate a rollout may set: above a 20 % error rate nothing is being measured."""
MAX_P99_LATENCY_BOUND_MS: Final = 10_000.0
"""The loosest latency gate: 10 s, far above any timeout the recommender uses."""


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
    api_base: str | None = Field(default=None, max_length=300)
    """The provider's URL; the generator uses it only if the platform's allow-list names it exactly."""
    api_key_secret: str | None = Field(default=None, max_length=507, pattern=SECRET_KEY_REF_PATTERN)
    """A mounted Secret's key (``<secret-name>/<key>``) holding the provider's API key; never the key itself."""


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

    min_samples: int = Field(default=200, ge=MIN_GATE_SAMPLES, le=MAX_SAMPLES)
    max_psi: float = Field(default=0.2, gt=0.0, le=1.0)
    """Population stability index of challenger vs champion scores above which the rollout fails (PSI above
    0.25 is already a major shift, so 1 is the loosest gate that still means anything)."""
    min_rank_agreement: float = Field(default=0.5, ge=0.0, le=1.0)
    """Minimum mean Kendall tau between the two rankings of the same candidates; below 0 the challenger
    would be allowed to rank the opposite way to the champion, so 0 is the floor."""
    max_duration_seconds: int = Field(default=3600, ge=1, le=MAX_SHADOW_SECONDS)


class CanaryStep(CrdModel):
    """Send ``weight`` percent of traffic to the challenger, then analyse after ``pause_seconds``."""

    weight: int = Field(ge=1, le=MAX_CANARY_WEIGHT)
    pause_seconds: int = Field(default=300, ge=0, le=MAX_PAUSE_SECONDS)


class TrafficRouting(CrdModel):
    """Where a Standard-mode canary's share is set instead of by Pod counts: a Gateway API HTTPRoute."""

    http_route: str = Field(min_length=1, max_length=253, pattern=ROUTE_NAME_PATTERN)
    """An HTTPRoute in the rollout's namespace with a rule sending to the predictor's Service
    (``<inferenceService>-predictor``); the operator sets that rule's backend weights per step
    (``operators.canary_route``). Clients that reach the model through the Gateway get the weights."""


class CanarySpec(CrdModel):
    """Canary phase: stepped traffic with a reward non-inferiority gate at each step."""

    steps: list[CanaryStep] = Field(
        default_factory=lambda: [CanaryStep(weight=10), CanaryStep(weight=50)], min_length=1, max_length=10
    )
    min_samples: int = Field(default=200, ge=MIN_GATE_SAMPLES, le=MAX_SAMPLES)
    reward_margin: float = Field(default=0.02, ge=0.0, le=1.0)
    """Non-inferiority margin: the challenger's reward rate may be at most this much below the champion's."""
    max_step_seconds: int = Field(default=3600, ge=1, le=MAX_SHADOW_SECONDS)
    """How long one step may wait before the rollout fails: for its split to serve (``CanaryNotServing``), then,
    after its ``pauseSeconds``, for enough data to decide (``AnalysisTimeout``)."""
    reward_confidence: float = Field(default=0.95, ge=0.5, lt=1.0)
    """One-sided confidence of the reward gate. A step passes once the challenger is shown, at this confidence,
    to be no more than ``reward_margin`` below the champion; it fails only once it is shown, at the same
    confidence, to be more than that below; in between it waits for more samples (and times out like any
    other wait). Comparing point estimates instead would fail an equal model about half the time at a small
    margin. The samples needed grow as the margin shrinks: an equal model typically passes after about
    ``2 * p(1-p) * (1.645 / margin)^2`` rewarded samples a side at 0.95 with both rates near ``p``; at rates
    near 0.5 that is ~60 at a margin of 0.15, ~1,100 at 0.035 and ~3,400 at 0.02."""
    traffic_routing: TrafficRouting | None = None
    """In KServe Standard mode: split by an HTTPRoute's weights. Without it Standard mode splits by replica
    ratio (``operators.canary_split``); Serverless mode always uses Knative's ``canaryTrafficPercent``."""

    @model_validator(mode="after")
    def _steps_increase(self) -> CanarySpec:
        weights = [s.weight for s in self.steps]
        if any(b <= a for a, b in zip(weights, weights[1:], strict=False)):
            raise ValueError(f"canary step weights must strictly increase, got {weights}")
        return self


class Gates(CrdModel):
    """Gates applied in every phase."""

    max_error_rate: float = Field(default=0.01, ge=0.0, le=MAX_ERROR_RATE_BOUND)
    max_p99_latency_ms: float = Field(default=50.0, gt=0.0, le=MAX_P99_LATENCY_BOUND_MS)


class ModelRolloutSpec(CrdModel):
    """Roll ``candidate`` out on ``inference_service``: shadow, canary steps, then promote or roll back."""

    model_name: str = Field(default=SCORER_MODEL, min_length=1, max_length=200)
    inference_service: str = Field(
        default=SCORER_MODEL, min_length=1, max_length=MAX_SERVICE_NAME_CHARS, pattern=SERVICE_NAME_PATTERN
    )
    candidate: ModelRef
    baseline: ModelRef | None = None
    """The champion at the time of proposal; filled by the operator when absent."""
    shadow: ShadowSpec = Field(default_factory=ShadowSpec)
    canary: CanarySpec = Field(default_factory=CanarySpec)
    gates: Gates = Field(default_factory=Gates)
    paused: bool = False
    abort: bool = False

    @model_validator(mode="after")
    def _candidate_is_not_baseline(self) -> ModelRolloutSpec:
        if self.baseline is not None and self.baseline.version == self.candidate.version:
            raise ValueError(f"candidate.version {self.candidate.version!r} equals baseline.version")
        return self


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
    traffic_mechanism: str | None = None
    """How canary traffic is split on this InferenceService, read from its KServe deployment mode when the rollout
    starts (e.g. ``Serverless: Knative revisions, canaryTrafficPercent``); a mode that cannot split fails it."""
