"""The two metrics sources behind :class:`~operators.metrics.MetricsProvider`: Prometheus and local scrape.

Both reduce to three primitives (a summed counter, summed histogram buckets, a reward rate per model
version), so the arithmetic of a gate's observation is written once in :class:`SeriesProvider`.

Every query is scoped to the rollout (:meth:`SeriesProvider.scope`): in Prometheus to the rollout's namespace
(the ``namespace`` target label, which the dependencies chart's scrape config and the Prometheus Operator both
attach) plus the chart's ``operator.prometheusSelector``, so two installs in one cluster never read each other's
series. The local stack has one install and no namespaces.
"""

from __future__ import annotations

import asyncio
import math
from abc import ABC, abstractmethod
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from contracts import serving_metrics as sm
from operators.errors import MetricsUnavailableError
from operators.metrics import (
    Buckets,
    CanaryObservation,
    MetricsQuery,
    ShadowObservation,
    histogram_quantile,
    psi,
)

Labels = dict[str, str]


class SeriesProvider(ABC):
    """Computes gate observations from counters and histograms, whatever stores them."""

    @abstractmethod
    async def total(self, name: str, labels: Labels, since: datetime) -> float:
        """Sum of counter ``name`` over matching series, increase since ``since``."""

    @abstractmethod
    async def buckets(self, name: str, labels: Labels, since: datetime) -> Buckets:
        """Cumulative buckets of histogram ``name`` summed over matching series."""

    def scope(self, query: MetricsQuery) -> Labels:
        """Label matchers that keep a query to the rollout's own install (none by default)."""
        return {}

    async def rewards(self, model_version: str, since: datetime, scope: Labels | None = None
                      ) -> tuple[int, float | None]:
        """(shown, positive rate) of tips served by ``model_version`` since ``since``, within ``scope``."""
        labels = {**(scope or {}), sm.LABEL_MODEL_VERSION: model_version}
        shown = await self.total(sm.REWARDS_SHOWN_TOTAL, labels, since)
        positive = await self.total(sm.REWARDS_POSITIVE_TOTAL, labels, since)
        return int(shown), (positive / shown if shown else None)

    @abstractmethod
    async def aclose(self) -> None:
        """Release connections."""

    async def _serving(self, labels: Labels, since: datetime) -> tuple[int, float, float | None]:
        requests = await self.total(sm.REQUESTS_TOTAL, labels, since)
        errors = await self.total(sm.ERRORS_TOTAL, labels, since)
        latency = histogram_quantile(0.99, await self.buckets(sm.LATENCY_SECONDS, labels, since))
        return int(requests), (errors / requests if requests else 0.0), (
            latency * 1000.0 if latency is not None else None
        )

    async def shadow(self, query: MetricsQuery) -> ShadowObservation:
        """The shadow's own serving numbers, its score drift and rank agreement against the champion."""
        scope = self.scope(query)
        shadow = {**scope, sm.LABEL_MODEL_VERSION: query.candidate_version, sm.LABEL_ROLE: "shadow"}
        samples, error_rate, p99 = await self._serving(shadow, query.since)
        drift: float | None = None
        if query.baseline_version is not None:
            champion = {**scope, sm.LABEL_MODEL_VERSION: query.baseline_version, sm.LABEL_ROLE: "champion"}
            ours = await self.buckets(sm.SCORE, shadow, query.since)
            theirs = await self.buckets(sm.SCORE, champion, query.since)
            if ours and len(ours) == len(theirs):
                drift = psi(theirs, ours)
        agreement_sum = await self.total(f"{sm.RANK_AGREEMENT}_sum", shadow, query.since)
        agreement_count = await self.total(f"{sm.RANK_AGREEMENT}_count", shadow, query.since)
        agreement = agreement_sum / agreement_count if agreement_count else None
        return ShadowObservation(samples, error_rate, p99, drift, agreement)

    async def canary(self, query: MetricsQuery) -> CanaryObservation:
        """The candidate's serving numbers on its traffic share, and both versions' reward rates."""
        scope = self.scope(query)
        samples, error_rate, p99 = await self._serving({**scope, sm.LABEL_MODEL_VERSION: query.candidate_version},
                                                       query.since)
        shown, challenger = await self.rewards(query.candidate_version, query.since, scope)
        champion_shown, champion = 0, None
        if query.baseline_version is not None:
            champion_shown, champion = await self.rewards(query.baseline_version, query.since, scope)
        return CanaryObservation(samples, error_rate, p99, shown, challenger, champion, champion_shown)


