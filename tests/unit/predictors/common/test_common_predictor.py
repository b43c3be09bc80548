"""What both predictors share: the error-table rows, request-body parsing and the entry point's exit codes."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from kserve.errors import InvalidInput, ModelNotReady

from contracts.generator import GeneratorRequest
from contracts.scorer import ScorerRequest
from contracts.validation import FieldError, describe
from predictors.common.entry import run_server
from predictors.common.errors import error_table
from predictors.common.http_errors import status_for
from predictors.common.requests import parse_body
from predictors.generator import errors as generator_errors
from predictors.scorer import errors as scorer_errors


class _Base(Exception):
    pass


class _NotReady(_Base):
    pass


class _Own(_Base):
    pass


class _Invalid(_Base):
    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__(describe(errors))


def test_error_table_adds_base_not_ready_and_kserve_rows() -> None:
    table = error_table({_Own: HTTPStatus.BAD_GATEWAY}, base=_Base, not_ready=_NotReady)
    assert status_for(_Own(), table) == HTTPStatus.BAD_GATEWAY
    assert status_for(_NotReady(), table) == HTTPStatus.SERVICE_UNAVAILABLE
    assert status_for(_Base(), table) == HTTPStatus.INTERNAL_SERVER_ERROR
    assert status_for(InvalidInput("x"), table) == HTTPStatus.BAD_REQUEST
    assert status_for(ModelNotReady("m"), table) == HTTPStatus.SERVICE_UNAVAILABLE


@pytest.mark.parametrize(
    ("table", "not_ready", "base"),
    [
        (scorer_errors.HTTP_STATUS, scorer_errors.ScorerNotReadyError, scorer_errors.ScorerError),
        (generator_errors.HTTP_STATUS, generator_errors.GeneratorNotReadyError, generator_errors.GeneratorError),
    ],
)
def test_both_predictors_answer_the_shared_rows_alike(
    table: dict[type[Exception], HTTPStatus], not_ready: type[Exception], base: type[Exception]
) -> None:
    assert status_for(not_ready("not loaded"), table) == HTTPStatus.SERVICE_UNAVAILABLE
    assert status_for(base("x"), table) == HTTPStatus.INTERNAL_SERVER_ERROR
    assert status_for(InvalidInput("x"), table) == HTTPStatus.BAD_REQUEST
    assert status_for(ModelNotReady("m"), table) == HTTPStatus.SERVICE_UNAVAILABLE


def test_parse_body_takes_dicts_bytes_and_text() -> None:
    body = {"instances": [{"user_id": "u1"}]}
    raw = '{"instances": [{"user_id": "u1"}]}'
    for given in (body, raw, raw.encode(), bytearray(raw.encode())):
        assert parse_body(GeneratorRequest, given, _Invalid).instances[0].user_id == "u1"


def test_parse_body_names_every_bad_field() -> None:
    with pytest.raises(_Invalid) as caught:
        parse_body(ScorerRequest, {"instances": [{"user_id": 3}]}, _Invalid)
    fields = {e.field for e in caught.value.errors}
    assert "instances.0.user_id" in fields and "instances.0.candidates" in fields
    with pytest.raises(_Invalid, match=r"^\(root\): Invalid JSON"):
        parse_body(GeneratorRequest, b"{not json", _Invalid)


def test_generator_and_scorer_messages_name_the_field() -> None:
    with pytest.raises(generator_errors.InvalidRequestError, match=r"^instances\.0\.user_id: "):
        parse_body(GeneratorRequest, {"instances": [{}]}, generator_errors.InvalidRequestError)
    with pytest.raises(scorer_errors.InvalidRequestError, match=r"^invalid request: instances\.0\.user_id: "):
        parse_body(ScorerRequest, {"instances": [{"candidates": ["t"]}]}, scorer_errors.InvalidRequestError)


def test_run_server_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    def fails(_: object) -> None:
        raise _Own("no model at /mnt/models")

    assert run_server("tip-x", fails, object(), _Base) == 1
    assert capsys.readouterr().err == "tip-x: no model at /mnt/models\n"
    assert run_server("tip-x", lambda _: None, object(), _Base) == 0

    def bug(_: object) -> None:
        raise KeyError("not ours")

    with pytest.raises(KeyError):
        run_server("tip-x", bug, object(), _Base)
