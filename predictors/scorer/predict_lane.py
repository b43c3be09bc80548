"""The V1 predict route answered in front of FastAPI: the scorer's one hot request, without the framework.

A V1 predict through KServe's app passes FastAPI's middleware stack and router (every KServe route is
matched in turn), its dependency resolution, a ``Request`` object, the data plane's decode and encode, and
an ``ORJSONResponse``: about a third of the server's CPU per request (bench/scorer_load.py ``--profile``
prints the frames), none of it scoring. :class:`PredictLane` sits in front of the app and answers the
requests that need none of it itself, with the same calls KServe makes for them:

* ``await model.healthy()`` (KServe's ``model_ready`` before every predict), then ``await model(body,
  headers)``, so KServe's ``request_*_seconds`` histograms, ``preprocess``/``postprocess`` and the
  scorer's own metrics count every request as before;
* the body as ``orjson`` loads it and the response as ``ORJSONResponse`` renders it (same options);
* an exception answered by the handler the app has for it, found by the exception's MRO as Starlette
  finds it: the predictor's one error table, else KServe's.

Everything else goes to the app unchanged, its body replayed: other paths and methods, a model that is not
healthy (KServe's 503), CloudEvents (``ce-*`` headers, a structured event, another content type), and a
body that is not a JSON object with ``instances`` (KServe's or FastAPI's 400). The body limit is checked
before the lane (:class:`~predictors.common.limits.BodySizeLimit` wraps both), so an oversized body is a
413 here too.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Final

import orjson
from starlette.requests import Request

from predictors.common.limits import ASGIApp, Message, Receive, Scope, Send, replaying

JSON_CONTENT: Final = "application/json"
ORJSON_OPTIONS: Final = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
"""What ``ORJSONResponse`` renders with."""
CLOUDEVENT_KEYS: Final = frozenset({"specversion", "type", "source", "id"})
"""Any of these at the top level may make KServe read the body as a structured CloudEvent."""


class PredictLane:
    """ASGI app: ``POST /v1/models/<model>:predict`` of a plain JSON body answered here, the rest by ``app``."""

    def __init__(self, app: Any, model: Any) -> None:
        """``app``: KServe's FastAPI app (its exception handlers answer errors); ``model``: the served model."""
        self.app: ASGIApp = app
        self.model = model
        self.path = f"/v1/models/{model.name}:predict"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a plain V1 predict; hand anything else to the app."""
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        if not _plain(headers) or not await self.model.healthy():
            await self.app(scope, receive, send)
            return
        message = await receive()
        payload = _payload(message)
        if payload is None:
            await self.app(scope, replaying([message], receive), send)
            return
        try:
            response, response_headers = await self.model(payload, headers=headers)
            body = orjson.dumps(response, option=ORJSON_OPTIONS)
        except Exception as exc:  # noqa: BLE001 - answered by the app's handler for it, as the app would
            await self._error(scope, receive, send, exc)
            return
        response_headers.pop("content-length", None)
        await send(
            {
                "type": "http.response.start",
                "status": int(HTTPStatus.OK),
                "headers": [
                    *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response_headers.items()),
                    (b"content-length", str(len(body)).encode()),
                    (b"content-type", JSON_CONTENT.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _error(self, scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
        """The response of the app's handler for ``exc`` (by MRO); with none, the exception propagates."""
        handlers = self.app.exception_handlers  # type: ignore[attr-defined]
        for cls in type(exc).__mro__:
            handler = handlers.get(cls)
            if handler is not None:
                response = await handler(Request(scope, receive), exc)
                await response(scope, receive, send)
                return
        raise exc


def _plain(headers: dict[str, str]) -> bool:
    """A JSON body that is no CloudEvent by its headers (KServe reads these two cases differently)."""
    if headers.get("content-type", JSON_CONTENT) != JSON_CONTENT:
        return False
    return not any(name.startswith("ce-") for name in headers)


def _payload(message: Message) -> dict[str, Any] | None:
    """The parsed body when it is one complete JSON object with ``instances`` and no CloudEvent keys."""
    if message["type"] != "http.request" or message.get("more_body", False):
        return None
    try:
        payload = orjson.loads(message.get("body", b""))
    except orjson.JSONDecodeError:
        return None
    if not isinstance(payload, dict) or "instances" not in payload or not CLOUDEVENT_KEYS.isdisjoint(payload):
        return None
    return payload

