"""Settings of the operator, read once at start-up (env prefix ``TIPSML_``), passed down via kopf memo."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.model_card import CARD_JSON


class MetricsSource(StrEnum):
    """Where rollout gates get their numbers."""

    PROMETHEUS = "prometheus"
    LOCAL = "local"


class OperatorSettings(BaseSettings):
    """Everything the operator process needs; nothing else reads the environment."""

    model_config = SettingsConfigDict(env_prefix="TIPSML_", extra="ignore")

    namespace: str | None = "tipsml"
    """The namespace watched; empty (``TIPSML_NAMESPACE=``) watches every namespace (cluster RBAC needed)."""
    registry_configmap: str = "tip-generator-prompts"
    """ConfigMap the generator mounts as its prompt registry (a ``<version>.json`` key per Ready version)."""
    mlflow_tracking_uri: str | None = None
    """MLflow tracking + registry URI; None leaves MLflow's own default (``MLFLOW_TRACKING_URI``)."""
    model_card_artifact: str = CARD_JSON
    """Artifact path, in the model version's run, of the model card that rollout history is appended to."""
    metrics_source: MetricsSource = MetricsSource.PROMETHEUS
    prometheus_url: str = "http://prometheus-operated.monitoring.svc:9090"
    prometheus_selector: str = ""
    """Extra PromQL label matchers for every query, e.g. ``namespace="tipsml"``."""
    local_metrics_urls: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:8080/metrics"])
    """``/metrics`` endpoints of the local scorer processes (champion, canary, shadow)."""
    reward_log_path: Path | None = None
    """The reward log SQLite file read by the local source (``LocalState().state_db`` on the local stack)."""
    analysis_interval_seconds: float = Field(default=30.0, gt=0)
    """How often a running rollout is re-analysed."""
    retry_delay_seconds: float = Field(default=10.0, gt=0)
    """Delay before kopf retries a handler that hit a temporary failure."""
    http_timeout_seconds: float = Field(default=10.0, gt=0)
    shadow_url_template: str = "http://{service}-predictor.{namespace}.svc.cluster.local/v1/models/{model}:predict"
    """Where KServe's inference logger of the champion sends mirrored requests (the shadow's predictor)."""
    peering_name: str = "tipsml"
    """kopf peering object shared by replicas: only the highest-priority live replica acts."""
    standalone: bool = False
    """Run without peering (one replica, local stack, tests)."""
    priority: int | None = Field(default=None, ge=0)
    """This replica's peering priority; unset: a random one drawn at start. kopf pauses *every* live peer that
    shares a priority with another, so identical replicas of one Deployment must not all default to the same
    number: with distinct priorities the highest acts and the others stand by."""
    peering_lifetime_seconds: int = Field(default=60, gt=0)
    """How long a replica's peering record counts as alive without a keepalive: a standby takes over at most
    this long after the active replica died without saying goodbye (kill -9, node loss)."""