class PrometheusProvider(SeriesProvider):
    """Instant queries against the Prometheus HTTP API, windowed to the analysis period."""

    def __init__(self, url: str, selector: str = "", timeout: float = 10.0) -> None:
        self._client = httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout)
        self._selector = selector

    def scope(self, query: MetricsQuery) -> Labels:
        """The rollout's namespace (the ``namespace`` target label)."""
        return {sm.LABEL_NAMESPACE: query.namespace}

    def _matchers(self, labels: Labels) -> str:
        parts = [f'{k}="{v}"' for k, v in sorted(labels.items())]
        if self._selector:
            parts.append(self._selector)
        return "{" + ",".join(parts) + "}"

    @staticmethod
    def _window(since: datetime) -> str:
        return f"{max(1, math.ceil((datetime.now(UTC) - since).total_seconds()))}s"

    async def _query(self, promql: str) -> list[dict[str, object]]:
        try:
            response = await self._client.get("/api/v1/query", params={"query": promql})
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as e:
            raise MetricsUnavailableError(f"Prometheus query failed: {e}") from e
        if body.get("status") != "success" or body.get("data", {}).get("resultType") != "vector":
            status, error = body.get("status"), body.get("error", "")
            raise MetricsUnavailableError(f"Prometheus answered {status}: {error}")
        result: list[dict[str, object]] = body["data"]["result"]
        return result

    async def total(self, name: str, labels: Labels, since: datetime) -> float:
        """``sum(increase(name{labels}[window]))``; no series means 0."""
        rows = await self._query(f"sum(increase({name}{self._matchers(labels)}[{self._window(since)}]))")
        return sum(_sample_value(row) for row in rows)

    async def buckets(self, name: str, labels: Labels, since: datetime) -> Buckets:
        """``sum by (le) (increase(name_bucket{labels}[window]))``, sorted by bound."""
        promql = f"sum by (le) (increase({name}_bucket{self._matchers(labels)}[{self._window(since)}]))"
        rows = await self._query(promql)
        pairs = [(float(str(_labels(row)["le"])), _sample_value(row)) for row in rows]
        return sorted(pairs)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


def _labels(row: dict[str, object]) -> dict[str, object]:
    metric = row.get("metric", {})
    return metric if isinstance(metric, dict) else {}


def _sample_value(row: dict[str, object]) -> float:
    value = row.get("value")
    if not isinstance(value, list) or len(value) != 2:
        raise MetricsUnavailableError(f"malformed Prometheus sample: {row}")
    number = float(value[1])
    return 0.0 if math.isnan(number) else number


class LocalProvider(SeriesProvider):
    """The local stack: scrape the scorer processes' ``/metrics`` and read the reward log.

    Counters there are totals since each process started (a local rollout starts its shadow fresh), so
    ``since`` only narrows the rewards, which the log stores with timestamps.
    """

    def __init__(self, urls: list[str], reward_log: Path | None, timeout: float = 10.0) -> None:
        self._urls = urls
        self._reward_log = reward_log
        self._client = httpx.AsyncClient(timeout=timeout)

    async def _samples(self) -> list[tuple[str, Labels, float]]:
        found: list[tuple[str, Labels, float]] = []
        for url in self._urls:
            try:
                response = await self._client.get(url)
                response.raise_for_status()
            except httpx.HTTPError as e:
                raise MetricsUnavailableError(f"scrape of {url} failed: {e}") from e
            for family in text_string_to_metric_families(response.text):
                found.extend((s.name, dict(s.labels), float(s.value)) for s in family.samples)
        return found

    async def total(self, name: str, labels: Labels, since: datetime) -> float:
        """Sum of the matching samples named ``name`` across every scraped process."""
        return sum(v for n, lab, v in await self._samples() if n == name and _match(lab, labels))

    async def buckets(self, name: str, labels: Labels, since: datetime) -> Buckets:
        """Matching ``<name>_bucket`` samples summed per bound."""
        per_bound: dict[float, float] = defaultdict(float)
        for n, lab, v in await self._samples():
            if n == f"{name}_bucket" and _match(lab, labels):
                per_bound[float(lab["le"])] += v
        return sorted(per_bound.items())

    async def rewards(self, model_version: str, since: datetime, scope: Labels | None = None
                      ) -> tuple[int, float | None]:
        """From the reward log: tips shown by ``model_version`` since ``since`` and their positive rate."""
        if self._reward_log is None:
            return 0, None
        from experiments.reward_log import RewardLog

        def read() -> tuple[int, float | None]:
            assert self._reward_log is not None
            with RewardLog(self._reward_log) as log:
                rows = [a for a in log.by_model_version(since=since) if a.key == model_version]
            return (rows[0].shown, rows[0].rate) if rows and rows[0].shown else (0, None)

        return await asyncio.to_thread(read)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


def _match(sample: Labels, wanted: Labels) -> bool:
    return all(sample.get(k) == v for k, v in wanted.items())
