"""Settings of the tip scorer, read once in ``__main__`` (env prefix ``TIPSML_``) and passed down."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.local_state import LocalState
from contracts.scorer import MAX_CANDIDATES

MODEL_NAME = "tip-scorer"


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

    model_uri: str = f"models:/{MODEL_NAME}@champion"
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

    max_candidates: Annotated[int, Field(ge=1, le=MAX_CANDIDATES)] = MAX_CANDIDATES
    """Requests with more candidates per instance get a 400."""

    http_port: Annotated[int, Field(ge=1, le=65535)] = 8080

    predict_threads: Annotated[int, Field(ge=1, le=64)] = 1
    """LightGBM threads per predict: 20 rows are scored faster on one thread than with OpenMP start-up."""

    executor_threads: Annotated[int, Field(ge=1, le=64)] = 2
    """Threads that run feature reads and scoring off the event loop. The SQLite read and LightGBM hold the
    GIL, so more threads than cores only add switching; raise it for a network store (Redis)."""

    feature_probe_interval_s: Annotated[float, Field(gt=0)] = 1.0
    """After a feature-store failure, readiness re-probes the store at most this often."""

    log_level: str = "WARNING"
    """KServe logs four lines per request at INFO; WARNING keeps errors and drops that cost."""

    @property
    def local_state(self) -> LocalState:
        """Paths of the local stack under ``state_dir``."""
        return LocalState(self.state_dir)

    @property
    def tracking_uri(self) -> str:
        """The MLflow URI actually used."""
        return self.mlflow_tracking_uri or self.local_state.mlflow_uri
