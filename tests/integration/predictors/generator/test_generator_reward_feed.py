"""The generator's reward feed against a real nats-server: FEEDBACK replayed and followed into a reward log."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nats.js import JetStreamContext

from contracts.enums import Reaction, TaskCategory
from contracts.events import EventBase, TipReaction, TipShown, dump_event
from contracts.nats_options import NatsConnection
from contracts.streams import MSG_ID_HEADER
from experiments.reward_log import RewardLog
from predictors.generator.reward_feed import FedLearner, RewardFeed
from predictors.generator.selection import BanditLearner, ExperimentSource
from tests.conftest import NatsServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

NOW = datetime.now(UTC)
FEED = "test-reward-feed"


def shown(n: int, prompt: str) -> TipShown:
    return TipShown(
        event_id=f"s-{n}-{uuid.uuid4().hex[:6]}",
        occurred_at=NOW,
        user_id=f"u{n % 7}",
        request_id=f"r{n}",
        tip_id=f"tip-{n}",
        category=TaskCategory.WORK,
        model_version="3",
        prompt_version=prompt,
        propensity=0.5,
    )


def liked(n: int, prompt: str) -> TipReaction:
    return TipReaction(
        event_id=f"l-{n}-{uuid.uuid4().hex[:6]}",
        occurred_at=NOW + timedelta(seconds=1),
        user_id=f"u{n % 7}",
        request_id=f"r{n}",
        tip_id=f"tip-{n}",
        reaction=Reaction.LIKED,
        prompt_version=prompt,
    )


async def publish(js: JetStreamContext, events: list[EventBase]) -> None:
    for ev in events:
        await js.publish(ev.subject, dump_event(ev), headers={MSG_ID_HEADER: ev.event_id})


def counts(rewards: RewardLog) -> dict[str | None, tuple[int, int]]:
    return {a.key: (a.shown, a.positive) for a in rewards.by_prompt_version()}


async def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail("timed out")
        await asyncio.sleep(0.05)


async def test_feed_replays_then_follows_and_skips_what_it_cannot_parse(
    jetstream: JetStreamContext, nats_server: NatsServer, tmp_path: Path
) -> None:
    await publish(jetstream, [shown(1, "v1"), shown(2, "v2"), liked(2, "v2")])
    await jetstream.publish("feedback.tip_shown", b'{"type": "tip_shown", "user_id": 5}')
    stray = liked(1, "v1")  # a reaction on the impression subject: the consumers dead-letter it, the feed skips it
    await jetstream.publish("feedback.tip_shown", dump_event(stray), headers={MSG_ID_HEADER: stray.event_id})
    await publish(jetstream, [shown(1, "v1")])  # a duplicate delivery (new event id, same row): applied once per row
    rewards = RewardLog(tmp_path / "rewards.db")
    feed = RewardFeed(NatsConnection(nats_server.url, FEED), rewards, since=NOW - timedelta(hours=1))
    task = asyncio.create_task(feed.run())
    try:
        await asyncio.wait_for(feed.counters.caught_up.wait(), 20)
        assert counts(rewards) == {"v1": (1, 0), "v2": (1, 1)}
        assert feed.counters.skipped == 2
        # Live: new events arrive while it follows.
        await publish(jetstream, [shown(3, "v2"), liked(3, "v2"), liked(1, "v1")])
        await wait_until(lambda: counts(rewards) == {"v1": (1, 1), "v2": (2, 2)})
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        rewards.close()


async def test_a_second_replica_replays_the_same_counts(
    jetstream: JetStreamContext, nats_server: NatsServer, tmp_path: Path
) -> None:
    await publish(jetstream, [shown(i, "v1" if i % 2 else "v2") for i in range(40)])
    await publish(jetstream, [liked(i, "v2") for i in range(0, 40, 4)])
    logs = [RewardLog(tmp_path / f"replica-{i}.db") for i in range(2)]
    feeds = [RewardFeed(NatsConnection(nats_server.url, FEED), log, NOW - timedelta(hours=1)) for log in logs]
    tasks = [asyncio.create_task(f.run()) for f in feeds]
    try:
        for f in feeds:
            await asyncio.wait_for(f.counters.caught_up.wait(), 20)
        assert counts(logs[0]) == counts(logs[1]) == {"v1": (20, 0), "v2": (20, 10)}
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for log in logs:
            log.close()


async def test_feed_waits_out_an_unreachable_server_without_failing_the_learner(tmp_path: Path) -> None:
    rewards = RewardLog(tmp_path / "rewards.db")
    feed = RewardFeed(NatsConnection("nats://127.0.0.1:1", FEED), rewards, NOW)

    learner = BanditLearner(ExperimentSource(tmp_path / "no-experiment.json", 0.1), rewards)
    task = asyncio.create_task(FedLearner(learner, feed).run())
    await asyncio.sleep(0.5)
    assert not task.done()  # the connection error was logged and will be retried, not raised
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    rewards.close()
