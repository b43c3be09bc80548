"""Which requests the V1 predict lane answers itself and which it hands to KServe's app, body intact.

The app and the model here are recorders: the lane's contract is to call one or the other. That the lane's
answers equal KServe's route is proven against two real servers in
``tests/integration/predictors/scorer/test_predict_lane.py``.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from contracts.validation import FieldError
from predictors.scorer.errors import InvalidRequestError
from predictors.scorer.predict_lane import PredictLane

PATH = "/v1/models/tip-scorer:predict"
BODY = orjson.dumps({"instances": [{"user_id": "u", "candidates": ["a"]}]})


class Model:
    name = "tip-scorer"

    def __init__(self, healthy: bool = True, fails: Exception | None = None) -> None:
        self.is_healthy = healthy
        self.fails = fails
        self.calls: list[tuple[Any, dict[str, str]]] = []

    async def healthy(self) -> bool:
        return self.is_healthy

    async def __call__(self, payload: Any, headers: dict[str, str]) -> tuple[Any, dict[str, str]]:
        self.calls.append((payload, headers))
        if self.fails is not None:
            raise self.fails
        return {"predictions": [{"score": 0.5}]}, {}


class App:
    """KServe's app as the lane sees it: an ASGI callable with exception handlers."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.exception_handlers: dict[type, Any] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        self.bodies.append(message.get("body", b""))
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def _call(lane: PredictLane, body: bytes, headers: dict[str, str], path: str = PATH) -> list[Any]:
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "query_string": b"",
        "scheme": "http",
        "server": ("127.0.0.1", 80),
    }
    sent: list[Any] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Any:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    await lane(scope, receive, send)
    return sent


async def test_a_plain_predict_is_answered_by_the_model_not_the_app() -> None:
    app, model = App(), Model()
    sent = await _call(PredictLane(app, model), BODY, {"content-type": "application/json", "x-request-id": "r"})
    assert app.bodies == []
    assert model.calls == [(orjson.loads(BODY), {"content-type": "application/json", "x-request-id": "r"})]
    assert sent[0]["status"] == 200
    assert (b"content-type", b"application/json") in sent[0]["headers"]
    assert orjson.loads(sent[1]["body"]) == {"predictions": [{"score": 0.5}]}


@pytest.mark.parametrize(
    ("body", "headers", "path"),
    [
        (BODY, {"content-type": "application/json"}, "/v2/models/tip-scorer/infer"),
        (BODY, {"content-type": "text/plain"}, PATH),
        (BODY, {"content-type": "application/json", "ce-type": "org.kubeflow.serving.inference.request"}, PATH),
        (b'{"instances": [', {"content-type": "application/json"}, PATH),
        (b"[1]", {"content-type": "application/json"}, PATH),
        (b'{"requests": []}', {"content-type": "application/json"}, PATH),
        (b'{"instances": [], "specversion": "1.0"}', {"content-type": "application/json"}, PATH),
    ],
    ids=["another route", "not JSON by type", "binary CloudEvent", "malformed", "not an object", "no instances",
         "structured CloudEvent"],
)
async def test_anything_else_goes_to_the_app_with_its_body(body: bytes, headers: dict[str, str], path: str) -> None:
    app, model = App(), Model()
    sent = await _call(PredictLane(app, model), body, headers, path)
    assert model.calls == []
    assert app.bodies == [body]
    assert sent[0]["status"] == 299


async def test_an_unhealthy_model_is_left_to_kserves_not_ready_answer() -> None:
    app, model = App(), Model(healthy=False)
    await _call(PredictLane(app, model), BODY, {})
    assert model.calls == [] and app.bodies == [BODY]


async def test_an_error_is_answered_by_the_apps_handler_for_its_class() -> None:
    app, model = App(), Model(fails=InvalidRequestError([FieldError("instances.0.user_id", "Field required")]))
    seen: list[Exception] = []

    async def handler(request: Any, exc: Exception) -> Any:
        from starlette.responses import JSONResponse

        seen.append(exc)
        return JSONResponse({"error": str(exc)}, status_code=400)

    app.exception_handlers[Exception] = handler  # found by the MRO, as Starlette finds it
    sent = await _call(PredictLane(app, model), BODY, {})
    assert seen == [model.fails] and app.bodies == []
    assert sent[0]["status"] == 400
    assert orjson.loads(sent[1]["body"]) == {"error": str(model.fails)}


async def test_an_error_the_app_has_no_handler_for_propagates() -> None:
    app, model = App(), Model(fails=RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        await _call(PredictLane(app, model), BODY, {})
