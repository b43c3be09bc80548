"""A scorer in a KServe Pod without the agent also answers on the agent's port; with the agent it leaves it.

KServe points the predictor Service at its agent's port the moment a logger is set, before the Pods without
an agent are replaced (``ScorerSettings.kserve_agent``). The Pod's annotation reaches the scorer as
``TIPSML_KSERVE_AGENT``: empty without the agent, ``true`` with it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx
import pytest

from bench.scorer_world import ScorerProcess, ScorerWorld
from tipsml.stack.processes import free_port

pytestmark = pytest.mark.integration

PREDICT = "/v1/models/tip-scorer:predict"


def test_without_the_agent_both_ports_rank_and_with_it_the_agent_port_stays_free(
    start_scorer: Callable[..., ScorerProcess], world: ScorerWorld
) -> None:
    body = {"instances": [{"user_id": world.users[0], "candidates": world.tips[:10]}]}
    agent_port = free_port()
    bare = start_scorer(world, kserve_agent="", kserve_agent_port=str(agent_port), workers="2")
    on_main = bare.post(PREDICT, body)
    on_agent = httpx.post(f"http://127.0.0.1:{agent_port}{PREDICT}", json=body, timeout=10)
    assert on_main.status_code == on_agent.status_code == 200, (on_main.text, on_agent.text)
    assert on_agent.json()["predictions"][0]["scores"] == on_main.json()["predictions"][0]["scores"]
    bare.stop()

    other_port = free_port()
    with_agent = start_scorer(world, kserve_agent="true", kserve_agent_port=str(other_port))
    assert with_agent.post(PREDICT, body).status_code == 200
    with socket.socket() as probe:  # the agent's to bind: nothing listens there
        assert probe.connect_ex(("127.0.0.1", other_port)) != 0
