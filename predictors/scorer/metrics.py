"""The scorer's Prometheus series (names in ``contracts.serving_metrics``, read by the rollout gates).

In-process counters only: exporting them on ``/metrics`` is not a side effect of a request.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from prometheus_client import Counter, Histogram, Summary

from contracts import serving_metrics as names

_LABELS = (names.LABEL_MODEL_VERSION, names.LABEL_ROLE)

REQUESTS = Counter(names.REQUESTS_TOTAL.removesuffix("_total"), "Scoring requests handled.", _LABELS)
ERRORS = Counter(names.ERRORS_TOTAL.removesuffix("_total"), "Scoring requests answered with a 5xx.", _LABELS)
LATENCY = Histogram(
    names.LATENCY_SECONDS,
    "End-to-end predict latency (feature read + scoring).",
    _LABELS,
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
)
SCORES = Histogram(names.SCORE, "Every score returned.", _LABELS, buckets=names.SCORE_BUCKETS)
UNKNOWN_PROFILE = Counter(
    names.UNKNOWN_PROFILE_FEATURES_TOTAL.removesuffix("_total"),
    "profile_features names sent that this scorer does not know (ignored).",
    _LABELS,
)

GC_PAUSE = Histogram(
    "tipsml_scorer_gc_pause_seconds",
    "Garbage-collector pauses of a server process: every request on that process waits them out.",
    ("generation",),
    buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25),
)
GC_GENERATIONS: Final = ("0", "1", "2")

RANK_AGREEMENT = Summary(
    names.RANK_AGREEMENT, "Kendall tau-b of the shadow's and the champion's ranking, per instance.", _LABELS
)
SHADOW_UNPAIRED = Counter(
    names.SHADOW_UNPAIRED_TOTAL.removesuffix("_total"),
    "Mirrored events that gave no rank-agreement sample.",
    (*_LABELS, names.LABEL_REASON),
)


@dataclass(frozen=True, slots=True)
class ScorerMetrics:
    """The series bound to one model version and role, so the request path only observes."""

    requests: Counter
    errors: Counter
    latency: Histogram
    scores: Histogram
    unknown_profile: Counter

    @classmethod
    def bind(cls, model_version: str, role: str) -> ScorerMetrics:
        """Children of the module-level series for this version and role."""
        labels = {names.LABEL_MODEL_VERSION: model_version, names.LABEL_ROLE: role}
        return cls(
            REQUESTS.labels(**labels),
            ERRORS.labels(**labels),
            LATENCY.labels(**labels),
            SCORES.labels(**labels),
            UNKNOWN_PROFILE.labels(**labels),
        )


@dataclass(frozen=True, slots=True)
class ShadowMetrics:
    """The shadow's pairing series, bound to its model version and role."""

    agreement: Summary
    unpaired_expired: Counter
    unpaired_mismatch: Counter
    unpaired_undefined: Counter

    @classmethod
    def bind(cls, model_version: str, role: str) -> ShadowMetrics:
        """Children of the module-level series for this version and role."""
        labels = {names.LABEL_MODEL_VERSION: model_version, names.LABEL_ROLE: role}
        return cls(
            RANK_AGREEMENT.labels(**labels),
            *(SHADOW_UNPAIRED.labels(**labels, reason=r) for r in ("expired", "mismatch", "undefined")),
        )


def observe_many(histogram: Histogram, values: npt.NDArray[np.float64]) -> None:
    """``histogram.observe(v)`` for every finite ``v``, with one increment per bucket hit, not one per value.

    A request's ~20 scores fall into a few buckets, and with several server processes every increment is a
    write to a shared file: 40 writes per request become a handful. Works on the histogram's own values
    (prometheus_client's ``_upper_bounds``, ``_buckets`` and ``_sum``, which ``observe`` itself uses); a test
    holds the exposed series equal to observing one value at a time.
    """
    child: Any = histogram
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return
    child._raise_if_not_observable()
    # observe() counts a value in the first bucket whose upper bound is >= it: searchsorted's "left" side.
    hits = np.bincount(np.searchsorted(child._upper_bounds, finite, side="left"), minlength=len(child._buckets))
    child._sum.inc(float(finite.sum()))
    for i in np.flatnonzero(hits):
        child._buckets[i].inc(int(hits[i]))


class GcPauses:
    """Times every collection of this process into :data:`GC_PAUSE`.

    The collector is the event loop's one periodic pause we do not schedule: it runs inside whichever request
    allocates past its threshold, and every request on the process waits. The callback only appends to a
    list (observing a series takes prometheus_client's lock, which the interrupted code may hold: a
    deadlock); :meth:`flush`, called after each request, moves the pauses into the histogram.
    """

    def __init__(self) -> None:
        self._children = [GC_PAUSE.labels(generation=g) for g in GC_GENERATIONS]
        self._pending: list[tuple[int, float]] = []
        self._started = 0.0
        self._installed = False

    def install(self) -> None:
        """Start timing collections (once per process)."""
        if not self._installed:
            gc.callbacks.append(self._on_gc)
            self._installed = True

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self._pending.append((min(info.get("generation", 0), 2), time.perf_counter() - self._started))

    def flush(self) -> None:
        """Observe the pauses since the last flush (cheap when there were none)."""
        if self._pending:
            pending, self._pending = self._pending, []
            for generation, seconds in pending:
                self._children[generation].observe(seconds)


GC_PAUSES: Final = GcPauses()
"""The process's one watcher: installed by the server, flushed by the scoring service."""
