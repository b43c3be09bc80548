"""Turn a predictor's typed errors into HTTP responses through ONE table per predictor.

KServe's own handlers log a full traceback at ERROR for every bad request and send 500 for anything it does
not know. Predictors instead declare ``{error class: status}`` once and install it on the FastAPI app that
``kserve.ModelServer`` (or a bare app in a benchmark) serves; Starlette picks a handler by the exception's
MRO, so these win over KServe's catch-all ``Exception`` handler.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

ErrorTable = Mapping[type[Exception], HTTPStatus]

log = logging.getLogger(__name__)


def status_for(exc: BaseException, table: ErrorTable) -> HTTPStatus:
    """Status of the most specific class in ``table`` that ``exc`` is an instance of (500 if none)."""
    for cls in type(exc).__mro__:
        status = table.get(cls)
        if status is not None:
            return status
    return HTTPStatus.INTERNAL_SERVER_ERROR


def error_body(exc: BaseException) -> dict[str, str]:
    """KServe's error shape: ``{"error": message}``; the message names the field for bad input."""
    return {"error": str(exc)}


def install_error_handlers(app: FastAPI, table: ErrorTable) -> None:
    """Register one handler per class in ``table`` on ``app``."""

    async def handle(request: Request, exc: Exception) -> Response:
        status = status_for(exc, table)
        # Messages name fields and ids, never user text, so they are safe to log.
        level = logging.ERROR if status >= HTTPStatus.INTERNAL_SERVER_ERROR else logging.WARNING
        log.log(
            level, "%s %s -> %d %s: %s", request.method, request.url.path, status, type(exc).__name__, exc
        )
        return JSONResponse(status_code=int(status), content=error_body(exc))

    for cls in table:
        app.add_exception_handler(cls, handle)


def describe_request_validation(exc: RequestValidationError) -> str:
    """``inputs.0.datatype: Field required; ...`` for a FastAPI body that does not parse.

    KServe's V2 body is ``InferenceRequest | bytes``; the ``bytes`` alternative's complaint and the union
    member's name say nothing to the caller, so both are dropped.
    """
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        if loc[:1] == ["body"]:
            loc = loc[1:]
        if loc[:1] == ["bytes"]:
            continue
        if loc[:1] == ["InferenceRequest"]:
            loc = loc[1:]
        parts.append(f"{'.'.join(loc) or '(root)'}: {err.get('msg', 'invalid')}")
    return "invalid request: " + ("; ".join(parts) or "body does not parse")


def install_request_validation_handler(app: FastAPI) -> None:
    """A body FastAPI cannot parse (V2 ``InferenceRequest``) is a 400 naming the field, not a 422."""

    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        message = describe_request_validation(exc)
        log.warning("%s %s -> 400 %s", request.method, request.url.path, message)
        return JSONResponse(status_code=int(HTTPStatus.BAD_REQUEST), content={"error": message})

    app.add_exception_handler(RequestValidationError, handle)
