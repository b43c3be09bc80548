"""Parse a V1 request body into its contract model; a body that does not fit is the caller's fault (400)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from contracts.validation import FieldError, field_errors

M = TypeVar("M", bound=BaseModel)


def parse_body(model: type[M], body: Any, invalid: Callable[[list[FieldError]], Exception]) -> M:
    """``body`` as ``model``, else ``invalid(errors)`` raised, each error naming its field.

    KServe hands over raw bytes when the content type is not JSON (``curl -d``); those are parsed here.
    """
    try:
        if isinstance(body, bytes | bytearray | str):
            return model.model_validate_json(body)
        return model.model_validate(body)
    except ValidationError as e:
        raise invalid(field_errors(e)) from e
