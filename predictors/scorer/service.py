"""Protocol-free scoring: read features, score, rank. KServe's model and the bench's bare app both wrap it.

Everything here is synchronous and CPU-bound or a short feature-store read. Callers run it on the event loop
when the store is local SQLite (about a millisecond of GIL-bound CPU, cheaper there than handed to a
thread) and in a thread pool for a network store (:func:`runs_in_loop`). Nothing here writes anywhere (the
tip-stats copy is process memory): the request path is stateless, so any replica answers any request and a
shadow replica has no side effects.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from contracts.profile import ProfileFeatures
from contracts.scorer import ScorerInstance, ScorerRequest
from contracts.serving_metrics import UNKNOWN_PROFILE_FEATURES_TOTAL
from predictors.scorer.errors import FeatureStoreUnavailableError
from predictors.scorer.metrics import GC_PAUSES, ScorerMetrics, observe_many
from predictors.scorer.model_store import LoadedModel, Matrix, Scores

log = logging.getLogger(__name__)

UNKNOWN_WARNING_INTERVAL_S = 60.0
"""At most one warning about unknown profile feature names per this many seconds (the counter counts all)."""


class FeatureSource(Protocol):
    """Online features laid out as model rows (one per candidate, columns in serving order)."""

    def rows(
        self, user_id: str, tip_ids: Sequence[str], profile: ProfileFeatures | None, at: float | None = None
    ) -> Matrix:
        """Rows for ``tip_ids`` at request time ``at`` (epoch s, default now).

        Raises ``FeatureStoreUnavailableError`` when the store cannot be read.
        """
        ...

    def probe(self) -> None:
        """A cheap read that raises ``FeatureStoreUnavailableError`` when the store cannot be read."""
        ...

    @property
    def local(self) -> bool:
        """True when a read is in-process CPU work (SQLite), False when it waits on a network store."""
        ...


def runs_in_loop(mode: str, source: FeatureSource) -> bool:
    """Whether requests are served on the event loop (``ScorerSettings.predict_in``, ``auto`` resolved)."""
    return mode == "loop" or (mode == "auto" and source.local)


class ScoringService:
    """A loaded model plus a feature source; tracks whether the feature store last answered."""

    def __init__(self, model: LoadedModel, source: FeatureSource, metrics: ScorerMetrics) -> None:
        self.model = model
        self.source = source
        self.metrics = metrics
        self._store_ok = True
        self._lock = threading.Lock()
        self._warned_at = -float("inf")

    @property
    def store_ok(self) -> bool:
        """False from a failed feature read until a probe succeeds."""
        return self._store_ok

    def _mark(self, ok: bool) -> None:
        with self._lock:
            self._store_ok = ok

    def probe(self) -> bool:
        """Re-check the feature store; readiness follows the answer."""
        try:
            self.source.probe()
        except FeatureStoreUnavailableError:
            self._mark(False)
            return False
        self._mark(True)
        return True

    def score_rows(self, rows: Matrix) -> Scores:
        """Scores of already-assembled rows (V2 feature tensors)."""
        scores = self.model.score(rows)
        observe_many(self.metrics.scores, scores)
        return scores

    def _note_unknown(self, profile: ProfileFeatures | None) -> None:
        """Count names a newer recommender sent that this contract lacks; warn about them now and then."""
        unknown = profile.unknown_names if profile is not None else ()
        if not unknown:
            return
        self.metrics.unknown_profile.inc(len(unknown))
        now = time.monotonic()
        with self._lock:
            if now - self._warned_at < UNKNOWN_WARNING_INTERVAL_S:
                return
            self._warned_at = now
        log.warning(
            "ignoring profile_features this scorer does not know: %s (contracts.profile lags the recommender;"
            " counted in %s, next warning in %.0f s at the earliest)",
            ", ".join(unknown), UNKNOWN_PROFILE_FEATURES_TOTAL, UNKNOWN_WARNING_INTERVAL_S,
        )

    def _rank(self, instance: ScorerInstance) -> dict[str, Any]:
        self._note_unknown(instance.profile_features)
        try:
            rows = self.source.rows(instance.user_id, instance.candidates, instance.profile_features)
        except FeatureStoreUnavailableError:
            self._mark(False)
            raise
        scores = self.score_rows(rows)
        order = np.argsort(-scores, kind="stable")
        # Plain dicts in the ScorerPrediction shape (tests validate bodies against contracts.scorer):
        # building 20 pydantic objects per request cost a tenth of the request.
        return {
            "request_id": instance.request_id or uuid.uuid4().hex,
            "model_version": self.model.version,
            "scores": [{"tip_id": instance.candidates[i], "score": float(scores[i])} for i in order],
        }

    def score_v1(self, request: ScorerRequest) -> dict[str, Any]:
        """The V1 response body (``contracts.scorer.ScorerResponse``): candidates ranked, highest first."""
        start = time.perf_counter()
        self.metrics.requests.inc()
        try:
            return {"predictions": [self._rank(i) for i in request.instances]}
        except Exception:
            self.metrics.errors.inc()
            raise
        finally:
            self.metrics.latency.observe(time.perf_counter() - start)
            GC_PAUSES.flush()
