"""The three JetStream streams and their limits; created idempotently by ``tipsml up`` and the consumers.

``duplicate_window`` makes JetStream drop a re-published ``Nats-Msg-Id`` (= ``event_id``) within the
window; consumers are idempotent on ``event_id`` beyond it.

JetStream reserves each stream's ``max_bytes`` up front against the server's storage limit (without a
configured ``max_file_store``, 75 % of the disk that is free when the server starts), so the three streams
need ``3 x max_bytes`` of it before the first message. The default (1 GiB) suits a laptop; the Helm chart
sets production's (``consumers.streams.maxBytes``).
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import APIError, NotFoundError
from pydantic import BaseModel, ByteSize, Field

from contracts.streams import STREAM_SUBJECTS
from streams.errors import StreamSetupError

# JetStream's error code for "insufficient storage resources available" (a stream's max_bytes does not fit).
INSUFFICIENT_STORAGE = 10047
DEFAULT_MAX_BYTES = 1024**3
DEFAULT_MAX_AGE_HOURS = 7 * 24.0


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """Retention limits per stream; production values come from Helm values."""

    max_age_seconds: float = DEFAULT_MAX_AGE_HOURS * 3600
    max_bytes: int = DEFAULT_MAX_BYTES
    max_msg_size: int = 256 * 1024
    duplicate_window_seconds: float = 3600.0
    replicas: int = 1


class StreamLimitSettings(BaseModel):
    """The stream limits every settings class that creates streams reads (env ``TIPSML_STREAM_*``)."""

    stream_max_bytes: ByteSize = Field(
        default=ByteSize(DEFAULT_MAX_BYTES),
        gt=0,
        description="Bytes kept per stream (e.g. 4GiB); JetStream reserves three times this at stream creation.",
    )
    stream_max_age_hours: float = Field(default=DEFAULT_MAX_AGE_HOURS, gt=0, description="Hours kept per stream.")

    @property
    def stream_limits(self) -> StreamLimits:
        """The limits ``ensure_streams`` applies."""
        return StreamLimits(max_age_seconds=self.stream_max_age_hours * 3600, max_bytes=int(self.stream_max_bytes))


def stream_config(name: str, limits: StreamLimits) -> StreamConfig:
    """Config of one of the fixed streams (``SIGNALS``, ``FEEDBACK``, ``DEADLETTER``)."""
    return StreamConfig(
        name=name,
        subjects=[STREAM_SUBJECTS[name]],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=limits.max_age_seconds,
        max_bytes=limits.max_bytes,
        max_msg_size=limits.max_msg_size,
        duplicate_window=limits.duplicate_window_seconds,
        num_replicas=limits.replicas,
    )


async def ensure_streams(js: JetStreamContext, limits: StreamLimits | None = None) -> list[str]:
    """Create the streams, or update them to the wanted config; returns their names.

    Raises ``StreamSetupError`` when JetStream refuses one (e.g. its storage cannot hold the limits).
    """
    limits = limits or StreamLimits()
    names = list(STREAM_SUBJECTS)
    for name in names:
        config = stream_config(name, limits)
        try:
            try:
                await js.stream_info(name)
            except NotFoundError:
                await js.add_stream(config)
            else:
                await js.update_stream(config)
        except APIError as e:
            raise StreamSetupError(_refusal(name, limits, e)) from e
    return names


def _refusal(name: str, limits: StreamLimits, error: APIError) -> str:
    said = f"JetStream refused stream {name} ({error.description or error}, err_code {error.err_code})"
    if error.err_code != INSUFFICIENT_STORAGE:
        return said
    gib = limits.max_bytes / 1024**3
    return (
        f"{said}: the {len(STREAM_SUBJECTS)} streams reserve {len(STREAM_SUBJECTS)} x {gib:.2f} GiB of the server's"
        " JetStream storage (its max_file_store, or 75 % of the disk free when it started). Free disk space and"
        " restart the server, give it a larger max_file_store, or lower TIPSML_STREAM_MAX_BYTES."
    )
