"""Request validation: every rejection names the offending field."""

from __future__ import annotations

from typing import Any

import pytest
from kserve.protocol.infer_type import InferInput

from predictors.scorer.errors import InvalidRequestError
from predictors.scorer.requests import parse_v1, parse_v2

FEATURES = ("a", "b", "c")


def test_valid_v1_request_parses_from_dict_and_bytes() -> None:
    body = {
        "instances": [{"user_id": "u-1", "candidates": ["t1", "t2"], "profile_features": {"tenure_days": 3}}]
    }
    req = parse_v1(body, 100)
    assert req.instances[0].candidates == ["t1", "t2"]
    assert (
        req.instances[0].profile_features is not None and req.instances[0].profile_features.tenure_days == 3
    )
    assert (
        parse_v1(b'{"instances": [{"user_id": "u", "candidates": ["t"]}]}', 100).instances[0].user_id == "u"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"instances": [{"user_id": 1, "candidates": ["t"]}]}, "instances.0.user_id"),
        ({"instances": [{"user_id": "u", "candidates": []}]}, "instances.0.candidates"),
        ({"instances": [{"user_id": "u", "candidates": ["t"], "extra": 1}]}, "instances.0.extra"),
        (
            {"instances": [{"user_id": "u", "candidates": ["t"], "profile_features": {"tenure_days": 1.5}}]},
            "instances.0.profile_features.tenure_days",
        ),
        (
            {
                "instances": [
                    {"user_id": "u", "candidates": ["t"], "profile_features": {"preferred_hour": 24}}
                ]
            },
            "instances.0.profile_features.preferred_hour",
        ),
        (
            {
                "instances": [
                    {"user_id": "u", "candidates": ["t"], "profile_features": {"notifications_enabled": 1}}
                ]
            },
            "instances.0.profile_features.notifications_enabled",
        ),
        ({"instances": [{"user_id": "bad id!", "candidates": ["t"]}]}, "instances.0.user_id"),
        ({"instances": [{"candidates": ["t"]}]}, "instances.0.user_id"),
        ([1, 2], "(root)"),
        (b"{oops", "(root)"),
    ],
)
def test_invalid_v1_names_the_field(body: Any, field: str) -> None:
    with pytest.raises(InvalidRequestError) as exc:
        parse_v1(body, 100)
    assert any(e.field == field for e in exc.value.errors), exc.value.errors
    assert field in str(exc.value)


def test_settings_limit_and_duplicates_are_checked_after_the_contract() -> None:
    with pytest.raises(InvalidRequestError, match=r"instances\.0\.candidates: at most 2 candidates, got 3"):
        parse_v1({"instances": [{"user_id": "u", "candidates": ["a", "b", "c"]}]}, 2)
    with pytest.raises(InvalidRequestError, match=r"instances\.1\.candidates: candidates must be distinct"):
        parse_v1(
            {
                "instances": [
                    {"user_id": "u", "candidates": ["a"]},
                    {"user_id": "u", "candidates": ["b", "b"]},
                ]
            },
            5,
        )


def _inp(name: str, shape: list[int], data: list[Any], datatype: str = "FP64") -> InferInput:
    return InferInput(name=name, shape=shape, datatype=datatype, data=data)


def test_v2_matrix_and_columns_give_the_same_rows() -> None:
    matrix = parse_v2([_inp("features", [2, 3], [1, 2, 3, 4, 5, 6])], FEATURES, 10)
    columns = parse_v2(
        [_inp("c", [2], [3, 6]), _inp("a", [2], [1, 4], "INT64"), _inp("b", [2, 1], [2, 5], "FP32")],
        FEATURES,
        10,
    )
    assert matrix.tolist() == columns.tolist() == [[1, 2, 3], [4, 5, 6]]


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        ([], "inputs"),
        ([_inp("features", [1, 2], [1, 2])], "inputs.features"),
        ([_inp("features", [2, 3], [1, 2, 3])], "inputs.features"),
        ([_inp("features", [1, 3], ["x", "y", "z"], "BYTES")], "inputs.features"),
        ([_inp("a", [1], [1]), _inp("b", [1], [1])], "inputs.c"),
        ([_inp("a", [1], [1]), _inp("b", [1], [1]), _inp("c", [1], [1]), _inp("d", [1], [1])], "inputs.d"),
        ([_inp("a", [1], [1]), _inp("b", [2], [1, 2]), _inp("c", [1], [1])], "inputs"),
        ([_inp("features", [11, 3], [0] * 33)], "inputs"),
    ],
)
def test_invalid_v2_names_the_input(inputs: list[InferInput], field: str) -> None:
    with pytest.raises(InvalidRequestError) as exc:
        parse_v2(inputs, FEATURES, 10)
    assert any(e.field == field for e in exc.value.errors), exc.value.errors
