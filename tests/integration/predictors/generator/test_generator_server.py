"""The real ``python -m predictors.generator`` (kserve.ModelServer) on a free port, called over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from contracts.crds import PromptVersionSpec
from contracts.prompt_registry import registry_document_text
from tests.integration.predictors.generator_process import GeneratorProcess, running_generator

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


Server = GeneratorProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_generator(tmp_path_factory.mktemp("generator"),
                           TIPSML_GENERATOR_RELOAD_INTERVAL_SECONDS="0.2") as generator:
        yield generator


def predict(server: Server, body: object) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/models/tip-generator:predict", json=body, timeout=30)


def test_generates_with_default_and_requested_versions(server: Server) -> None:
    r = predict(
        server,
        {"instances": [{"user_id": "u1", "request_id": "r-1"}, {"user_id": "u1", "prompt_version": "v2"}]},
    )
    assert r.status_code == 200
    first, second = r.json()["predictions"]
    assert first["request_id"] == "r-1" and first["prompt_version"] == "v1" and first["text"]
    assert first["selection"]["source"] == "default" and first["model"] == "tipsml/offline"
    assert second["prompt_version"] == "v2" and second["selection"]["source"] == "request"


def test_unknown_version_and_bad_body_are_400(server: Server) -> None:
    r = predict(server, {"instances": [{"user_id": "u1", "prompt_version": "v404"}]})
    assert r.status_code == 400
    assert "prompt_version 'v404' is unknown" in r.json()["error"]
    assert "v1" not in r.json()["error"] and "v2" not in r.json()["error"]  # no catalogue for anonymous callers
    r = predict(server, {"instances": [{"uid": "u1"}]})
    assert r.status_code == 400 and "user_id" in r.json()["error"]


def test_new_version_and_experiment_without_restart(server: Server) -> None:
    spec = PromptVersionSpec(version="v3", template="Short tip for {{ weekday }}")
    (server.prompts / "v3.json").write_text(registry_document_text(spec))
    server.experiment.write_text(
        json.dumps(
            {
                "active": {
                    "kind": "ab",
                    "name": "v3-test",
                    "salt": "x",
                    "arms": [{"prompt_version": "v3", "weight": 1}],
                }
            }
        )
    )
    deadline = time.monotonic() + 10
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        body = predict(server, {"instances": [{"user_id": "u9"}]}).json()["predictions"][0]
        if body["prompt_version"] == "v3":
            break
        time.sleep(0.3)
    assert body["prompt_version"] == "v3"
    assert body["selection"] == {
        "source": "experiment",
        "arm": "v3",
        "experiment": "v3-test",
        "propensity": 1.0,
    }
    server.experiment.write_text(json.dumps({"active": None}))
