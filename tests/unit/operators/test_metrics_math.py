"""Quantiles, PSI, Kendall tau and the reward bounds used by the gates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from operators.metrics import histogram_quantile, kendall_tau, psi
from operators.reward_gate import reward_difference_interval

INF = math.inf


def test_histogram_quantile_interpolates_like_prometheus() -> None:
    buckets = [(0.01, 50.0), (0.05, 99.0), (0.1, 100.0), (INF, 100.0)]
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.01)
    assert histogram_quantile(0.99, buckets) == pytest.approx(0.05)
    assert histogram_quantile(0.995, buckets) == pytest.approx(0.075)
    assert histogram_quantile(0.99, [(0.1, 0.0), (INF, 0.0)]) is None


def test_psi_is_zero_for_equal_distributions_and_grows_with_drift() -> None:
    same = [(0.5, 50.0), (INF, 100.0)]
    assert psi(same, same) == pytest.approx(0.0)
    shifted = [(0.5, 90.0), (INF, 100.0)]
    assert psi(same, shifted) == pytest.approx(0.4 * math.log(0.9 / 0.5) + (0.1 - 0.5) * math.log(0.1 / 0.5))
    assert psi(same, [(0.5, 0.0), (INF, 0.0)]) is None


def test_kendall_tau() -> None:
    assert kendall_tau([0.1, 0.2, 0.3], [1, 2, 3]) == 1.0
    assert kendall_tau([0.1, 0.2, 0.3], [3, 2, 1]) == -1.0
    assert kendall_tau([0.1, 0.2, 0.3], [1, 3, 2]) == pytest.approx(1 / 3)


def test_reward_difference_interval_is_agresti_caffo() -> None:
    # 58/157 against 75/143: one positive and one negative added to each side, then Wald at z(0.95).
    c, b = 59 / 159, 76 / 145
    half = 1.6448536269514722 * math.sqrt(c * (1 - c) / 159 + b * (1 - b) / 145)
    low, high = reward_difference_interval(58 / 157, 157, 75 / 143, 143, 0.95)
    assert (low, high) == (pytest.approx(c - b - half), pytest.approx(c - b + half))
    # A rate of 0 on both sides still has width (the plain Wald interval would be [0, 0]).
    low, high = reward_difference_interval(0.0, 20, 0.0, 20, 0.95)
    assert low < 0 < high
    with pytest.raises(ValueError, match="rewarded samples"):
        reward_difference_interval(0.3, 0, 0.3, 10, 0.95)
    with pytest.raises(ValueError, match="confidence"):
        reward_difference_interval(0.3, 10, 0.3, 10, 1.0)


def test_reward_bounds_cover_an_equal_models_difference_at_their_confidence() -> None:
    # Equal models at a canary step's sizes: each one-sided bound misses 0 about 5 % of the time, not more.
    rng = np.random.default_rng(0)
    runs, n_c, n_b, p = 20_000, 150, 450, 0.45
    c, b = rng.binomial(n_c, p, runs) / n_c, rng.binomial(n_b, p, runs) / n_b
    bounds = [reward_difference_interval(x, n_c, y, n_b, 0.95) for x, y in zip(c, b, strict=True)]
    below = np.mean([high < 0 for _, high in bounds])
    above = np.mean([low > 0 for low, _ in bounds])
    assert 0.03 < below < 0.06 and 0.03 < above < 0.06
