"""``tip-scorer`` as a KServe custom predictor (V1 ``instances`` with Feast features, V2 feature tensors).

KServe calls ``healthy()`` for readiness AND before every predict, so it is cheap: a flag, plus at most one
feature-store probe per ``feature_probe_interval_s`` while the store is marked down. Scoring runs in the
loop's executor so a feature read never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import kserve
from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse

from predictors.scorer.errors import ScorerNotReadyError
from predictors.scorer.requests import parse_v1, parse_v2
from predictors.scorer.service import ScoringService
from predictors.scorer.settings import ScorerSettings

log = logging.getLogger(__name__)

SCORE_OUTPUT = "score"


class TipScorer(kserve.Model):  # type: ignore[misc]
    """Ranks candidate tips for a user; stateless, so any replica answers any request."""

    def __init__(self, name: str, settings: ScorerSettings, build: Callable[[], ScoringService]) -> None:
        super().__init__(name)
        self.settings = settings
        self._build = build
        self.service: ScoringService | None = None
        self._last_probe = 0.0

    def load(self) -> bool:
        """Load the model and open the feature store once; later calls (KServe retries) are no-ops."""
        if self.service is None:
            self.service = self._build()
            self.service.probe()
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
        """V1: validate, read features, rank. V2: score the feature tensors as sent."""
        service = self._service()
        loop = asyncio.get_running_loop()
        if isinstance(payload, InferRequest):
            rows = parse_v2(payload.inputs, service.model.feature_names, self.settings.max_candidates)
            scores = await loop.run_in_executor(None, service.score_rows, rows)
            out = InferOutput(name=SCORE_OUTPUT, shape=[len(scores)], datatype="FP64", data=scores.tolist())
            return InferResponse(
                response_id=payload.id or uuid.uuid4().hex,
                model_name=self.name,
                infer_outputs=[out],
                model_version=service.model.version,
            )
        request = parse_v1(payload, self.settings.max_candidates)
        return await loop.run_in_executor(None, service.score_v1, request)

    def get_input_types(self) -> list[dict[str, Any]]:
        """V2 metadata: one FP64 column per model feature, in the order a ``features`` matrix uses."""
        features = self.service.model.feature_names if self.service else ()
        return [{"name": f, "datatype": "FP64", "shape": [-1]} for f in features]

    def get_output_types(self) -> list[dict[str, Any]]:
        """V2 metadata: one probability per row."""
        return [{"name": SCORE_OUTPUT, "datatype": "FP64", "shape": [-1]}]
