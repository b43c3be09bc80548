"""Metrics sources: the Prometheus client against an HTTP double, the local one against real exporters."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, Summary
from prometheus_client.exposition import MetricsHandler

from contracts import serving_metrics as sm
from operators.metrics import MetricsQuery
from operators.metrics_sources import LocalProvider, PrometheusProvider
from tests.unit.operators.prometheus_double import PrometheusDouble, serving

SINCE = datetime.now(UTC) - timedelta(minutes=5)
QUERY = MetricsQuery(
    namespace="ns", model_name="tip-scorer", candidate_version="7", baseline_version="6", since=SINCE
)


async def test_prometheus_shadow_and_canary_observations() -> None:
    with serving(PrometheusDouble()) as prom:
        prom.healthy("7", "6")
        prom.values[("tipsml_scorer_errors_total", "7")] = 5
        provider = PrometheusProvider(prom.url, selector='instance_release="blue"')
        try:
            shadow = await provider.shadow(QUERY)
            canary = await provider.canary(QUERY)
        finally:
            await provider.aclose()
    assert shadow.samples == 500 and shadow.error_rate == pytest.approx(0.01)
    assert shadow.psi == pytest.approx(0.0) and shadow.rank_agreement == pytest.approx(0.8)
    assert shadow.p99_latency_ms is not None and 5.0 < shadow.p99_latency_ms <= 10.0
    assert canary.reward_samples == 500 and canary.challenger_reward_rate == pytest.approx(0.3)
    assert canary.champion_reward_rate == pytest.approx(0.3)
    shadow_query = next(q for q in prom.queries if "requests_total" in q)
    assert 'role="shadow"' in shadow_query and 'instance_release="blue"' in shadow_query
    # Every query is kept to the rollout's namespace: another install's series never reach its gates.
    assert prom.queries and all('namespace="ns"' in q for q in prom.queries), prom.queries
    assert shadow_query.startswith("sum(increase(tipsml_scorer_requests_total{")


@pytest.fixture
def exporter() -> Iterator[tuple[str, CollectorRegistry]]:
    """A real prometheus_client exporter, as the scorer process serves it."""
    registry = CollectorRegistry()
    handler = MetricsHandler.factory(registry)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/metrics", registry
    server.shutdown()
    server.server_close()


async def test_local_provider_scrapes_real_exporters(
    exporter: tuple[str, CollectorRegistry], tmp_path: Path
) -> None:
    url, registry = exporter
    labels = [sm.LABEL_MODEL_VERSION, sm.LABEL_ROLE]
    requests = Counter(sm.REQUESTS_TOTAL.removesuffix("_total"), "r", labels, registry=registry)
    Counter(sm.ERRORS_TOTAL.removesuffix("_total"), "e", labels, registry=registry)
    latency = Histogram(sm.LATENCY_SECONDS, "l", labels, registry=registry, buckets=(0.005, 0.01, 0.05))
    score = Histogram(sm.SCORE, "s", labels, registry=registry, buckets=sm.SCORE_BUCKETS)
    agreement = Summary(sm.RANK_AGREEMENT, "a", labels, registry=registry)
    for i in range(100):
        for version, role in (("7", "shadow"), ("6", "champion")):
            requests.labels(version, role).inc()
            latency.labels(version, role).observe(0.004)
            score.labels(version, role).observe((i % 10) / 10 + 0.05)
        agreement.labels("7", "shadow").observe(0.6)

    provider = LocalProvider([url], reward_log=None)
    try:
        shadow = await provider.shadow(QUERY)
        canary = await provider.canary(QUERY)
    finally:
        await provider.aclose()
    assert shadow.samples == 100 and shadow.error_rate == 0.0
    assert shadow.psi == pytest.approx(0.0) and shadow.rank_agreement == pytest.approx(0.6)
    assert shadow.p99_latency_ms == pytest.approx(4.95)
    assert canary.samples == 100 and canary.reward_samples == 0 and canary.challenger_reward_rate is None
