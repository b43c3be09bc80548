"""Publish a run's events to JetStream, pipelined, with ``Nats-Msg-Id`` = ``event_id``.

Publishes go out in windows of in-flight acks (nats-py ``publish_async``), so throughput is bounded by
the server, not by round trips. The stream's duplicate window turns a re-publish of the same seed into
acks flagged ``duplicate``, which are counted apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import nats
from nats.errors import Error as NatsError
from nats.js.errors import NotFoundError

from contracts.streams import MSG_ID_HEADER, STREAM_SUBJECTS
from tipsml.simulate.errors import PublishError
from tipsml.simulate.wire import SUBJECTS, EventLog

WINDOW = 2_000


@dataclass
class PublishReport:
    """Acks per subject: stored (new) and duplicate (dropped by the stream's duplicate window)."""

    stored: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SUBJECTS, 0))
    duplicate: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SUBJECTS, 0))

    @property
    def total(self) -> int:
        """Every acked event."""
        return sum(self.stored.values()) + sum(self.duplicate.values())


async def _quiet(_: Exception) -> None:
    """Connection errors surface as :class:`PublishError`; nats-py would also log each with a traceback."""


async def publish_events(
    events: EventLog,
    url: str,
    *,
    window: int = WINDOW,
    progress: Callable[[int], None] | None = None,
    connect_timeout: float = 5.0,
) -> PublishReport:
    """Publish every event in time order and wait for all acks.

    Raises:
        PublishError: NATS is unreachable, a stream is missing or a publish is refused.
    """
    try:
        # one retry, then give up: max_reconnect_attempts=0 would mean "forever" for the first connect
        nc = await nats.connect(url, connect_timeout=connect_timeout, max_reconnect_attempts=1,
                                reconnect_time_wait=0.1, allow_reconnect=False, error_cb=_quiet)
    except (TimeoutError, OSError, NatsError) as e:
        raise PublishError(f"cannot connect to NATS at {url}: {e}; start the stack with `tipsml up`") from e
    report = PublishReport()
    try:
        js = nc.jetstream(publish_async_max_pending=window * 2)
        for stream in STREAM_SUBJECTS:
            try:
                await js.stream_info(stream)
            except NotFoundError as e:
                raise PublishError(f"stream {stream} does not exist at {url}; run `tipsml up` first") from e
        lines, ids, kinds = events.lines, events.event_ids, events.kind.tolist()
        for lo in range(0, len(lines), window):
            hi = min(lo + window, len(lines))
            futures = [
                await js.publish_async(SUBJECTS[kinds[i]], lines[i].encode(), headers={MSG_ID_HEADER: ids[i]})
                for i in range(lo, hi)
            ]
            acks = await asyncio.gather(*futures)
            for i, ack in zip(range(lo, hi), acks, strict=True):
                bucket = report.duplicate if ack.duplicate else report.stored
                bucket[SUBJECTS[kinds[i]]] += 1
            if progress is not None:
                progress(hi - lo)
    except (TimeoutError, NatsError) as e:
        raise PublishError(f"publishing to {url} failed: {e!r}") from e
    finally:
        await nc.close()
    return report
