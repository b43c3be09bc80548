"""Settings of the ingest consumers (env prefix ``TIPSML_``), read once at start-up and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.local_state import DEFAULT_STATE_DIR, LocalState
from streams.topology import StreamLimitSettings


class ConsumerSettings(StreamLimitSettings, BaseSettings):
    """Where NATS is, how deliveries are retried, how big batches are, where state is written."""

    model_config = SettingsConfigDict(env_prefix="TIPSML_", extra="ignore")

    nats_url: str = Field(default="nats://127.0.0.1:4222", description="NATS server URL(s), comma-separated.")
    nats_creds_file: Path | None = Field(default=None, description="NATS credentials file (JWT + NKey seed).")
    nats_tls_ca_file: Path | None = Field(default=None, description="CA bundle to verify the NATS server.")
    nats_tls_cert_file: Path | None = Field(default=None, description="Client certificate for mutual TLS.")
    nats_tls_key_file: Path | None = Field(default=None, description="Client key for mutual TLS.")

    state_dir: Path = Field(default=DEFAULT_STATE_DIR, description="State root: event log, state DB, Feast.")
    durable_prefix: str = Field(default="tipsml-ingest", pattern=r"^[A-Za-z0-9_-]+$")

    batch_size: int = Field(default=2000, ge=1, le=50_000, description="Messages fetched and written at once.")
    fetch_timeout_seconds: float = Field(default=1.0, gt=0, description="Long-poll when a stream is idle.")
    ack_wait_seconds: float = Field(default=30.0, gt=0, description="Redelivery after this long without ack.")
    max_deliver: int = Field(default=5, ge=2, description="Deliveries before a message is dead-lettered.")
    backoff_seconds: list[float] = Field(
        default_factory=lambda: [30.0, 60.0, 120.0],
        description="Redelivery delays after ack timeouts (JetStream backoff); fewer than max_deliver.",
    )
    nak_delay_seconds: float = Field(default=2.0, ge=0, description="First delay of a nak; doubles per delivery.")
    max_nak_delay_seconds: float = Field(default=60.0, ge=0)

    applied_ids_retention_hours: float = Field(
        default=14 * 24.0,
        description="How long applied event ids are remembered for idempotency. Longer than anything JetStream"
        " can still (re)deliver: its 1 h duplicate window and the streams' 7-day max age (a message older than"
        " that is gone from the stream, so it cannot come back); two max ages leave room for a publisher that"
        " re-sends an old event with a new stream message.",
    )
    online_push: bool = Field(default=True, description="Push fresh feature values to the Feast online store.")
    feast_config: Path | None = Field(
        default=None,
        description="A feature_store.yaml to push to (production: feature_repo/feature_store.production.yaml,"
        " already applied); unset: the local default under state_dir, applied at start.",
    )
    pusher_start_timeout_seconds: float = Field(
        default=120.0, gt=0, description="How long consumption waits for the online pusher to open the store."
    )
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        default="FULL", description="FULL survives power loss; NORMAL survives process crashes only."
    )
    metrics_port: int | None = Field(default=None, ge=0, le=65535, description="Prometheus /metrics port.")
    metrics_host: str = "127.0.0.1"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    lag_poll_seconds: float = Field(default=5.0, gt=0, description="How often consumer lag is read.")

    @model_validator(mode="after")
    def _backoff_fits(self) -> ConsumerSettings:
        if len(self.backoff_seconds) >= self.max_deliver:
            raise ValueError("backoff_seconds must have fewer entries than max_deliver")
        return self

    @model_validator(mode="after")
    def _retention_outlives_the_streams(self) -> ConsumerSettings:
        if self.applied_ids_retention_hours <= self.stream_max_age_hours:
            raise ValueError(
                f"applied_ids_retention_hours must exceed the streams' max age ({self.stream_max_age_hours:g} h)"
            )
        return self

    @property
    def state(self) -> LocalState:
        """Path layout under ``state_dir``."""
        return LocalState(self.state_dir)

    def nak_delay(self, delivered: int) -> float:
        """Delay of the nak after delivery number ``delivered`` (1-based): doubling, capped."""
        return float(min(self.max_nak_delay_seconds, self.nak_delay_seconds * 2.0 ** max(0, delivered - 1)))
