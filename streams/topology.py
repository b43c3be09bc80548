"""The three JetStream streams and their limits; created idempotently by ``tipsml up`` and the consumers.

``duplicate_window`` makes JetStream drop a re-published ``Nats-Msg-Id`` (= ``event_id``) within the
window; consumers are idempotent on ``event_id`` beyond it.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from contracts.streams import STREAM_SUBJECTS


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """Retention limits per stream; production values come from Helm values."""

    max_age_seconds: float = 7 * 24 * 3600
    max_bytes: int = 4 * 1024**3
    max_msg_size: int = 256 * 1024
    duplicate_window_seconds: float = 3600.0
    replicas: int = 1


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
    """Create the streams, or update them to the wanted config; returns their names."""
    limits = limits or StreamLimits()
    names = list(STREAM_SUBJECTS)
    for name in names:
        config = stream_config(name, limits)
        try:
            await js.stream_info(name)
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)
    return names
