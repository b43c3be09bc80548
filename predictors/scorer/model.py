"""``tip-scorer`` as a KServe custom predictor (V1 ``instances`` with Feast features, V2 feature tensors).

KServe calls ``healthy()`` for readiness AND before every predict, so it is cheap: a flag, plus at most one
feature-store probe per ``feature_probe_interval_s`` while the store is marked down. A request's feature
read and scoring run on the event loop when the online store is SQLite in this process (~1 ms of CPU that
holds the GIL wherever it runs; a thread hand-off doubled the CPU per request), and in the scorer's thread
pool for a network store, whose reads wait (``ScorerSettings.predict_in``).

In the shadow role, a request that is a KServe logger CloudEvent (a ``ce-type`` header) is mirrored traffic:
:mod:`predictors.scorer.shadow` scores requests, reads the champion's responses and pairs them.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import kserve
from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse

from contracts.scorer import ScorerResponse
from contracts.validation import FieldError
from predictors.common.requests import parse_body
from predictors.scorer.errors import InvalidRequestError, ScorerNotReadyError
from predictors.scorer.metrics import ShadowMetrics
from predictors.scorer.requests import parse_v1, parse_v2
from predictors.scorer.service import ScoringService, runs_in_loop
from predictors.scorer.settings import Role, ScorerSettings
from predictors.scorer.shadow import CE_ID, CE_TYPE, REQUEST_EVENT, RESPONSE_EVENT, Pairing, rankings

log = logging.getLogger(__name__)

SCORE_OUTPUT = "score"
_A = TypeVar("_A")
_R = TypeVar("_R")


class TipScorer(kserve.Model):  # type: ignore[misc]
    """Ranks candidate tips for a user; stateless, so any replica answers any request."""

    def __init__(self, name: str, settings: ScorerSettings, build: Callable[[], ScoringService]) -> None:
        super().__init__(name)
        self.settings = settings
        self._build = build
        self.service: ScoringService | None = None
        self._last_probe = 0.0
        self._executor: ThreadPoolExecutor | None = None
        self.pairing: Pairing | None = None

    async def _run(self, fn: Callable[[_A], _R], arg: _A) -> _R:
        """``fn(arg)`` on the loop when the store is local (``predict_in``), else in the scorer's own pool.

        Its own pool, not the loop's default executor: ``ModelServer`` sizes its executor on a loop that
        ``asyncio.run`` then replaces, so ``max_asyncio_workers`` never reaches the running loop.
        """
        if self._executor is None:
            return fn(arg)
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, arg)

    def load(self) -> bool:
        """Load the model and open the feature store once; later calls (KServe retries) are no-ops."""
        if self.service is None:
            self.service = self._build()
            self.service.probe()
            if not runs_in_loop(self.settings.predict_in, self.service.source):
                self._executor = ThreadPoolExecutor(self.settings.executor_threads, thread_name_prefix="scorer")
            if self.settings.role is Role.SHADOW:
                metrics = ShadowMetrics.bind(self.service.model.version, self.settings.metrics_role or Role.SHADOW)
                settings = self.settings
                self.pairing = Pairing(metrics, settings.shadow_pending_max, settings.shadow_pending_ttl_s)
        self.ready = True
        return True

    async def healthy(self) -> bool:
        """Ready when the model is loaded and the feature store answered last time (re-probed when not)."""
        service = self.service
        if not self.ready or service is None:
            return False
        if service.store_ok:
            return True
        now = time.monotonic()
        if now - self._last_probe < self.settings.feature_probe_interval_s:
            return False
        self._last_probe = now
        return await asyncio.get_running_loop().run_in_executor(None, service.probe)

    def _service(self) -> ScoringService:
        if self.service is None:
            raise ScorerNotReadyError("the model is not loaded yet")
        return self.service

    async def predict(
        self,
        payload: dict[str, Any] | bytes | InferRequest,
        headers: dict[str, str] | None = None,
        response_headers: dict[str, str] | None = None,
    ) -> dict[str, Any] | InferResponse:
        """V1: validate, read features, rank. V2: score the feature tensors as sent. Shadow: mirrored events."""
        service = self._service()
        event_type = (headers or {}).get(CE_TYPE)
        if self.pairing is not None and event_type is not None and not isinstance(payload, InferRequest):
            return await self._mirrored(service, self.pairing, event_type, (headers or {}).get(CE_ID, ""), payload)
        if isinstance(payload, InferRequest):
            rows = parse_v2(payload.inputs, service.model.feature_names, self.settings.max_candidates)
            scores = await self._run(service.score_rows, rows)
            out = InferOutput(name=SCORE_OUTPUT, shape=[len(scores)], datatype="FP64", data=scores.tolist())
            return InferResponse(
                response_id=payload.id or uuid.uuid4().hex,
                model_name=self.name,
                infer_outputs=[out],
                model_version=service.model.version,
            )
        request = parse_v1(payload, self.settings.max_candidates)
        return await self._run(service.score_v1, request)

    async def _mirrored(
        self, service: ScoringService, pairing: Pairing, event_type: str, event_id: str, payload: Any
    ) -> dict[str, Any]:
        """Score a mirrored request, or take the champion's response; pair them. A short acknowledgement."""
        if event_type == REQUEST_EVENT:
            request = parse_v1(payload, self.settings.max_candidates)
            paired = pairing.ours(event_id, rankings(await self._run(service.score_v1, request)))
        elif event_type == RESPONSE_EVENT:
            response = parse_body(ScorerResponse, payload, InvalidRequestError)
            paired = pairing.theirs(event_id, rankings(response.model_dump()))
        else:
            raise InvalidRequestError([FieldError(CE_TYPE, f"not {REQUEST_EVENT} or {RESPONSE_EVENT}")])
        return {"event": event_type, "paired": paired}

    def get_input_types(self) -> list[dict[str, Any]]:
        """V2 metadata: one FP64 column per model feature, in the order a ``features`` matrix uses."""
        features = self.service.model.feature_names if self.service else ()
        return [{"name": f, "datatype": "FP64", "shape": [-1]} for f in features]

    def get_output_types(self) -> list[dict[str, Any]]:
        """V2 metadata: one probability per row."""
        return [{"name": SCORE_OUTPUT, "datatype": "FP64", "shape": [-1]}]
