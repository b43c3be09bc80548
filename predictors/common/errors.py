"""The rows every predictor's error table has, so both answer KServe's own errors and their own base alike.

Each predictor lists only its own errors; :func:`error_table` adds its base class (500: raised on purpose
but not mapped more precisely), its not-ready error (503) and KServe's errors raised before our code runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

from kserve.errors import InvalidInput, ModelNotReady

from predictors.common.http_errors import ErrorTable

KSERVE_ROWS: ErrorTable = {
    # Undecodable JSON, and not ready (healthy() is false while a dependency is down). Listed so they answer
    # without KServe's traceback-per-request logging.
    InvalidInput: HTTPStatus.BAD_REQUEST,
    ModelNotReady: HTTPStatus.SERVICE_UNAVAILABLE,
}


def error_table(
    own: Mapping[type[Exception], HTTPStatus], *, base: type[Exception], not_ready: type[Exception]
) -> ErrorTable:
    """``own`` rows, then a request before load (503), the predictor's base (500) and KServe's rows."""
    return {
        **own,
        not_ready: HTTPStatus.SERVICE_UNAVAILABLE,
        base: HTTPStatus.INTERNAL_SERVER_ERROR,
        **KSERVE_ROWS,
    }
