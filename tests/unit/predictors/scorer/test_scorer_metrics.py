"""The score histogram's batched observation exposes exactly what one observation per score would."""

from __future__ import annotations

import numpy as np
from prometheus_client import CollectorRegistry, Histogram

from contracts.serving_metrics import SCORE_BUCKETS
from predictors.scorer.metrics import observe_many


def samples(histogram: Histogram) -> dict[tuple[str, str], float]:
    return {
        (s.name.rsplit("_", 1)[-1], s.labels.get("le", "")): s.value
        for metric in histogram.collect()
        for s in metric.samples
        if not s.name.endswith("_created")
    }


def test_observe_many_equals_observing_one_by_one() -> None:
    rng = np.random.default_rng(3)
    one = Histogram("one", "one by one", buckets=SCORE_BUCKETS, registry=CollectorRegistry())
    many = Histogram("many", "batched", buckets=SCORE_BUCKETS, registry=CollectorRegistry())
    for _ in range(50):
        scores = np.concatenate([rng.uniform(0, 1, 20), np.array(SCORE_BUCKETS[:3], dtype=np.float64)])
        for s in scores:
            one.observe(float(s))
        observe_many(many, scores)
    a, b = samples(one), samples(many)
    assert a.keys() == b.keys()
    for key, value in a.items():
        assert abs(value - b[key]) <= 1e-9, key


def test_observe_many_of_nothing_changes_nothing() -> None:
    h = Histogram("empty", "nothing", buckets=(0.5, 1.0), registry=CollectorRegistry())
    observe_many(h, np.array([], dtype=np.float64))
    assert all(v == 0 for v in samples(h).values())
