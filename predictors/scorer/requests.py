"""Validate scorer requests: V1 bodies against ``contracts.scorer``, V2 tensors against the feature list.

Every rejection is an ``InvalidRequestError`` whose message names the field (``instances.0.candidates``,
``inputs.tenure_days``), so the caller sees a 400 it can act on, never a 500.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from contracts.scorer import ScorerRequest
from contracts.validation import FieldError
from predictors.common.requests import parse_body
from predictors.scorer.errors import InvalidRequestError
from predictors.scorer.model_store import Matrix

FEATURES_TENSOR = "features"
"""V2 input name of a ``[rows, len(features)]`` matrix in serving feature order."""

MAX_FEATURE_ABS = float(np.finfo(np.float32).max)
"""Largest magnitude a feature value may have: the model bins features as float32, so 1e308 would overflow to
infinity there and score as garbage with a 200. NaN and infinities are refused too, as V1's JSON parser does."""

NUMERIC_V2_DATATYPES = frozenset(
    {"FP16", "FP32", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "BOOL"}
)


def parse_v1(body: Any, max_candidates: int) -> ScorerRequest:
    """A validated V1 request, or a 400 listing every bad field."""
    request = parse_body(ScorerRequest, body, InvalidRequestError)
    errors: list[FieldError] = []
    for i, instance in enumerate(request.instances):
        field = f"instances.{i}.candidates"
        if len(instance.candidates) > max_candidates:
            errors.append(
                FieldError(field, f"at most {max_candidates} candidates, got {len(instance.candidates)}")
            )
        if len(set(instance.candidates)) != len(instance.candidates):
            errors.append(FieldError(field, "candidates must be distinct tip ids"))
    if errors:
        raise InvalidRequestError(errors)
    return request


def _tensor(inp: Any, field: str) -> Matrix:
    if inp.datatype not in NUMERIC_V2_DATATYPES:
        raise InvalidRequestError([FieldError(field, f"datatype {inp.datatype} is not numeric")])
    try:
        values = np.asarray(inp.as_numpy(), dtype=np.float64)
    except (ValueError, TypeError, OverflowError) as e:
        raise InvalidRequestError(
            [FieldError(field, f"data does not fit shape {list(inp.shape)}: {e}")]
        ) from e
    bad = ~(np.abs(values) <= MAX_FEATURE_ABS)  # NaN compares False, so it is caught here too
    if bad.any():
        first = values.reshape(-1)[int(np.flatnonzero(bad.reshape(-1))[0])]
        raise InvalidRequestError(
            [
                FieldError(
                    field,
                    f"{int(bad.sum())} value(s) not finite or beyond +-{MAX_FEATURE_ABS:.3g} (first: {float(first)!r})",
                )
            ]
        )
    return values


def parse_v2(inputs: Sequence[Any], features: Sequence[str], max_rows: int) -> Matrix:
    """Rows to score from V2 inputs: one ``features`` matrix, or one 1-D tensor per feature name."""
    if not inputs:
        raise InvalidRequestError([FieldError("inputs", "at least one input tensor is required")])
    if len(inputs) == 1 and inputs[0].name == FEATURES_TENSOR:
        rows = _tensor(inputs[0], f"inputs.{FEATURES_TENSOR}")
        if rows.ndim != 2 or rows.shape[1] != len(features):
            raise InvalidRequestError(
                [
                    FieldError(
                        f"inputs.{FEATURES_TENSOR}",
                        f"shape must be [rows, {len(features)}], got {list(rows.shape)}",
                    )
                ]
            )
    else:
        by_name = {inp.name: inp for inp in inputs}
        errors = [
            FieldError(f"inputs.{name}", "not a model feature") for name in by_name if name not in features
        ]
        errors += [
            FieldError(f"inputs.{name}", "missing model feature") for name in features if name not in by_name
        ]
        if errors:
            raise InvalidRequestError(errors)
        columns = [_tensor(by_name[name], f"inputs.{name}").reshape(-1) for name in features]
        lengths = {len(c) for c in columns}
        if len(lengths) != 1:
            raise InvalidRequestError(
                [FieldError("inputs", f"feature tensors differ in length: {sorted(lengths)}")]
            )
        rows = np.column_stack(columns)
    if rows.shape[0] == 0 or rows.shape[0] > max_rows:
        raise InvalidRequestError(
            [FieldError("inputs", f"between 1 and {max_rows} rows, got {rows.shape[0]}")]
        )
    return rows
