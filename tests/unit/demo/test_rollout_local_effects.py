"""The local rollout backend's bookkeeping, with fake processes: what each action starts, stops and routes."""

from __future__ import annotations

import json
from typing import Any

import httpx

from operators.effects import RolloutEffectsPort
from operators.rollout_machine import MoveChampion, PromoteModel, RestoreBaseline, SetCanary, StartShadow, StopShadow
from tipsml.demo.rollout_local import REQUEST_EVENT, RESPONSE_EVENT, LocalRolloutEffects, LocalScorer

PREDICT = "/v1/models/tip-scorer:predict"


class FakeLauncher:
    """Hands out a fresh "process" per start and remembers which are stopped."""

    def __init__(self) -> None:
        self.started: list[tuple[str, str, str, str, str]] = []
        self.stopped: list[str] = []

    def __call__(self, name: str, *, version: str, model_uri: str, role: str, metrics_role: str) -> LocalScorer:
        self.started.append((name, version, model_uri, role, metrics_role))
        url = f"http://127.0.0.1:{9000 + len(self.started)}"
        return LocalScorer(name, version, url, lambda: self.stopped.append(url))


class FakeRegistry:
    def __init__(self) -> None:
        self.moves: list[tuple[str, str, str, str]] = []

    def move_champion(self, model: str, version: str, *, rollout: str, reason: str) -> None:
        self.moves.append((model, version, rollout, reason))


def _effects(launcher: FakeLauncher, registry: FakeRegistry | None = None,
             transport: httpx.AsyncBaseTransport | None = None) -> LocalRolloutEffects:  # fmt: skip
    champion = LocalScorer("champion", "1", "http://127.0.0.1:9000", lambda: launcher.stopped.append("champion"))
    return LocalRolloutEffects(champion, launcher, registry or FakeRegistry(), model_name="tip-scorer",
                               rollout="r", seed=1, transport=transport)  # fmt: skip


async def test_actions_start_stop_and_route_processes_idempotently() -> None:
    launcher, registry = FakeLauncher(), FakeRegistry()
    effects = _effects(launcher, registry)
    port: RolloutEffectsPort = effects
    assert await port.canary_pending() == "the canary scorer process is not running"

    for _ in range(2):
        await effects.apply(StartShadow("2", None))
    assert launcher.started == [("r-shadow", "2", "models:/tip-scorer/2", "shadow", "shadow")]
    assert effects.metrics_urls() == ["http://127.0.0.1:9000/metrics", "http://127.0.0.1:9001/metrics"]
    await effects.apply(StopShadow())
    assert effects.shadow is None and launcher.stopped == ["http://127.0.0.1:9001"]

    await effects.apply(SetCanary("2", "s3://m/2", 10))
    await effects.apply(SetCanary("2", "s3://m/2", 50))
    assert launcher.started[1:] == [("r-canary", "2", "s3://m/2", "serving", "canary")]
    assert await effects.canary_pending() is None and effects.split == "50 % of requests (client-side split)"
    routes = [effects.route() for _ in range(2000)]
    assert 0.45 < routes.count("http://127.0.0.1:9002") / len(routes) < 0.55

    await effects.apply(RestoreBaseline())
    assert effects.canary is None and effects.split is None and effects.route() == "http://127.0.0.1:9000"

    await effects.apply(SetCanary("2", None, 10))
    await effects.apply(PromoteModel("2", None))
    assert effects.champion.version == "2" and effects.canary is None and "champion" in launcher.stopped
    assert {effects.route() for _ in range(50)} == {effects.champion.url}
    await effects.apply(MoveChampion("2", "promoted"))
    assert registry.moves == [("tip-scorer", "2", "r", "promoted")]
    await effects.aclose()


async def test_the_champions_answers_reach_the_shadow_as_logger_cloudevents() -> None:
    seen: list[httpx.Request] = []

    def shadow(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"paired": len(seen) % 2 == 0})

    launcher = FakeLauncher()
    effects = _effects(launcher, transport=httpx.MockTransport(shadow))
    body: dict[str, Any] = {"instances": [{"user_id": "u", "candidates": ["a", "b"], "request_id": "q"}]}
    answer: dict[str, Any] = {"predictions": [{"model_version": "1", "scores": []}]}
    await effects.mirror(effects.champion.url, body, answer)  # no shadow yet: nothing mirrored
    await effects.apply(StartShadow("2", None))
    await effects.mirror(effects.champion.url, body, answer)
    await effects.mirror("http://127.0.0.1:7777", body, answer)  # not the champion's answer: the logger is on it
    assert effects.mirrored == 1 and len(seen) == 2
    request, response = seen
    assert str(request.url) == "http://127.0.0.1:9001" + PREDICT == str(response.url)
    assert request.headers["ce-type"] == REQUEST_EVENT and response.headers["ce-type"] == RESPONSE_EVENT
    assert request.headers["ce-id"] == response.headers["ce-id"]
    for h in ("ce-source", "ce-specversion", "ce-time", "ce-inferenceservicename", "ce-namespace", "ce-component"):
        assert request.headers[h] and response.headers[h]
    assert request.headers["ce-inferenceservicename"] == "tip-scorer"
    assert json.loads(request.content) == body and json.loads(response.content) == answer

    effects_down = _effects(FakeLauncher(), transport=httpx.MockTransport(lambda r: httpx.Response(503)))
    await effects_down.apply(StartShadow("2", None))
    await effects_down.mirror(effects_down.champion.url, body, answer)  # a failing shadow never raises
    assert effects_down.mirrored == 0 and effects_down.mirror_failures == 1
    await effects.aclose()
    await effects_down.aclose()
