"""Baseline for the scorer bench: a bare FastAPI app around the SAME scoring service (model + Feast read).

Run as ``python -m bench.scorer_bare_app --port N`` with the scorer's ``TIPSML_*`` settings. The same number
of worker processes behind one port (``workers``, :mod:`predictors.scorer.workers`), access log and proxy
headers off, log level WARNING, the same event loop (``event_loop``), the same place for the feature read and
scoring (``predict_in``: on the loop for SQLite), the same metrics mode and the same start-up heap freeze as
the KServe server: the only difference is KServe itself (its data plane, V1 handler and exception handling).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from contracts.names import SCORER_MODEL
from contracts.runtime import apply_offline_switches
from predictors.scorer.settings import ScorerSettings


def build_app(settings: ScorerSettings) -> FastAPI:
    """FastAPI app with the V1 predict route and readiness, over the scorer's own service."""
    from predictors.common.http_errors import install_error_handlers
    from predictors.scorer.errors import HTTP_STATUS
    from predictors.scorer.metrics import GC_PAUSES
    from predictors.scorer.requests import parse_v1
    from predictors.scorer.server import build_service, freeze_startup_heap
    from predictors.scorer.service import runs_in_loop

    service = build_service(settings)
    service.probe()
    in_loop = runs_in_loop(settings.predict_in, service.source)

    @asynccontextmanager
    async def same_executor_as_kserve(_: FastAPI) -> AsyncIterator[None]:
        pool = ThreadPoolExecutor(max_workers=settings.executor_threads)
        asyncio.get_running_loop().set_default_executor(pool)
        yield

    app = FastAPI(lifespan=same_executor_as_kserve)
    install_error_handlers(app, HTTP_STATUS)
    freeze_startup_heap()  # as the KServe server does, so the comparison is about KServe alone
    GC_PAUSES.install()

    @app.get(f"/v1/models/{SCORER_MODEL}")
    async def ready() -> dict[str, Any]:
        return {"name": SCORER_MODEL, "ready": service.store_ok}

    @app.post(f"/v1/models/{SCORER_MODEL}:predict")
    async def predict(request: Request) -> JSONResponse:
        body = parse_v1(await request.body(), settings.max_candidates)
        if in_loop:
            out = service.score_v1(body)
        else:
            out = await asyncio.get_running_loop().run_in_executor(None, service.score_v1, body)
        return JSONResponse(out)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    apply_offline_switches()
    import uvicorn

    from predictors.scorer.workers import run_workers, share_metrics, worker_sockets

    settings = ScorerSettings()
    if settings.processes > 1:
        share_metrics()  # as the scorer does with several workers: same metrics cost
    socks = worker_sockets(settings.processes, args.port, "127.0.0.1")

    def serve_one(own: list[socket.socket]) -> None:
        config = uvicorn.Config(
            build_app(settings),
            log_level="warning",
            access_log=False,
            proxy_headers=False,
            loop=settings.event_loop,
        )
        uvicorn.Server(config).run(sockets=own)

    if settings.processes == 1:
        serve_one(socks)
    else:
        sys.exit(run_workers([[sock] for sock in socks], serve_one, name="bare", failure=Exception))


if __name__ == "__main__":
    main()
