"""In-process figures of the tip scorer (no HTTP): what one request's feature read + scoring costs.

* :func:`micro`: back to back, per feature transform (this process's ``scoring_inputs`` vs Feast's).
* :func:`spaced`: the same work back to back, then with the thread asleep between requests as a server
  worker is between arrivals at a low rate (at 200 req/s over two workers, ~10 ms). Its CPU time per
  request is the figure ``bench.scorer_load`` charges a server, so this tells how much of the server's
  cost at a low rate comes with waking up (caches and predictors gone cold while the core idled or ran
  something else) rather than with the request's work.

    .venv/bin/python -m bench.scorer_load --rates 200 --seconds 5 --saturation-s 0   # prints both first
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

SPACING_GAPS_MS = (0.0, 1.0, 5.0, 10.0)
"""Sleeps between requests: back to back, then what a worker sees at ~1,000, ~200 and ~100 req/s."""


def _one_request(world: Any, transform: str, seed: int) -> Callable[[], None]:
    """A closure that reads features for a random user and 20 random tips and scores them (warmed up)."""
    from feature_repo.config import open_store
    from feature_repo.names import MODEL_FEATURES
    from predictors.scorer.features import FeastFeatureSource
    from predictors.scorer.model_store import load_model_dir

    model = load_model_dir(world.model_dir, MODEL_FEATURES)
    source = FeastFeatureSource(open_store(world.root), MODEL_FEATURES, transform=transform)
    rng = random.Random(seed)

    def one() -> None:
        model.score(source.rows(rng.choice(world.users), rng.sample(world.tips, 20), None))

    for _ in range(20):
        one()
    return one


def micro(world: Any, repeats: int) -> None:
    """Median wall time of one request's feature read + scoring, per transform, back to back."""
    print(f"\nin-process, per request of 20 candidates (median of {repeats}):")
    base = None
    for transform in ("in_process", "feast"):
        one = _one_request(world, transform, seed=1)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            one()
            times.append((time.perf_counter() - t0) * 1000)
        med = statistics.median(times)
        base = base or med
        print(f"  transform={transform:<10} features+score {med:6.2f} ms   ({med / base:.1f}x)")


def spaced(world: Any, repeats: int, gaps_ms: Sequence[float] = SPACING_GAPS_MS, rounds: int = 3) -> None:
    """Thread CPU per request with the thread asleep ``gap`` ms before each request; rounds interleaved."""
    one = _one_request(world, "in_process", seed=2)
    cpu: dict[float, list[float]] = {gap: [] for gap in gaps_ms}
    for _ in range(rounds):
        for gap in gaps_ms:
            for _ in range(repeats):
                if gap:
                    time.sleep(gap / 1000)
                t0 = time.thread_time()
                one()
                cpu[gap].append((time.thread_time() - t0) * 1000)
    base = statistics.median(cpu[gaps_ms[0]])
    print(
        f"\nin-process, the same work asleep between requests (thread CPU per request, {rounds} x {repeats} each;"
        " a server worker at a low rate sleeps so):"
    )
    print(f"  {'sleep before each':>17} {'median':>7} {'p90':>7} {'vs back to back':>16}")
    for gap, values in cpu.items():
        values.sort()
        med, p90 = statistics.median(values), values[int(0.9 * (len(values) - 1))]
        print(f"  {gap:>14.0f} ms {med:>7.3f} {p90:>7.3f} {med / base:>15.2f}x")
