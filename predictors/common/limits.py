"""What a request may cost a predictor before any of our code runs: a bounded body, and a bounded log.

* Body size: uvicorn and FastAPI read any body whole, so a 10 MB (or 10 GB) POST costs memory and parse time
  before validation can refuse it. :class:`BodySizeLimit` answers ``413`` with a message as soon as the
  declared ``Content-Length`` or the bytes received exceed ``max_bytes`` (``DEFAULT_MAX_REQUEST_BYTES``
  unless the predictor's settings say otherwise; the largest valid scorer body, 32 instances of 100
  candidates with 128-character ids, is about 0.45 MB).
* Log size: KServe's own handlers log ``Exception:`` with a full traceback (27 lines) for every malformed
  JSON body, and replace ours for the errors they know when the server starts. :class:`OneLineClientErrors`
  turns those records into one WARNING line for client errors; a 5xx keeps its traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from typing import Any, Final

DEFAULT_MAX_REQUEST_BYTES: Final = 1024 * 1024
"""1 MiB: twice the largest valid scorer body, far above any generator context (titles are capped)."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodySizeLimit:
    """ASGI middleware: a request body over ``max_bytes`` is a 413 and never reaches the app."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then buffer at most ``max_bytes`` and replay them to the app."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send, int(declared))
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # a disconnect: let the app see it
                read = [message]
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._too_large(send, size)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                read = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]
                break
        await self.app(scope, replaying(read, receive), send)

    async def _too_large(self, send: Send, size: int) -> None:
        logging.getLogger(__name__).warning("request body of %d bytes refused (limit %d)", size, self.max_bytes)
        body = json.dumps(
            {"error": f"request body too large: {size} bytes, the limit is {self.max_bytes} bytes"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": int(HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


def replaying(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` that yields ``messages`` first (what a middleware already read), then the connection's own."""
    pending = iter(messages)

    async def replayed() -> Message:
        for message in pending:
            return message
        return await receive()

    return replayed


class OneLineClientErrors(logging.Filter):
    """Strip the traceback from KServe's log records of client errors (those mapped below 500)."""

    def __init__(self, client_errors: tuple[type[BaseException], ...]) -> None:
        super().__init__()
        self.client_errors = client_errors

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite a matching record to ``<Error>: <message>`` at WARNING; always keep the record."""
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and isinstance(exc, self.client_errors):
            record.msg, record.args = "%s: %s", (type(exc).__name__, " ".join(str(exc).split()))
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True
