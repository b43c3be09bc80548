"""Errors of the tip scorer and the one table that maps them to HTTP status."""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Final

from contracts.validation import FieldError, describe
from predictors.common.errors import error_table
from predictors.common.http_errors import ErrorTable


class ScorerError(Exception):
    """Base of every error the scorer raises on purpose."""


class InvalidRequestError(ScorerError):
    """The request body is not a valid scorer request; ``errors`` name each offending field."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__(f"invalid request: {describe(self.errors)}")


class FeatureStoreUnavailableError(ScorerError):
    """The online feature store could not be read: answer 503 rather than score with wrong features."""


class ModelLoadError(ScorerError):
    """The model could not be loaded or does not fit the feature list (start-up fails with this)."""


class WorkerExitError(ScorerError):
    """A server process of several exited on its own; the others were stopped (the Pod restarts whole)."""


class ScorerNotReadyError(ScorerError):
    """A request arrived before the model was loaded."""


HTTP_STATUS: Final[ErrorTable] = error_table(
    {
        InvalidRequestError: HTTPStatus.BAD_REQUEST,
        FeatureStoreUnavailableError: HTTPStatus.SERVICE_UNAVAILABLE,
        ModelLoadError: HTTPStatus.SERVICE_UNAVAILABLE,
    },
    base=ScorerError,
    not_ready=ScorerNotReadyError,
)
"""The one place a scorer error becomes a status code."""
