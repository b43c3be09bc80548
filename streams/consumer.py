"""Durable pull consumers on ``SIGNALS`` and ``FEEDBACK``: validate, write, then ack; nak or dead-letter.

Per fetched batch: every message is parsed with :func:`contracts.events.parse_event_on`. Valid events go through
:class:`streams.writer.BatchWriter` in a worker thread and are acked only once that returns (durable). A
message that fails validation is naked with a growing delay; on its last allowed delivery (``max_deliver``)
it is published to ``deadletter.<subject>`` and then terminated, so nothing is lost and nothing loops hot. A
failed write is bisected until the events that fail on their own are isolated: the rest of the batch is
written and acked, and only those are naked (and dead-lettered on the last delivery, with the reason), so one
event the writer cannot take never poisons its neighbours.

While NATS is unreachable each loop, and the connection, log one line per ``OUTAGE_LOG_EVERY_SECONDS`` (see
:mod:`streams.outage`), not a traceback per retry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import nats
import nats.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from contracts.events import EventValidationError, parse_event_on
from contracts.nats_options import connect_options, nats_connection
from contracts.streams import (
    FEEDBACK_STREAM,
    FEEDBACK_SUBJECTS,
    SIGNALS_STREAM,
    SIGNALS_SUBJECTS,
    deadletter_subject,
)
from contracts.validation import FieldError
from streams.deadletter import deadletter_headers, deadletter_record
from streams.errors import ConnectError, WriteError
from streams.event_log import LoggedEvent
from streams.metrics import IngestMetrics
from streams.outage import OUTAGE_LOG_EVERY_SECONDS, OutageLog
from streams.puller import BatchPuller
from streams.pusher import PushCounters
from streams.settings import ConsumerSettings
from streams.topology import StreamLimits, ensure_streams
from streams.writer import BatchWriter, WriteResult

log = logging.getLogger(__name__)

CONSUMED: dict[str, str] = {SIGNALS_STREAM: SIGNALS_SUBJECTS, FEEDBACK_STREAM: FEEDBACK_SUBJECTS}
DEADLETTER_PUBLISH_ATTEMPTS = 5
FETCH_RETRY_SECONDS = 0.5
ACK_PENDING_BATCHES = 4
MIN_MAX_ACK_PENDING = 20_000
"""The server lets a consumer hold ``max(MIN_MAX_ACK_PENDING, ACK_PENDING_BATCHES x batch_size)`` unacked messages.

