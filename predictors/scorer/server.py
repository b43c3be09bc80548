"""Wire settings into running KServe servers: build the scoring service, quiet logs, map errors.

Server choices beyond the ones both predictors share (:mod:`predictors.common.server`; bench/scorer_load.py
prints the figures behind them, the module docs of :mod:`predictors.scorer.settings` say what each setting
does):

* ``workers`` processes behind one port (:mod:`predictors.scorer.workers`), one per CPU: each loads its own
  model and feature store after the fork. KServe's own ``workers > 1`` would pickle the model with its open
  feature store and lose our error table.
* V1 predict answered in front of FastAPI's router (:mod:`predictors.scorer.predict_lane`): a third of a
  request's CPU was the framework around it.
* KServe's REST server without its timing middleware (:mod:`predictors.scorer.rest`), no gRPC server.
* feature read and scoring on the event loop for the local SQLite store (``predict_in=auto``): ~1 ms of
  GIL-bound CPU either way, and handing it to a thread cost 1.7 ms of extra CPU per request.
* uvloop (``event_loop``), the loop uvicorn picks for a bare app.
* a 1 s in-memory copy of tip stats (``tip_stats_ttl_s``, :mod:`predictors.scorer.feature_cache`).
* ``gc.freeze()`` after loading: Feast, MLflow, KServe and LightGBM leave ~330k objects on the heap, and every
  full collection walked them, stalling all requests for 100-400 ms (the bench's p99.9); frozen, they are
  never scanned again.
"""
from __future__ import annotations

import gc
import logging
import socket
from typing import Any

from predictors.common.http_errors import install_error_handlers, install_request_validation_handler
from predictors.common.limits import BodySizeLimit, OneLineClientErrors
from predictors.common.server import GRACE_PERIOD_SECONDS, client_errors, quiet_logs, start_logging
from predictors.scorer.errors import HTTP_STATUS, ScorerError, WorkerExitError
from predictors.scorer.feature_cache import TtlCache
from predictors.scorer.features import FeastFeatureSource
from predictors.scorer.metrics import GC_PAUSES, ScorerMetrics
from predictors.scorer.model import TipScorer
from predictors.scorer.model_store import load_model
from predictors.scorer.rest import LeanRESTServer
from predictors.scorer.service import ScoringService
from predictors.scorer.settings import MODEL_NAME, Role, ScorerSettings
from predictors.scorer.workers import run_workers, worker_sockets

log = logging.getLogger(__name__)


def open_feature_store(settings: ScorerSettings) -> Any:
    """The configured Feast store: a ``feature_store.yaml`` when given, else the local default."""
    from feature_repo.config import open_configured_store

    return open_configured_store(settings.feast_config, settings.state_dir, apply_local=False)


def metrics_role(settings: ScorerSettings) -> str:
    """The ``role`` label of the serving metrics (``contracts.serving_metrics.ROLES``)."""
    return settings.metrics_role or ("shadow" if settings.role is Role.SHADOW else "champion")


def build_service(settings: ScorerSettings) -> ScoringService:
    """Load the model (fatal on failure) and attach the feature source (checked by readiness)."""
    from feature_repo.features import MODEL_FEATURES

    model = load_model(
        settings.model_uri,
        settings.tracking_uri,
        MODEL_FEATURES,
        version=settings.model_version,
        threads=settings.predict_threads,
    )
    tip_stats = (
        TtlCache[tuple[str, ...], dict[str, object]](settings.tip_stats_ttl_s, settings.tip_stats_cache_size)
        if settings.tip_stats_ttl_s > 0
        else None
    )
    source = FeastFeatureSource(
        open_feature_store(settings),
        MODEL_FEATURES,
        transform=settings.feature_transform,
        tip_stats_cache=tip_stats,
    )
    return ScoringService(model, source, ScorerMetrics.bind(model.version, metrics_role(settings)))


def freeze_startup_heap() -> None:
    """Move everything allocated so far (libraries, model, registry) out of the collector's reach."""
    gc.collect()
    gc.freeze()


def serve(settings: ScorerSettings) -> None:
    """Bind the port, then serve in this process or in ``workers`` forked ones until SIGTERM (blocks)."""
    start_logging(settings.log_level)
    count = settings.processes
    socks = [[sock] for sock in worker_sockets(count, settings.http_port)]
    if settings.agent_port_fallback is not None:
        try:
            for own, sock in zip(socks, worker_sockets(count, settings.agent_port_fallback), strict=True):
                own.append(sock)
        except OSError as e:  # the main port still serves; the Service may point here only during a roll
            log.warning("not answering on KServe's agent port %d too: %s", settings.agent_port_fallback, e)
    if count == 1:
        serve_worker(settings, socks[0])
        return
    code = run_workers(socks, lambda own: serve_worker(settings, own), name=MODEL_NAME, failure=ScorerError)
    if code:
        raise WorkerExitError(f"a server process failed; all {count} stopped (see its lines above)")


def serve_worker(settings: ScorerSettings, socks: list[socket.socket]) -> None:
    """Load the model, then serve ``socks`` with KServe's REST server until SIGTERM (blocks).

    What each child of KServe's multi-process mode runs (``RESTServer.run(sockets)`` over a ``DataPlane`` of
    the registered model), without what the scorer does not use: no gRPC server, no timing middleware, no
    second event loop around the REST server's own.
    """
    from kserve.constants.constants import FASTAPI_APP_IMPORT_STRING
    from kserve.model_repository import ModelRepository
    from kserve.model_server import app
    from kserve.protocol.dataplane import DataPlane
    from kserve.protocol.model_repository_extension import ModelRepositoryExtension

    scorer = TipScorer(MODEL_NAME, settings, lambda: build_service(settings))
    scorer.load()
    errors = HTTP_STATUS
    # The application set-up both predictors share (predictors.common.server): quiet logs, 413, one table.
    quiet_logs(settings.log_level)
    logging.getLogger("kserve").addFilter(OneLineClientErrors(client_errors(errors)))
    if not settings.predict_lane:  # with the lane, one limit wraps the lane and the app (answer_predict_first)
        app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    install_error_handlers(app, errors)
    install_request_validation_handler(app)
    models = ModelRepository()
    models.update(scorer)
    scorer.start()
    rest = LeanRESTServer(
        FASTAPI_APP_IMPORT_STRING,
        DataPlane(model_registry=models),
        ModelRepositoryExtension(model_registry=models),
        settings.http_port,
        workers=1,
        grace_period=GRACE_PERIOD_SECONDS,
        event_loop=settings.event_loop,
    )
    if settings.predict_lane:
        rest.answer_predict_first(app, scorer, settings.max_request_bytes)
    freeze_startup_heap()
    GC_PAUSES.install()
    rest.run(sockets=socks)
