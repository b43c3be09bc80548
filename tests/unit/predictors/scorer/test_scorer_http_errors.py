"""One table maps scorer errors to HTTP status; handlers on a real FastAPI app answer with it."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from contracts.validation import FieldError
from predictors.common.http_errors import (
    install_error_handlers,
    install_request_validation_handler,
    status_for,
)
from predictors.scorer.errors import (
    HTTP_STATUS,
    FeatureStoreUnavailableError,
    InvalidRequestError,
    ModelLoadError,
    ScorerError,
)


class _Sub(FeatureStoreUnavailableError):
    pass


def test_status_table() -> None:
    assert status_for(InvalidRequestError([FieldError("x", "bad")]), HTTP_STATUS) == HTTPStatus.BAD_REQUEST
    assert status_for(FeatureStoreUnavailableError("down"), HTTP_STATUS) == HTTPStatus.SERVICE_UNAVAILABLE
    assert status_for(_Sub("down"), HTTP_STATUS) == HTTPStatus.SERVICE_UNAVAILABLE
    assert status_for(ModelLoadError("x"), HTTP_STATUS) == HTTPStatus.SERVICE_UNAVAILABLE
    assert status_for(ScorerError("x"), HTTP_STATUS) == HTTPStatus.INTERNAL_SERVER_ERROR
    assert status_for(RuntimeError("x"), HTTP_STATUS) == HTTPStatus.INTERNAL_SERVER_ERROR


class _Body(BaseModel):
    n: int


def test_handlers_answer_with_the_table_and_name_fields() -> None:
    app = FastAPI()
    install_error_handlers(app, HTTP_STATUS)
    install_request_validation_handler(app)

    @app.get("/bad")
    async def bad() -> None:
        raise InvalidRequestError([FieldError("instances.0.user_id", "Input should be a valid string")])

    @app.get("/down")
    async def down() -> None:
        raise FeatureStoreUnavailableError("online feature read failed")

    @app.post("/body")
    async def body(b: _Body) -> int:
        return b.n

    client = TestClient(app)
    r = client.get("/bad")
    assert r.status_code == 400
    assert r.json() == {"error": "invalid request: instances.0.user_id: Input should be a valid string"}
    r = client.get("/down")
    assert r.status_code == 503 and "online feature read failed" in r.json()["error"]
    r = client.post("/body", json={"n": "x"})
    assert r.status_code == 400 and "n:" in r.json()["error"]
