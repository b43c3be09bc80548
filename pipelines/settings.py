"""Settings of the training pipeline (``tipsml train``, ``tipsml pipelines ...``), read once at start-up.

Every value a component needs is passed to it as a pipeline parameter, so the compiled YAML runs on a
cluster without these settings: they only choose the defaults the CLI submits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.gates import CHAMPION_AUC_TOLERANCE, MAX_SLICE_AUC_GAP, MIN_SLICE_AUC, MIN_SLICE_SIZE
from contracts.local_state import DEFAULT_STATE_DIR, LocalState

DEFAULT_IMAGE = "ghcr.io/tipsml/tipsml:0.1.0"


class PipelineSettings(BaseSettings):
    """Where the data comes from, where the model goes, and the thresholds that gate it."""

    model_config = SettingsConfigDict(env_prefix="TIPSML_", extra="ignore")

    state_dir: Path = Field(default=DEFAULT_STATE_DIR, description="Local state root (git-ignored).")
    image: str = Field(default=DEFAULT_IMAGE, description="Project image every component runs on in a cluster.")
    event_log: str | None = Field(default=None, description="Event log (Parquet dir or .jsonl); default under state.")
    feature_repo: Path = Field(default=Path("feature_repo"), description="The Feast repository.")
    mlflow_tracking_uri: str | None = Field(default=None, description="MLflow URI; default sqlite under state.")
    truth_path: str = Field(default="", description="Simulator oracle (truth.parquet) to measure the gap against.")
    label_window_hours: float = Field(default=24.0, gt=0.0, description="A reaction counts within this window.")
    test_fraction: float = Field(default=0.2, gt=0.0, lt=1.0, description="Latest share of time held out.")
    historical_engine: Literal["duckdb", "feast"] = Field(
        default="duckdb", description="Point-in-time join: DuckDB over local Parquet, or Feast's offline store."
    )
    seed: int = Field(default=7)
    num_boost_round: int = Field(default=400, ge=1)
    champion_tolerance: float = Field(
        default=CHAMPION_AUC_TOLERANCE,
        ge=0.0,
        description="AUC a challenger may lose against the champion and still be proposed.",
    )
    max_slice_auc_gap: float = Field(
        default=MAX_SLICE_AUC_GAP, gt=0.0, le=1.0, description="Fairness: largest AUC gap."
    )
    min_slice_auc: float = Field(
        default=MIN_SLICE_AUC, ge=0.0, le=1.0, description="Fairness: every slice at least this."
    )
    min_slice_size: int = Field(
        default=MIN_SLICE_SIZE, ge=1, description="Slices smaller than this are reported, not gated."
    )
    new_user_days: int = Field(default=14, ge=1, description="Users younger than this are the 'new' slice.")
    kfp_host: str | None = Field(default=None, description="KFP API endpoint for `pipelines submit`.")

    @property
    def state(self) -> LocalState:
        """Path layout under ``state_dir``."""
        return LocalState(self.state_dir)

    @property
    def effective_event_log(self) -> str:
        """The event log training reads."""
        return self.event_log or str(self.state.event_log_dir.resolve())

    @property
    def effective_mlflow_uri(self) -> str:
        """The MLflow tracking and registry URI."""
        return self.mlflow_tracking_uri or self.state.mlflow_uri
