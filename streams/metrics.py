"""Prometheus metrics of the consumers (own registry, so several consumers can live in one test process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from contracts import serving_metrics as sm
from experiments.reward_log import RewardTally

_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class IngestMetrics:
    """Received, acked, naked, dead-lettered, duplicates, write/push latency, consumer lag; rewards joined."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.received = Counter("tipsml_ingest_received", "Messages fetched.", ["stream"], registry=r)
        self.acked = Counter("tipsml_ingest_acked", "Messages acked after a durable write.", ["stream"], registry=r)
        self.naked = Counter("tipsml_ingest_naked", "Messages naked for redelivery.", ["stream", "reason"], registry=r)
        self.deadlettered = Counter(
            "tipsml_ingest_deadlettered", "Messages parked on DEADLETTER.", ["stream", "reason"], registry=r
        )
        self.duplicates = Counter(
            "tipsml_ingest_duplicates", "Valid events already applied (by event_id).", ["stream"], registry=r
        )
        self.written = Counter("tipsml_ingest_written", "Events newly written.", ["stream"], registry=r)
        self.write_seconds = Histogram(
            "tipsml_ingest_write_seconds",
            "Durable write of one batch.",
            ["stream"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.push_seconds_total = Counter("tipsml_ingest_online_push_seconds", "Time spent pushing online.", registry=r)
        self.push_failures = Counter("tipsml_ingest_online_push_failures", "Failed online push rounds.", registry=r)
        self.pushed_rows = Counter("tipsml_ingest_online_rows", "Feature rows pushed online.", registry=r)
        self.pushed_batches = Counter("tipsml_ingest_online_batches", "Batches whose features were pushed.", registry=r)
        self.lag = Gauge(
            "tipsml_ingest_consumer_lag",
            "Messages not yet delivered or not yet acked.",
            ["stream"],
            registry=r,
        )

        versions = [sm.LABEL_MODEL_VERSION, sm.LABEL_PROMPT_VERSION]
        self.rewards_shown = Counter(
            sm.REWARDS_SHOWN_TOTAL, "Tips shown (tip_shown applied), once per impression.", versions, registry=r
        )
        self.rewards_positive = Counter(
            sm.REWARDS_POSITIVE_TOTAL,
            "Shown tips joined with a positive reaction, once per impression.",
            versions,
            registry=r,
        )

    def observe_rewards(self, tally: RewardTally) -> None:
        """Count what one committed batch joined (the consumer calls this once per durable write)."""
        for (model_version, prompt_version), n in tally.shown.items():
            self.rewards_shown.labels(model_version, prompt_version).inc(n)
        for (model_version, prompt_version), n in tally.positive.items():
            self.rewards_positive.labels(model_version, prompt_version).inc(n)

    def observe_push(self, seconds: float, rows: int, batches: int, failures: int) -> None:
        """Add what the pusher process did since the last call."""
        self.push_seconds_total.inc(seconds)
        self.pushed_rows.inc(rows)
        self.pushed_batches.inc(batches)
        self.push_failures.inc(failures)

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Expose ``/metrics`` over HTTP."""
        start_http_server(port, addr=host, registry=self.registry)
