"""The real ``python -m predictors.generator`` (kserve.ModelServer) on a free port, called over HTTP."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from contracts.crds import PromptVersionSpec
from contracts.prompt_registry import registry_document_text
from tipsml.stack.processes import free_port, spawn, stop_pid

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@dataclass
class Server:
    url: str
    prompts: Path
    experiment: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("generator")
    port = free_port()
    env = {
        "TIPSML_GENERATOR_HTTP_PORT": str(port),
        "TIPSML_GENERATOR_PROMPTS_DIR": str(root / "prompts"),
        "TIPSML_GENERATOR_EXPERIMENT_FILE": str(root / "experiment.json"),
        "TIPSML_GENERATOR_REWARD_DB": str(root / "state.db"),
        "TIPSML_GENERATOR_USE_FEATURE_STORE": "false",
        "TIPSML_GENERATOR_RELOAD_INTERVAL_SECONDS": "0.2",
    }
    rec = spawn(
        "generator",
        [sys.executable, "-m", "predictors.generator"],
        port,
        root / "pids",
        root / "generator.log",
        env=env,
        ready_timeout=180.0,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if httpx.get(f"{url}/v1/models/tip-generator").json().get("ready"):
            break
        time.sleep(0.2)
    yield Server(url, root / "prompts", root / "experiment.json")
    stop_pid(rec.pid)


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
