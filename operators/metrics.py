"""The metrics provider interface the rollout gates read, and the observations it returns.

A gate never knows where numbers come from: in a cluster a Prometheus HTTP query, on the local stack the
predictors' own ``/metrics`` and the reward log (both in :mod:`operators.metrics_sources`). Both answer
"what happened to this model version since this time".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

Buckets = Sequence[tuple[float, float]]
"""Cumulative histogram buckets ``(upper bound, count)`` sorted by bound, the last bound ``+Inf``."""


@dataclass(frozen=True)
class MetricsQuery:
    """Which rollout is asking, about which versions, since when."""

    namespace: str
    model_name: str
    candidate_version: str
    baseline_version: str | None
    since: datetime


@dataclass(frozen=True)
class ShadowObservation:
    """The challenger on mirrored traffic, compared with the champion on the same requests."""

    samples: int
    error_rate: float
    p99_latency_ms: float | None
    psi: float | None
    rank_agreement: float | None


@dataclass(frozen=True)
class CanaryObservation:
    """The challenger on its share of real traffic, and both versions' reward rates over the same window."""

    samples: int
    error_rate: float
    p99_latency_ms: float | None
    reward_samples: int
    """Tips the challenger served whose reaction came back (the challenger's reward sample size)."""
    challenger_reward_rate: float | None
    champion_reward_rate: float | None
    champion_reward_samples: int = 0
    """The same for the champion over the same window."""
    split_pending: str | None = None
    """Why the step's split is not serving yet (e.g. canary Pods still starting): the gates wait, judge nothing."""


class MetricsProvider(Protocol):
    """Where the gates' numbers come from."""

    async def shadow(self, query: MetricsQuery) -> ShadowObservation:
        """Observations of the shadow phase since ``query.since``."""
        ...

    async def canary(self, query: MetricsQuery) -> CanaryObservation:
        """Observations of the current canary step since ``query.since``."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


def histogram_quantile(q: float, buckets: Buckets) -> float | None:
    """Prometheus-style quantile of cumulative buckets (linear inside a bucket); None without samples."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound


def psi(expected: Buckets, actual: Buckets, floor: float = 1e-4) -> float | None:
    """Population stability index of ``actual`` against ``expected`` over the same cumulative buckets.

    Empty shares are floored so a bucket one side never hits adds a large, finite term rather than infinity.
    """
    if len(expected) != len(actual) or not expected:
        raise ValueError("PSI needs the same buckets on both sides")
    total_e, total_a = expected[-1][1], actual[-1][1]
    if total_e <= 0 or total_a <= 0:
        return None
    value, prev_e, prev_a = 0.0, 0.0, 0.0
    for (_, cum_e), (_, cum_a) in zip(expected, actual, strict=True):
        share_e = max((cum_e - prev_e) / total_e, floor)
        share_a = max((cum_a - prev_a) / total_a, floor)
        value += (share_a - share_e) * math.log(share_a / share_e)
        prev_e, prev_a = cum_e, cum_a
    return value


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall tau-a between two score lists over the same candidates (1 = same order, -1 = reversed)."""
    if len(a) != len(b):
        raise ValueError("rankings must score the same candidates")
    n = len(a)
    if n < 2:
        return 1.0
    concordant = discordant = 0
    for i in range(n):
        for j in range(i + 1, n):
            sign = (a[i] - a[j]) * (b[i] - b[j])
            if sign > 0:
                concordant += 1
            elif sign < 0:
                discordant += 1
    return (concordant - discordant) / (n * (n - 1) / 2)

