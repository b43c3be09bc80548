"""KServe's REST server without the per-request work the scorer does not use.

* No ``TimingMiddleware`` (KServe's only middleware): it names the route and formats a timing line for
  KServe's trace logger on every request, a logger that is off at the scorer's WARNING level (measured:
  ~3 % of a request's CPU; bench/scorer_load.py ``--profile`` prints the frames).
* No uvicorn proxy-headers middleware: it rewrites the client address for logs, and the access log is off.
* V1 predict answered in front of the app (:mod:`predictors.scorer.predict_lane`, ``predict_lane``), the
  body limit checked before it.
* ``/metrics`` exposes every worker's series summed when several processes serve the port
  (:func:`predictors.scorer.workers.metrics_registry`; with one process it is KServe's own registry), and
  renders them in a thread, not on the event loop that serves requests.

Everything else (routes, V1/V2 handlers, exception handlers, graceful shutdown) is KServe's ``RESTServer``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI, Request, Response
from kserve.protocol.rest.server import RESTServer
from prometheus_client import exposition

from predictors.common.limits import BodySizeLimit
from predictors.scorer.predict_lane import PredictLane
from predictors.scorer.workers import metrics_registry


class LeanRESTServer(RESTServer):  # type: ignore[misc]
    """``RESTServer`` minus timing and proxy-header middleware, with a multi-process ``/metrics``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config.proxy_headers = False

    def answer_predict_first(self, app: FastAPI, model: Any, max_bytes: int) -> None:
        """Serve :class:`PredictLane` in front of ``app``, both behind a ``max_bytes`` body limit."""
        self.config.app = BodySizeLimit(PredictLane(app, model), max_bytes=max_bytes)

    def _add_middlewares(self, app: FastAPI) -> None:
        """None: KServe's timing middleware only feeds a trace logger the scorer keeps off."""

    def _register_endpoints(self, app: FastAPI) -> None:
        registry = metrics_registry()

        async def metrics(request: Request) -> Response:
            encoder, content_type = exposition.choose_encoder(request.headers.get("accept", ""))
            # Off the loop: with several workers a scrape reads and merges every worker's files.
            body = await asyncio.get_running_loop().run_in_executor(None, encoder, registry)
            return Response(content=body, headers={"content-type": content_type})

        # Registered before KServe's routes, so this /metrics is the one that matches.
        app.add_api_route("/metrics", metrics, methods=["GET"])
        super()._register_endpoints(app)