The loop fetches the next batch while the previous one is written (both unacked), and naked messages waiting
out their delay count as pending too: with a smaller limit the server would stop delivering while the
consumer waits for nothing.
"""


def durable_name(settings: ConsumerSettings, stream: str) -> str:
    """Durable consumer name of a stream, e.g. ``tipsml-ingest-signals``."""
    return f"{settings.durable_prefix}-{stream.lower()}"


def consumer_config(settings: ConsumerSettings, stream: str) -> ConsumerConfig:
    """Explicit ack, backoff on ack timeouts; the delivery limit is ours (see below)."""
    return ConsumerConfig(
        durable_name=durable_name(settings, stream),
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=settings.ack_wait_seconds,
        # The server never gives up on a message (-1): a delivery that no process handled (one sitting in the
        # buffer of a consumer killed with -9) must not count towards the limit, or the message would be
        # dropped without being written or dead-lettered. ``settings.max_deliver`` is enforced in
        # ``_reject`` on deliveries this code actually saw.
        max_deliver=-1,
        backoff=list(settings.backoff_seconds) or None,
        max_ack_pending=max(MIN_MAX_ACK_PENDING, ACK_PENDING_BATCHES * settings.batch_size),
        filter_subject=CONSUMED[stream],
    )


async def connect(settings: ConsumerSettings, name: str = "tipsml-consumer") -> NATS:
    """Connect with the credentials and TLS the settings name; reconnect forever."""
    try:
        options = connect_options(nats_connection(settings, settings.nats_url, name))
        return await nats.connect(**options, **OutageLog(log, f"NATS at {settings.nats_url}").callbacks())
    except Exception as e:
        raise ConnectError(f"cannot connect to NATS at {settings.nats_url}: {e}") from e


def stream_sequence(msg: Msg) -> int:
    """The message's stream sequence from its ack subject, without building the full metadata object.

    ``$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts>.<pending>`` (9 tokens) or the
    domain form ``$JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<stream seq>...`` (12+ tokens).
    """
    tokens = (msg.reply or "").split(".")
    if len(tokens) == 9:
        return int(tokens[5])
    if len(tokens) >= 12:
        return int(tokens[7])
    return int(msg.metadata.sequence.stream)


@dataclass
class Prepared:
    """A fetched batch split into valid events and messages that broke the contract."""

    valid: list[tuple[Msg, LoggedEvent]] = field(default_factory=list)
    invalid: list[tuple[Msg, list[FieldError]]] = field(default_factory=list)


class Consumer:
    """Both stream consumers in one process, sharing one writer."""

    def __init__(
        self,
        settings: ConsumerSettings,
        writer: BatchWriter,
        metrics: IngestMetrics | None = None,
        push_counters: PushCounters | None = None,
    ) -> None:
        self.settings = settings
        self.push_counters = push_counters
        self._pushed_seen = (0.0, 0, 0, 0)
        self.writer = writer
        self.metrics = metrics or IngestMetrics()
        self._write_lock = asyncio.Lock()
        self.ready = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set, then finish the batch in hand, drain and return."""
        await asyncio.to_thread(self.writer.recover)
        nc = await connect(self.settings)
        try:
            js = nc.jetstream()
            await ensure_streams(js, self.settings.stream_limits)
            subs = {}
            for stream in CONSUMED:
                await js.add_consumer(stream, consumer_config(self.settings, stream))
                subs[stream] = BatchPuller(nc, stream, durable_name(self.settings, stream), self.settings.batch_size)
                await subs[stream].start()
            self.ready.set()
            loops = [
                asyncio.create_task(self._loop(js, stream, sub, stop), name=f"consume-{stream}")
                for stream, sub in subs.items()
            ]
            lag = asyncio.create_task(self._poll_lag(js, stop), name="consumer-lag")
            await asyncio.gather(*loops)
            lag.cancel()
            for sub in subs.values():
                await sub.stop()
            await nc.flush(timeout=5)  # the last acks reach the server before we go
        finally:
            if not nc.is_closed:
                await nc.close()

    async def _loop(self, js: JetStreamContext, stream: str, sub: BatchPuller, stop: asyncio.Event) -> None:
        """Fetch and parse batch N+1 while batch N is being written (its acks still wait for its write)."""
        inflight: asyncio.Task[None] | None = None
        failing_since: float | None = None
        next_log = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                msgs = await sub.fetch(self.settings.fetch_timeout_seconds)
            except Exception as e:  # reconnecting, server restarting: wait and fetch again
                now = loop.time()
                failing_since = now if failing_since is None else failing_since
                if now >= next_log:
                    log.warning(
                        "fetch on %s failing for %.0f s (%s: %s); retrying every %.1f s",
                        stream, now - failing_since, type(e).__name__, e, FETCH_RETRY_SECONDS,
                    )
                    next_log = now + OUTAGE_LOG_EVERY_SECONDS
                await asyncio.sleep(FETCH_RETRY_SECONDS)
                continue
            if failing_since is not None:
                log.info("fetch on %s works again after %.0f s", stream, loop.time() - failing_since)
                failing_since, next_log = None, 0.0
            if not msgs:
                continue
            batch = self.prepare(stream, msgs)
            if inflight is not None:
                await inflight
            inflight = asyncio.create_task(self.settle(js, stream, batch))
        if inflight is not None:
            await inflight

    def prepare(self, stream: str, msgs: Sequence[Msg]) -> Prepared:
        """Validate every message of a fetched batch."""
        self.metrics.received.labels(stream).inc(len(msgs))
        prepared = Prepared()
        for msg in msgs:
            try:
                event = parse_event_on(msg.data, msg.subject)
            except EventValidationError as e:
                prepared.invalid.append((msg, e.errors))
            else:
                prepared.valid.append((msg, LoggedEvent(event, msg.subject, stream_sequence(msg), msg.data)))
        return prepared

    async def settle(self, js: JetStreamContext, stream: str, batch: Prepared) -> None:
        """Write the valid events, then ack them; nak or dead-letter the invalid ones."""
        valid = batch.valid
        if valid:
            failed = await self._write_isolating(stream, valid)
            if failed:
                log.error(
                    "write of %d of %d events on %s failed, they will be retried or dead-lettered (first: %s)",
                    len(failed), len(valid), stream, failed[0][1],
                )
            failed_ids = {id(msg) for msg, _ in failed}
            written = [msg for msg, _ in valid if id(msg) not in failed_ids]
            for msg in written:
                await msg.ack()
            self.metrics.acked.labels(stream).inc(len(written))
            for msg, err in failed:
                await self._reject(js, stream, msg, [FieldError("(write)", str(err))], "write")
        for msg, errors in batch.invalid:
            await self._reject(js, stream, msg, errors, "validation")

    async def _write_isolating(
        self, stream: str, items: list[tuple[Msg, LoggedEvent]]
    ) -> list[tuple[Msg, WriteError]]:
        """Write ``items``; on failure bisect, so only events that fail on their own are returned."""
        try:
            async with self._write_lock:
                result: WriteResult = await asyncio.to_thread(self.writer.write, [le for _, le in items])
        except WriteError as e:
            if len(items) == 1:
                msg, le = items[0]
                log.debug("write of %s:%d failed: %s", stream, le.stream_seq, e)
                return [(msg, e)]
            log.debug("write of %d events failed (%s); bisecting", len(items), e)
            half = len(items) // 2
            return await self._write_isolating(stream, items[:half]) + await self._write_isolating(
                stream, items[half:]
            )
        m = self.metrics
        m.write_seconds.labels(stream).observe(result.write_seconds)
        m.written.labels(stream).inc(result.applied)
        m.duplicates.labels(stream).inc(result.duplicates)
        m.observe_rewards(result.rewards)
        return []

    async def _reject(self, js: JetStreamContext, stream: str, msg: Msg, errors: list[FieldError], reason: str) -> None:
        delivered = msg.metadata.num_delivered
        if delivered < self.settings.max_deliver:
            await msg.nak(delay=self.settings.nak_delay(delivered))
            self.metrics.naked.labels(stream, reason).inc()
            return
        headers = deadletter_headers(
            msg.headers,
            errors=errors,
            reason=reason,
            subject=msg.subject,
            stream=stream,
            stream_seq=msg.metadata.sequence.stream,
            delivered=delivered,
        )
        body, headers = deadletter_record(msg.data, headers, StreamLimits().max_msg_size)
        for attempt in range(1, DEADLETTER_PUBLISH_ATTEMPTS + 1):
            try:
                await js.publish(deadletter_subject(msg.subject), body, headers=headers)
                break
            except Exception as e:  # keep the message ours while retrying: the server will not redeliver it
                log.warning(
                    "dead-letter publish of %s:%d failed (%s), attempt %d",
                    stream,
                    msg.metadata.sequence.stream,
                    type(e).__name__,
                    attempt,
                )
                await msg.in_progress()
                await asyncio.sleep(0.5 * attempt)
        else:
            log.error("could not dead-letter %s:%d; it stays in %s", stream, msg.metadata.sequence.stream, stream)
            return
        await msg.term()
        self.metrics.deadlettered.labels(stream, reason).inc()
        log.info(
            "dead-lettered %s:%d after %d deliveries (%s)",
            stream,
            msg.metadata.sequence.stream,
            delivered,
            reason,
        )

    def _collect_push_counters(self) -> None:
        c = self.push_counters
        if c is None:
            return
        now = (float(c.seconds.value), int(c.rows.value), int(c.batches.value), int(c.failures.value))
        seen = self._pushed_seen
        self.metrics.observe_push(now[0] - seen[0], now[1] - seen[1], now[2] - seen[2], now[3] - seen[3])
        self._pushed_seen = now

    async def _poll_lag(self, js: JetStreamContext, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._collect_push_counters()
            for stream in CONSUMED:
                try:
                    info = await js.consumer_info(stream, durable_name(self.settings, stream))
                    self.metrics.lag.labels(stream).set((info.num_pending or 0) + (info.num_ack_pending or 0))
                except Exception as e:
                    log.debug("consumer lag of %s unavailable: %s", stream, e)
            try:
                await asyncio.wait_for(stop.wait(), self.settings.lag_poll_seconds)
            except TimeoutError:
                pass
