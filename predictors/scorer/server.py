"""Wire settings into a running ``kserve.ModelServer``: build the scoring service, quiet logs, map errors.

Server choices beyond the ones both predictors share (:mod:`predictors.common.server`; bench/scorer_load.py
prints the figures behind them, the module docs of :mod:`predictors.scorer.settings` say what each setting
does):

* one worker (a shared choice) matters twice here: more would pickle the model with its open feature store,
  and on 2 cores shared with the load generator they would gain nothing.
* feature read and scoring on the event loop for the local SQLite store (``predict_in=auto``): ~1 ms of
  GIL-bound CPU either way, and handing it to a thread cost 1.7 ms of extra CPU per request.
* uvloop (``event_loop``), the loop uvicorn picks for a bare app.
* a 1 s in-memory copy of tip stats (``tip_stats_ttl_s``, :mod:`predictors.scorer.feature_cache`).
* ``gc.freeze()`` after loading: Feast, MLflow, KServe and LightGBM leave ~330k objects on the heap, and every
  full collection walked them, stalling all requests for 100-400 ms (the bench's p99.9); frozen, they are
  never scanned again.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from predictors.common.server import ServerOptions, serve_model, start_logging
from predictors.scorer.errors import HTTP_STATUS
from predictors.scorer.feature_cache import TtlCache
from predictors.scorer.features import FeastFeatureSource
from predictors.scorer.metrics import ScorerMetrics
from predictors.scorer.model import TipScorer
from predictors.scorer.model_store import load_model
from predictors.scorer.service import ScoringService
from predictors.scorer.settings import MODEL_NAME, Role, ScorerSettings


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


def use_event_loop(kind: str) -> None:
    """Make ``asyncio.run`` (which ``ModelServer.start`` calls) create a ``kind`` loop.

    ``ModelServer`` also asks for the current loop before that to set its executor, which uvloop's policy
    does not create on demand: give it one (that loop is never run).
    """
    if kind != "uvloop":
        return
    import uvloop

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.set_event_loop(asyncio.new_event_loop())


def serve(settings: ScorerSettings) -> None:
    """Load, then serve until SIGTERM (blocks)."""
    start_logging(settings.log_level)
    scorer = TipScorer(MODEL_NAME, settings, lambda: build_service(settings))
    scorer.load()
    options = ServerOptions(
        http_port=settings.http_port,
        log_level=settings.log_level,
        errors=HTTP_STATUS,
        max_asyncio_workers=settings.executor_threads,
        max_request_bytes=settings.max_request_bytes,
    )

    def last_steps() -> None:
        use_event_loop(settings.event_loop)
        freeze_startup_heap()

    serve_model(scorer, options, before_start=last_steps)
