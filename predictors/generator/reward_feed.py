"""Follows the ``FEEDBACK`` stream into this replica's own reward log, so bandits learn from every reaction.

On the local stack the generator reads the consumers' state database directly. In a cluster each replica is
its own Pod with no shared disk, so each one replays ``tip_shown`` and ``tip_reaction`` from JetStream into a
Pod-local SQLite reward log (the same :class:`experiments.reward_log.RewardLog` the consumers write, with the
same idempotent rules) and the bandit reads that. Every replica therefore sees the same counts, a little
later than the consumers do.

The subscription is an ordered consumer: ephemeral, no acks, nothing left behind on the server when the Pod
goes, and nats-py recreates it from the last sequence seen after a gap or a reconnect. At start it replays
from ``since`` (the stream keeps 7 days). Malformed events are skipped and counted here; the ingest consumers
dead-letter them, so nothing is lost by not handling them twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import nats
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import ConsumerConfig, DeliverPolicy

from contracts.events import EventValidationError, TipReaction, TipShown, parse_event_on
from contracts.nats_options import NatsConnection, connect_options
from contracts.streams import FEEDBACK_STREAM, FEEDBACK_SUBJECTS
from experiments.reward_log import RewardLog
from predictors.generator.errors import RewardFeedError
from predictors.generator.selection import BanditLearner

if TYPE_CHECKING:
    from nats.aio.client import Client as NATS

log = logging.getLogger(__name__)

BATCH: Final = 500
"""Events recorded per reward-log transaction."""
LINGER_SECONDS: Final = 0.2
"""How long a partial batch waits for more events before it is recorded."""
IDLE_SECONDS: Final = 1.0
"""A wait this long with no event at all means the stream is idle (the replay, if any, is over)."""


@dataclass
class FeedCounters:
    """What the feed has done (for logs and tests)."""

    recorded: int = 0
    skipped: int = 0
    last_sequence: int = 0
    caught_up: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the replay reached the end of the stream as it was when the feed started."""


class RewardFeed:
    """Replays and then follows ``feedback.>`` into a reward log."""

    def __init__(self, connection: NatsConnection, rewards: RewardLog, since: datetime) -> None:
        self.connection = connection
        self.rewards = rewards
        self.since = since
        self.counters = FeedCounters()

    async def run(self) -> None:
        """Follow the stream until cancelled."""
        try:
            nc: NATS = await nats.connect(**connect_options(self.connection))
        except Exception as e:
            raise RewardFeedError(f"cannot connect to NATS at {self.connection.url}: {e}") from e
        try:
            js = nc.jetstream()
            end = (await js.stream_info(FEEDBACK_STREAM)).state.last_seq
            if end == 0:
                self.counters.caught_up.set()
            sub = await js.subscribe(
                FEEDBACK_SUBJECTS,
                stream=FEEDBACK_STREAM,
                ordered_consumer=True,
                config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=self.since),
            )
            log.info("reward feed following %s from %s", FEEDBACK_STREAM, self.since.isoformat())
            while True:
                batch, idle = await self._next_batch(sub)
                if batch:
                    self.counters.recorded += await asyncio.to_thread(self.rewards.record, batch)
                if idle or self.counters.last_sequence >= end:
                    self.counters.caught_up.set()
        finally:
            await nc.close()

    async def _next_batch(self, sub: Any) -> tuple[list[TipShown | TipReaction], bool]:
        """The next reward events, and whether the stream was idle.

        Up to :data:`BATCH` events, waiting at most :data:`LINGER_SECONDS` for more once one arrived. Idle:
        nothing at all arrived for :data:`IDLE_SECONDS` (the replay is over, e.g. every message was older than
        ``since``).
        """
        batch: list[TipShown | TipReaction] = []
        timeout = IDLE_SECONDS
        received = False
        while len(batch) < BATCH:
            try:
                msg = await sub.next_msg(timeout=timeout)
            except NatsTimeoutError:
                break
            received = True
            self.counters.last_sequence = msg.metadata.sequence.stream
            timeout = LINGER_SECONDS
            try:
                # The consumers' check too: a reaction published on another subject is not a reward.
                event = parse_event_on(msg.data, msg.subject)
            except EventValidationError:
                self.counters.skipped += 1
                continue
            if isinstance(event, TipShown | TipReaction):
                batch.append(event)
        return batch, not received

    async def run_forever(self, first_retry_seconds: float = 1.0, max_retry_seconds: float = 30.0) -> None:
        """:meth:`run`, started again after any failure (NATS down, stream missing) with a growing delay."""
        delay = first_retry_seconds
        while True:
            try:
                await self.run()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - the feed must outlive any outage; requests are unaffected
                log.warning("reward feed stopped (%s: %s); retrying in %.0f s", type(e).__name__, e, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_retry_seconds)


class FedLearner:
    """The bandit's refresh loop and the feed that fills its reward log, run together."""

    def __init__(self, learner: BanditLearner, feed: RewardFeed) -> None:
        self.learner = learner
        self.feed = feed

    async def run(self) -> None:
        """Run both until cancelled."""
        await asyncio.gather(self.learner.run(), self.feed.run_forever())
