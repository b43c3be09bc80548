"""The consumers' reward counters, read over HTTP from their ``/metrics``, fed through a real nats-server.

The canary gate divides ``tipsml_rewards_positive_total`` by ``tipsml_rewards_shown_total`` per model version:
each impression must count once as shown and at most once as positive, in whichever order its ``tip_shown``
and ``tip_reaction`` arrive and however often either is delivered.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from ingest_helpers import Running, payload, publish
from nats.js import JetStreamContext
from prometheus_client.parser import text_string_to_metric_families

from contracts import serving_metrics as sm
from tipsml.stack.processes import free_port

pytestmark = pytest.mark.integration


def counters(port: int) -> dict[tuple[str, str, str], float]:
    """``(metric, model_version, prompt_version) -> value`` of both reward counters on ``/metrics``."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    out: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name in (sm.REWARDS_SHOWN_TOTAL, sm.REWARDS_POSITIVE_TOTAL):
                key = (s.name, s.labels[sm.LABEL_MODEL_VERSION], s.labels[sm.LABEL_PROMPT_VERSION])
                out[key] = s.value
    return out


def shown(n: int, model: str, prompt: str | None) -> dict[str, Any]:
    return payload("tip_shown", n, request_id=f"rm-{n}", tip_id=f"tip-{n}", model_version=model,
                   prompt_version=prompt)


def reaction(n: int, kind: str) -> dict[str, Any]:
    return payload("tip_reaction", n, request_id=f"rm-{n}", tip_id=f"tip-{n}", reaction=kind)


async def test_rewards_are_counted_once_per_impression_by_model_and_prompt_version(
    jetstream: JetStreamContext, start_consumer: Any
) -> None:
    port = free_port()
    r: Running = await start_consumer(metrics_port=port)
    first = [
        shown(1, "3", "v1"), reaction(1, "liked"),  # joined, positive
        shown(2, "3", "v1"), reaction(2, "dismissed"),  # joined, negative
        reaction(3, "acted"),  # the reaction first: positive only once its impression arrives
        shown(4, "4", None),  # a catalogue tip: no prompt version
        shown(5, "4", "v2"),  # no reaction yet
    ]
    for ev in first:
        await publish(jetstream, ev)
    await r.wait_for(lambda: r.count("acked") == len(first))
    assert counters(port) == {
        (sm.REWARDS_SHOWN_TOTAL, "3", "v1"): 2.0,
        (sm.REWARDS_POSITIVE_TOTAL, "3", "v1"): 1.0,
        (sm.REWARDS_SHOWN_TOTAL, "4", ""): 1.0,
        (sm.REWARDS_SHOWN_TOTAL, "4", "v2"): 1.0,
    }

    late_impression = shown(3, "4", "v2")
    again = [
        late_impression,
        {**first[0], "_subject": "feedback.tip_shown"},  # redelivered under another Nats-Msg-Id
        reaction(1, "acted"),  # a second positive reaction to an impression already counted positive
        reaction(5, "liked"),
    ]
    await publish(jetstream, again[0])
    await publish(jetstream, again[1], msg_id=f"{first[0]['event_id']}-redelivered")
    for ev in again[2:]:
        await publish(jetstream, ev)
    await r.wait_for(lambda: r.count("acked") == len(first) + len(again))
    assert r.count("duplicates") == 1
    assert counters(port) == {
        (sm.REWARDS_SHOWN_TOTAL, "3", "v1"): 2.0,
        (sm.REWARDS_POSITIVE_TOTAL, "3", "v1"): 1.0,
        (sm.REWARDS_SHOWN_TOTAL, "4", ""): 1.0,
        (sm.REWARDS_SHOWN_TOTAL, "4", "v2"): 2.0,
        (sm.REWARDS_POSITIVE_TOTAL, "4", "v2"): 2.0,
    }
