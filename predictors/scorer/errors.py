"""Errors of the tip scorer and the one table that maps them to HTTP status."""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Final

from kserve.errors import InvalidInput, ModelNotReady

from contracts.validation import FieldError, describe
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


class ScorerNotReadyError(ScorerError):
    """A request arrived before the model was loaded."""


HTTP_STATUS: Final[ErrorTable] = {
    InvalidRequestError: HTTPStatus.BAD_REQUEST,
    FeatureStoreUnavailableError: HTTPStatus.SERVICE_UNAVAILABLE,
    ScorerNotReadyError: HTTPStatus.SERVICE_UNAVAILABLE,
    ModelLoadError: HTTPStatus.SERVICE_UNAVAILABLE,
    ScorerError: HTTPStatus.INTERNAL_SERVER_ERROR,
    # KServe's own, raised before our code runs: undecodable JSON, and not ready (healthy() is false while the
    # feature store is down). Listed so they answer without KServe's traceback-per-request logging.
    InvalidInput: HTTPStatus.BAD_REQUEST,
    ModelNotReady: HTTPStatus.SERVICE_UNAVAILABLE,
}
"""The one place a scorer error becomes a status code."""
