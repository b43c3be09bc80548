"""Settings of the tip scorer, read once in ``__main__`` (env prefix ``TIPSML_``) and passed down."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.local_state import LocalState
from contracts.names import CHAMPION_ALIAS, SCORER_MODEL
from contracts.scorer import MAX_CANDIDATES
from predictors.common.limits import DEFAULT_MAX_REQUEST_BYTES

MODEL_NAME = SCORER_MODEL


class Role(StrEnum):
    """``serving`` answers the recommender; ``shadow`` gets mirrored traffic whose answers are discarded."""

    SERVING = "serving"
    SHADOW = "shadow"


class ScorerSettings(BaseSettings):
    """Everything the scorer process needs; nothing else reads the environment."""

    model_config = SettingsConfigDict(env_prefix="TIPSML_", extra="ignore")

    role: Role = Role.SERVING
    """A shadow gets mirrored traffic whose answers are discarded. The request path writes nothing and emits
    no events in either role (a test proves a shadow leaves the state untouched); the role labels metrics."""

    model_uri: str = f"models:/{SCORER_MODEL}@{CHAMPION_ALIAS}"
    """``models:/<name>@<alias>`` or ``models:/<name>/<version>`` from the MLflow registry, or a local
    MLflow model directory (what KServe's storage initializer mounts at ``/mnt/models``)."""

    model_version: str | None = None
    """Overrides the reported ``model_version`` (for a storage URI without ``registered_model_meta``)."""

    mlflow_tracking_uri: str | None = None
    """MLflow tracking/registry URI; the local ``.tipsml/mlflow.db`` when unset."""

    state_dir: Path = LocalState().root
    """Local state root (``.tipsml/``): Feast's SQLite online store and registry live under it."""

    feast_config: Path | None = None
    """A ``feature_store.yaml`` (production: Redis online store); when unset, the local config under
    ``state_dir`` built by ``feature_repo``."""

    feature_transform: Literal["in_process", "feast"] = "in_process"
    """Who runs the ``scoring_inputs`` on-demand view: this process (same function, ~3x faster) or Feast."""

    metrics_role: Literal["champion", "canary", "shadow"] | None = None
    """``role`` label on the serving metrics; defaults to ``shadow`` for a shadow, else ``champion``."""

    shadow_pending_max: Annotated[int, Field(ge=1)] = 10_000
    """Shadow role: most mirrored requests or responses kept waiting for their other half (oldest dropped
    first and counted; a few KB each)."""

    shadow_pending_ttl_s: Annotated[float, Field(gt=0)] = 30.0
    """Shadow role: how long a mirrored request or response waits for its other half before it is dropped."""

    max_candidates: Annotated[int, Field(ge=1, le=MAX_CANDIDATES)] = MAX_CANDIDATES
    """Requests with more candidates per instance get a 400."""

    max_request_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = DEFAULT_MAX_REQUEST_BYTES
    """Largest request body (``TIPSML_MAX_REQUEST_BYTES``, default 1 MiB); a larger one is a 413 before parsing."""

    http_port: Annotated[int, Field(ge=1, le=65535)] = 8080

    kserve_agent: str | None = None
    """The Pod's ``internal.serving.kserve.io/logger`` annotation (the chart passes it by the Downward API):
    unset outside KServe; empty in a Pod KServe gave no agent sidecar; set where the agent runs.

    With a logger, KServe points the predictor Service at the agent's port (``kserve_agent_port``) the moment
    the InferenceService changes, while the Pods without an agent are still being replaced, and their new
    connections were refused for the whole roll (half of them, measured on the test cluster). So a scorer in
    a Pod without an agent also answers on the agent's port; where the agent runs, the port is the agent's."""

    kserve_agent_port: Annotated[int, Field(ge=1, le=65535)] = 9081
    """KServe's agent port (``InferenceServiceDefaultAgentPort``, 9081 in KServe v0.20)."""

    workers: Annotated[int, Field(ge=1, le=64)] = 1
    """Server processes sharing ``http_port`` (:mod:`predictors.scorer.workers`): one per CPU the Pod may
    use (its CPU limit), since a process serves on one core at most. More than one per CPU only adds
    switching. A shadow always runs one: both halves of a mirrored request must reach the same process."""

    predict_threads: Annotated[int, Field(ge=1, le=64)] = 1
    """LightGBM threads per predict: 20 rows are scored faster on one thread than with OpenMP start-up."""

    predict_in: Literal["auto", "loop", "executor"] = "auto"
    """Where a request's feature read and scoring run. ``loop``: on the event loop. ``executor``: in a thread
    pool. ``auto`` (default): ``loop`` when the online store is SQLite in this process (a read of ~20 keys
    is ~0.3 ms of CPU under the GIL, no network wait), ``executor`` for any other store (Redis: a network
    round trip the loop must not wait on). Measured with SQLite: the thread hand-off costs more CPU than the
    work itself (3.6 vs 1.9 ms of server CPU per request): the loop and the worker fight over the GIL."""

    executor_threads: Annotated[int, Field(ge=1, le=64)] = 2
    """Threads of the ``executor`` mode. The SQLite read and LightGBM hold the GIL, so more threads than
    cores only add switching; raise it for a network store (Redis), whose reads wait without the GIL."""

    predict_lane: bool = True
    """Answer a plain V1 predict (a JSON body, no CloudEvent) in front of FastAPI's router and KServe's data
    plane (:mod:`predictors.scorer.predict_lane`), with the same model calls, metrics and error handlers;
    false sends every request through KServe's app (bench/scorer_load.py runs both)."""
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    """The server's event loop. ``ModelServer`` runs ``asyncio.run`` itself, so its ``--event-loop`` flag
    has no effect with one worker; the scorer installs uvloop's policy before starting it, so KServe runs
    on the loop uvicorn picks for a bare app (a few percent less CPU per request than asyncio's)."""

    tip_stats_ttl_s: Annotated[float, Field(ge=0, le=5)] = 1.0
    """Tip stats (``tip_stats`` view) are read from the online store at most once per this many seconds
    per tip and served from memory in between (:mod:`predictors.scorer.feature_cache`), so they are at most
    this much staler than the store; 0 reads them on every request. User and user x category rows are
    always read fresh, scores are never cached. Saves ~20 % of server CPU per request at 200-400 req/s."""

    tip_stats_cache_size: Annotated[int, Field(ge=1)] = 100_000
    """Most tips kept by that cache (oldest dropped first): bounds its memory (~1 KB per tip)."""

    feature_probe_interval_s: Annotated[float, Field(gt=0)] = 1.0
    """After a feature-store failure, readiness re-probes the store at most this often."""

    log_level: str = "WARNING"
    """KServe logs four lines per request at INFO; WARNING keeps errors and drops that cost."""

    @property
    def processes(self) -> int:
        """Server processes to run: ``workers``, but one for a shadow (both halves of a mirrored id must pair)."""
        return 1 if self.role is Role.SHADOW else self.workers

    @property
    def agent_port_fallback(self) -> int | None:
        """The agent's port, if this process should answer on it too (a KServe Pod without an agent)."""
        if self.kserve_agent is None or self.kserve_agent or self.kserve_agent_port == self.http_port:
            return None
        return self.kserve_agent_port

    @property
    def local_state(self) -> LocalState:
        """Paths of the local stack under ``state_dir``."""
        return LocalState(self.state_dir)

    @property
    def tracking_uri(self) -> str:
        """The MLflow URI actually used."""
        return self.mlflow_tracking_uri or self.local_state.mlflow_uri
