"""Hostile bodies against the real scorer server: non-finite features, oversized bodies, malformed JSON."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from bench.scorer_world import ScorerProcess
from feature_repo.features import MODEL_FEATURES
from predictors.common.limits import DEFAULT_MAX_REQUEST_BYTES

pytestmark = pytest.mark.integration

PREDICT = "/v1/models/tip-scorer:predict"
INFER = "/v2/models/tip-scorer/infer"
NON_FINITE = [float("nan"), float("inf"), float("-inf"), 1e308, -1e308]


def _post_raw(server: ScorerProcess, path: str, body: object) -> httpx.Response:
    content = json.dumps(body).encode()  # NaN and Infinity as JavaScript writes them
    return httpx.post(server.url + path, content=content, headers={"content-type": "application/json"}, timeout=10)


@pytest.mark.parametrize("value", NON_FINITE, ids=str)
def test_v2_matrix_with_a_non_finite_or_overflowing_value_is_400_naming_the_input(
    alias_server: ScorerProcess, value: float
) -> None:
    data = [0.5] * len(MODEL_FEATURES)
    data[1] = value
    body = {"inputs": [{"name": "features", "datatype": "FP64", "shape": [1, len(MODEL_FEATURES)], "data": data}]}
    r = _post_raw(alias_server, INFER, body)
    assert r.status_code == 400, r.text
    assert "inputs.features" in r.json()["error"]


@pytest.mark.parametrize("value", NON_FINITE, ids=str)
def test_v2_named_tensor_with_a_non_finite_value_is_400_naming_it(alias_server: ScorerProcess, value: float) -> None:
    inputs = [
        {"name": f, "datatype": "FP64", "shape": [1], "data": [value if i == 0 else 1.0]}
        for i, f in enumerate(MODEL_FEATURES)
    ]
    r = _post_raw(alias_server, INFER, {"inputs": inputs})
    assert r.status_code == 400, r.text
    assert f"inputs.{MODEL_FEATURES[0]}" in r.json()["error"]


@pytest.mark.parametrize("path", [PREDICT, INFER])
def test_a_body_over_the_limit_is_413_with_a_message(alias_server: ScorerProcess, path: str) -> None:
    big = b'{"instances": [' + b" " * (DEFAULT_MAX_REQUEST_BYTES + 10) + b"]}"
    r = httpx.post(alias_server.url + path, content=big, headers={"content-type": "application/json"}, timeout=10)
    assert r.status_code == 413 and "limit" in r.json()["error"]

    def chunks() -> object:  # no Content-Length: the limit holds on the bytes received
        yield b'{"instances": ['
        for _ in range(40):
            yield b" " * 65536
        yield b"]}"

    r = httpx.post(alias_server.url + path, content=chunks(), headers={"content-type": "application/json"}, timeout=10)
    assert r.status_code == 413 and "limit" in r.json()["error"]
    assert alias_server.get("/v2/health/ready").status_code == 200


def test_malformed_json_is_one_log_line_not_a_traceback(alias_server: ScorerProcess) -> None:
    before = alias_server.log.read_text(errors="replace")
    r = httpx.post(alias_server.url + PREDICT, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    time.sleep(0.3)
    new = alias_server.log.read_text(errors="replace")[len(before) :]
    assert "Traceback" not in new, new
    assert len([line for line in new.splitlines() if "InvalidInput" in line]) == 1, new
