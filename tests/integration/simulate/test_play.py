"""``tipsml play``'s player against a real scorer process and a real JetStream: what it publishes is what was served."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext

from bench.scorer_world import ScorerProcess, ScorerWorld, build_world, spawn_scorer
from tests.conftest import NatsServer
from tipsml.simulate import simulate
from tipsml.simulate.play import AppPlayer


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> ScorerWorld:
    return build_world(tmp_path_factory.mktemp("play-world"), n_users=20, n_tips=60)


@pytest.fixture(scope="module")
def scorer(world: ScorerWorld, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScorerProcess]:
    server = spawn_scorer(world, tmp_path_factory.mktemp("play-scorer"))
    yield server
    server.stop()


async def test_each_answer_becomes_a_shown_tip_and_an_oracle_reaction_under_the_serving_version(
    jetstream: JetStreamContext, nats_server: NatsServer, scorer: ScorerProcess, world: ScorerWorld, tmp_path: Path
) -> None:
    sim = simulate(users=30, days=2, seed=1)
    report = await AppPlayer(sim, scorer.url, nats_server.url, seed=1).run(requests=40, rate=100.0, concurrency=4)
    assert report.errors == 0, report.last_error
    assert len(report.served) == 40 and set(report.by_version()) == {world.version}
    share, n = report.share(world.version)
    assert (share, n) == (1.0, 40)

    sub = await jetstream.pull_subscribe("feedback.>", durable=None)
    messages = await sub.fetch(80, timeout=5)
    events = [json.loads(m.data) for m in messages]
    for m in messages:
        assert m.headers is not None and m.headers["Nats-Msg-Id"] == json.loads(m.data)["event_id"]
    shown = {e["request_id"]: e for e in events if e["type"] == "tip_shown"}
    reactions = {e["request_id"]: e for e in events if e["type"] == "tip_reaction"}
    assert len(shown) == len(reactions) == 40 and shown.keys() == reactions.keys()
    users = set(sim.users["user_id"])
    for request_id, tip in shown.items():
        reaction = reactions[request_id]
        assert tip["model_version"] == reaction["model_version"] == world.version
        assert tip["tip_id"] == reaction["tip_id"] and tip["user_id"] in users
        assert reaction["reaction"] in ("liked", "dismissed")
    liked = sum(r["reaction"] == "liked" for r in reactions.values())
    assert liked == sum(s.positive for s in report.served)
