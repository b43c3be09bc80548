"""Run one ``kserve.Model`` in a ``kserve.ModelServer`` the way both predictors do.

Server choices (``bench/scorer_load.py`` prints the figures behind them):

* REST only (``enable_grpc=False``): the recommender speaks REST V1; a gRPC server is a second port and
  thread pool for nobody.
* ``enable_latency_logging=False`` and KServe/uvicorn loggers at the predictor's log level: at INFO KServe
  writes four lines per request (access, timing middleware, latency trace), its main cost.
* one worker: the model lives in the process; scale with replicas. KServe's ``workers > 1`` spawns fresh
  interpreters that re-import ``kserve.model_server`` (our error table would be missing).
* errors mapped through the predictor's one table, and a body FastAPI cannot parse is a 400 naming the field.
* a body over ``max_request_bytes`` is a 413, and KServe's client-error tracebacks are one line each
  (:mod:`predictors.common.limits`).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

from predictors.common.http_errors import ErrorTable, install_error_handlers, install_request_validation_handler
from predictors.common.limits import DEFAULT_MAX_REQUEST_BYTES, BodySizeLimit, OneLineClientErrors

NOISY_LOGGERS: Final = ("kserve", "kserve.trace", "uvicorn", "uvicorn.error", "uvicorn.access")
"""Loggers ``ModelServer`` configures at INFO; set to the predictor's level after it is built."""
OWN_LOGGERS: Final = "predictors"
GRACE_PERIOD_SECONDS: Final = 5
"""How long ``ModelServer`` lets in-flight requests finish after SIGTERM."""
LOG_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s %(message)s"


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """What differs between the predictors' servers."""

    http_port: int
    log_level: str
    errors: ErrorTable
    extra_loggers: Sequence[str] = ()
    """Third-party loggers besides KServe's and uvicorn's to hold at ``log_level`` (LiteLLM's)."""
    max_asyncio_workers: int | None = None
    """``ModelServer``'s executor size; None keeps KServe's default."""
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    """Largest request body accepted; a larger one is a 413."""


def client_errors(table: ErrorTable) -> tuple[type[Exception], ...]:
    """The classes ``table`` maps below 500: the caller's fault, logged in one line."""
    return tuple(cls for cls, status in table.items() if status < HTTPStatus.INTERNAL_SERVER_ERROR)


def start_logging(level: str) -> None:
    """Log lines with time, level and logger; KServe's deprecation notice of its own responses muted."""
    # KServe's own routes return ORJSONResponse, which this FastAPI deprecates: one stderr line, not ours.
    warnings.filterwarnings("ignore", message="ORJSONResponse is deprecated")
    logging.basicConfig(level=level, format=LOG_FORMAT)


def quiet_logs(level: str, extra: Sequence[str] = ()) -> None:
    """Set KServe's, uvicorn's, ``extra`` and our loggers to ``level``."""
    for name in (*NOISY_LOGGERS, *extra, OWN_LOGGERS):
        logging.getLogger(name).setLevel(level)


def serve_model(model: Any, options: ServerOptions, before_start: Callable[[], None] | None = None) -> None:
    """Serve the loaded ``model`` until SIGTERM (blocks); ``before_start`` runs last, right before serving."""
    import kserve
    from kserve.model_server import app

    server = kserve.ModelServer(
        max_asyncio_workers=options.max_asyncio_workers,
        http_port=options.http_port,
        workers=1,
        enable_grpc=False,
        enable_latency_logging=False,
        enable_docs_url=False,
        grace_period=GRACE_PERIOD_SECONDS,
    )
    quiet_logs(options.log_level, options.extra_loggers)
    logging.getLogger("kserve").addFilter(OneLineClientErrors(client_errors(options.errors)))
    app.add_middleware(BodySizeLimit, max_bytes=options.max_request_bytes)
    install_error_handlers(app, options.errors)
    install_request_validation_handler(app)
    if before_start is not None:
        before_start()
    server.start([model])
