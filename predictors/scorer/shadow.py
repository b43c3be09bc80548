"""The shadow role's mirrored traffic: KServe's inference logger CloudEvents, paired into rank agreement.

The champion's ``spec.predictor.logger`` (mode ``all``) posts every request and every response it serves to
the shadow's V1 ``:predict`` URL as binary-mode CloudEvents (KServe v0.20 ``pkg/logger``): headers ``ce-id``
(the same id for a request and its response), ``ce-type`` (:data:`REQUEST_EVENT` or :data:`RESPONSE_EVENT`),
``ce-source``, ``ce-specversion``, ``ce-inferenceservicename``; the body is the V1 request or response JSON.
KServe's model server decodes the event before :meth:`predictors.scorer.model.TipScorer.predict` sees it.

The shadow scores each mirrored request itself (its latency, errors and score histogram are the ordinary
serving series with ``role="shadow"``), keeps its ranking until the champion's response with the same
``ce-id`` arrives (or the other way round), and then observes one :data:`~contracts.serving_metrics.
RANK_AGREEMENT` sample per instance. Unpaired halves wait in a map bounded in size and age; what falls out
is counted in :data:`~contracts.serving_metrics.SHADOW_UNPAIRED_TOTAL`, never kept. Nothing is written
anywhere, and the logger is fire-and-forget: the answer is a small acknowledgement, never seen by a user.

Pairing needs both halves of an id to reach the same process, so the operator runs the shadow InferenceService
with one replica (``operators.rollout_effects.shadow_of``); the unpaired counter shows anything that still
fails to pair.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from predictors.scorer.metrics import ShadowMetrics

REQUEST_EVENT: Final = "org.kubeflow.serving.inference.request"
RESPONSE_EVENT: Final = "org.kubeflow.serving.inference.response"
CE_TYPE: Final = "ce-type"
CE_ID: Final = "ce-id"

Ranking = Mapping[str, float]
"""One instance's answer: tip id -> score."""


def kendall_tau(ours: Ranking, theirs: Ranking) -> float | None:
    """Kendall's tau-b between two rankings of the same candidates, or None when it is undefined.

    Why tau: the gate asks "would the challenger order this user's tips like the champion does?", and tau
    answers it with every pair of candidates, not only the top few (a top-k overlap ignores how the rest is
    ordered, and with 20 candidates and k=3 it moves in steps of a third). It depends on the order only, so a
    challenger that is merely better calibrated still agrees fully (the score histogram's PSI watches
    calibration). Tau-b corrects for ties, which tree models produce for cold-start tips. Range -1 (reversed)
    to 1 (same order); 0 is no relation. Computed over the tips both rankings hold (O(n^2), n <= 100);
    None when fewer than two tips are shared or one side ties them all.
    """
    common = [t for t in ours if t in theirs]
    concordant = discordant = ties_ours = ties_theirs = 0
    for i, a in enumerate(common):
        for b in common[i + 1 :]:
            x = ours[a] - ours[b]
            y = theirs[a] - theirs[b]
            if x == 0 and y == 0:
                continue
            if x == 0:
                ties_ours += 1
            elif y == 0:
                ties_theirs += 1
            elif (x > 0) == (y > 0):
                concordant += 1
            else:
                discordant += 1
    denominator = math.sqrt((concordant + discordant + ties_ours) * (concordant + discordant + ties_theirs))
    return (concordant - discordant) / denominator if denominator else None


def rankings(body: Mapping[str, Any]) -> list[dict[str, float]]:
    """Per instance, tip id -> score, from a V1 response body (``contracts.scorer.ScorerResponse`` shape)."""
    return [{s["tip_id"]: float(s["score"]) for s in p["scores"]} for p in body["predictions"]]


@dataclass(slots=True)
class _Half:
    at: float
    ours: list[dict[str, float]] | None = None
    theirs: list[dict[str, float]] | None = None


class Pairing:
    """Pairs the shadow's rankings with the champion's by event id; memory bounded by count and age.

    Used from the event loop only (the scoring may run in a worker thread; pairing happens after it).
    """

    def __init__(
        self, metrics: ShadowMetrics, max_pending: int, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._metrics = metrics
        self._max = max_pending
        self._ttl = ttl_s
        self._clock = clock
        self._pending: OrderedDict[str, _Half] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pending)

    def ours(self, event_id: str, ranked: list[dict[str, float]]) -> bool:
        """The shadow's rankings of a mirrored request; True when its champion response was waiting."""
        return self._put(event_id, ranked, None)

    def theirs(self, event_id: str, ranked: list[dict[str, float]]) -> bool:
        """The champion's logged rankings; True when the shadow's were waiting."""
        return self._put(event_id, None, ranked)

    def _put(self, event_id: str, ours: list[dict[str, float]] | None, theirs: list[dict[str, float]] | None) -> bool:
        now = self._clock()
        half = self._pending.pop(event_id, None)
        if half is None:
            self._evict(now)
            self._pending[event_id] = _Half(now, ours, theirs)
            return False
        ours, theirs = ours or half.ours, theirs or half.theirs
        if ours is None or theirs is None:  # the same half twice (a retried event): keep the newer one
            self._pending[event_id] = _Half(now, ours, theirs)
            return False
        self._observe(ours, theirs)
        return True

    def _observe(self, ours: Sequence[Ranking], theirs: Sequence[Ranking]) -> None:
        if len(ours) != len(theirs):
            self._metrics.unpaired_mismatch.inc()
            return
        for a, b in zip(ours, theirs, strict=True):
            tau = kendall_tau(a, b)
            if tau is None:
                self._metrics.unpaired_undefined.inc()
            else:
                self._metrics.agreement.observe(tau)

    def _evict(self, now: float) -> None:
        """Drop the oldest halves past their age, then as many as the cap needs for one more."""
        while self._pending:
            oldest = next(iter(self._pending.values()))
            if now - oldest.at < self._ttl and len(self._pending) < self._max:
                return
            self._pending.popitem(last=False)
            self._metrics.unpaired_expired.inc()
