"""Settings of the local embedded stack (``tipsml up``), read once per command."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.local_state import DEFAULT_STATE_DIR, LocalState
from streams.topology import StreamLimitSettings


class StackSettings(StreamLimitSettings, BaseSettings):
    """Where local state lives and which loopback ports the stack binds."""

    model_config = SettingsConfigDict(env_prefix="TIPSML_", extra="ignore")

    state_dir: Path = Field(default=DEFAULT_STATE_DIR, description="Local state root (git-ignored).")
    host: str = Field(default="127.0.0.1", description="Loopback address every local service binds.")
    nats_port: int = Field(default=4222, ge=1, le=65535)
    nats_url: str | None = Field(default=None, description="Use this NATS instead of starting one.")
    nats_connect_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="How long `up` waits for NATS (connect and stream set-up) before failing with one line.",
    )
    start_consumers: bool = Field(default=True, description="Start the stream consumers with `up`.")

    @property
    def state(self) -> LocalState:
        """Path layout under ``state_dir``."""
        return LocalState(self.state_dir)

    @property
    def effective_nats_url(self) -> str:
        """The NATS URL clients use."""
        return self.nats_url or f"nats://{self.host}:{self.nats_port}"
