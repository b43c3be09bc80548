"""The V1 predict lane (``TIPSML_PREDICT_LANE``, on by default) answers exactly as KServe's own route does.

Two real scorer servers on the same world: the default one and one with the lane off (every request through
KServe's FastAPI app). The same requests, good and bad, get the same status, body and content type from
both; KServe's own per-request metrics count the lane's requests too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest

from bench.scorer_world import ScorerProcess, ScorerWorld, spawn_scorer
from predictors.common.limits import DEFAULT_MAX_REQUEST_BYTES

pytestmark = pytest.mark.integration

PREDICT = "/v1/models/tip-scorer:predict"
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def router_server(world: ScorerWorld, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScorerProcess]:
    """The scorer with the lane off: KServe's route answers every request."""
    server = spawn_scorer(world, tmp_path_factory.mktemp("router-server"), predict_lane="false")
    yield server
    server.stop()


def _cases(world: ScorerWorld) -> dict[str, tuple[bytes, dict[str, str]]]:
    good = {
        "instances": [
            {"user_id": world.users[0], "candidates": world.tips[:5], "request_id": "r-1"},
            {"user_id": "nobody-yet", "candidates": world.tips[5:8], "request_id": "r-2",
             "profile_features": {"tenure_days": 3}},
        ]
    }
    one = json.dumps(good).encode()
    return {
        "ranked": (one, JSON),
        "no content type": (one, {}),
        "a content type KServe passes as bytes": (one, {"content-type": "text/plain"}),
        "no instances": (b'{"requests": []}', JSON),
        "empty instances": (b'{"instances": []}', JSON),
        "a missing user id": (json.dumps({"instances": [{"candidates": ["t"]}]}).encode(), JSON),
        "repeated candidates": (json.dumps({"instances": [{"user_id": "u", "candidates": ["a", "a"]}]}).encode(), JSON),
        "malformed JSON": (b'{"instances": [', JSON),
        "a JSON array": (b"[1, 2]", JSON),
        "a structured CloudEvent": (
            json.dumps({"specversion": "1.0", "type": "t", "source": "s", "id": "1", "time": "2026-01-01T00:00:00Z",
                        "data": good}).encode(),
            JSON,
        ),
        "over the body limit": (b'{"instances": [' + b" " * (DEFAULT_MAX_REQUEST_BYTES + 10) + b"]}", JSON),
    }


def test_every_request_gets_what_kserves_route_answers(
    alias_server: ScorerProcess, router_server: ScorerProcess, world: ScorerWorld
) -> None:
    statuses = set()
    for name, (body, headers) in _cases(world).items():
        lane = httpx.post(alias_server.url + PREDICT, content=body, headers=headers, timeout=10)
        route = httpx.post(router_server.url + PREDICT, content=body, headers=headers, timeout=10)
        assert (lane.status_code, lane.headers.get("content-type")) == (
            route.status_code,
            route.headers.get("content-type"),
        ), name
        assert lane.json() == route.json(), name
        statuses.add(lane.status_code)
    assert statuses == {200, 400, 413}  # the cases reach every kind of answer


def _count(server: ScorerProcess, series: str) -> float:
    text = server.get("/metrics").text
    found = re.search(rf"^{re.escape(series)} ([0-9.e+]+)$", text, re.MULTILINE)
    assert found, f"{series} not in /metrics"
    return float(found.group(1))


def test_kserve_and_scorer_metrics_count_the_lanes_requests(alias_server: ScorerProcess, world: ScorerWorld) -> None:
    predict_count = 'request_predict_seconds_count{model_name="tip-scorer"}'
    before = _count(alias_server, predict_count)
    body = {"instances": [{"user_id": world.users[1], "candidates": world.tips[:4]}]}
    for _ in range(3):
        assert alias_server.post(PREDICT, body).status_code == 200
    assert _count(alias_server, predict_count) == before + 3
