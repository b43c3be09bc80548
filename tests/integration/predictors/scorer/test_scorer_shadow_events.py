"""The shadow scorer fed the way KServe's inference logger feeds it: binary CloudEvents on V1 ``:predict``.

A real champion process answers the request; the real shadow process gets the request and the champion's
response as the logger's two events (either order), pairs them by ``ce-id`` and exports the rank agreement
that the operator's local metrics provider then turns into the shadow gate's observation.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from bench.scorer_world import ScorerProcess, ScorerWorld
from contracts import serving_metrics as sm
from operators.metrics import MetricsQuery, ShadowObservation
from operators.metrics_sources import LocalProvider
from predictors.scorer.shadow import REQUEST_EVENT, RESPONSE_EVENT, kendall_tau, rankings

pytestmark = pytest.mark.integration

PREDICT = "/v1/models/tip-scorer:predict"
StartScorer = Callable[..., ScorerProcess]


def post_event(shadow: ScorerProcess, event_type: str, event_id: str, body: Any) -> httpx.Response:
    """One event as KServe v0.20's logger agent posts it (binary content mode, its extension attributes)."""
    headers = {
        "ce-id": event_id,  # the same for a request and its response
        "ce-type": event_type,
        "ce-source": "http://localhost:9081/",
        "ce-specversion": "1.0",
        "ce-time": datetime.now(UTC).isoformat(),
        "ce-inferenceservicename": "tip-scorer",
        "ce-namespace": "tipsml",
        "ce-component": "predictor",
        "ce-endpoint": "",
        "ce-metadata": "{}",
        "content-type": "application/json",
    }
    return httpx.post(shadow.url + PREDICT, json=body, headers=headers, timeout=10)


def reversed_ranking(response: dict[str, Any]) -> dict[str, Any]:
    """The champion's answer with every instance's scores handed out in the opposite order."""
    out = []
    for p in response["predictions"]:
        scores = [s["score"] for s in p["scores"]]
        out.append({**p, "scores": [{"tip_id": s["tip_id"], "score": v}
                                    for s, v in zip(p["scores"], reversed(scores), strict=True)]})
    return {"predictions": out}


def scraped(shadow: ScorerProcess, name: str, **labels: str) -> float:
    for line in shadow.get("/metrics").text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_shadow_pairs_logger_events_and_exports_rank_agreement(
    start_scorer: StartScorer, alias_server: ScorerProcess, world: ScorerWorld
) -> None:
    shadow = start_scorer(world, role="shadow", shadow_pending_max="2")
    request = {"instances": [{"user_id": world.users[3], "candidates": world.tips[:20], "request_id": "r-1"}]}
    champion = alias_server.post(PREDICT, request)
    assert champion.status_code == 200, champion.text

    same, reversed_id = str(uuid.uuid4()), str(uuid.uuid4())
    r = post_event(shadow, REQUEST_EVENT, same, request)
    assert r.status_code == 200 and r.json() == {"event": REQUEST_EVENT, "paired": False}, r.text
    assert post_event(shadow, RESPONSE_EVENT, same, champion.json()).json()["paired"] is True
    # The other order, against a champion that ranked everything backwards.
    assert post_event(shadow, RESPONSE_EVENT, reversed_id, reversed_ranking(champion.json())).json()["paired"] is False
    assert post_event(shadow, REQUEST_EVENT, reversed_id, request).json()["paired"] is True

    # Halves that never find their partner are dropped at the cap (2) and counted.
    post_event(shadow, REQUEST_EVENT, "lonely-request", request)
    for n in range(3):
        post_event(shadow, RESPONSE_EVENT, f"lonely-response-{n}", champion.json())
    # Neither event type breaks on a bad body or an unknown type; all are the logger's 4xx, never a user's.
    assert post_event(shadow, RESPONSE_EVENT, "bad", {"predictions": [{"scores": 1}]}).status_code == 400
    assert post_event(shadow, REQUEST_EVENT, "bad", {"instances": []}).status_code == 400
    assert post_event(shadow, "org.example.other", "bad", request).status_code == 400

    version = {sm.LABEL_MODEL_VERSION: world.version, sm.LABEL_ROLE: "shadow"}
    assert scraped(shadow, f"{sm.RANK_AGREEMENT}_count", **version) == 2.0
    # The same model scores the same request alike (tau 1); the reversal is about -1 (the model's tied scores
    # stay tied, so not exactly).
    backwards = kendall_tau(rankings(champion.json())[0], rankings(reversed_ranking(champion.json()))[0])
    assert backwards is not None and backwards < -0.9
    expected = 1.0 + backwards
    assert scraped(shadow, f"{sm.RANK_AGREEMENT}_sum", **version) == pytest.approx(expected)
    assert scraped(shadow, sm.SHADOW_UNPAIRED_TOTAL, reason="expired", **version) == 2.0
    assert scraped(shadow, sm.REQUESTS_TOTAL, **version) == 3.0  # every mirrored request scored once
    assert scraped(shadow, f"{sm.SCORE}_count", **version) == 60.0  # its score histogram: 3 x 20 candidates

    # The operator's local provider reads the gate's observation from the shadow's (and champion's) /metrics.
    query = MetricsQuery("tipsml", "tip-scorer", world.version, world.version, datetime(2000, 1, 1, tzinfo=UTC))

    async def observe() -> ShadowObservation:
        provider = LocalProvider([shadow.url + "/metrics", alias_server.url + "/metrics"], None)
        try:
            return await provider.shadow(query)
        finally:
            await provider.aclose()

    obs = asyncio.run(observe())
    assert obs.samples == 3 and obs.error_rate == 0.0 and obs.p99_latency_ms is not None
    assert obs.rank_agreement == pytest.approx(expected / 2)
    assert obs.psi is not None
