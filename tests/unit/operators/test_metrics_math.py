"""Quantiles, PSI and Kendall tau used by the gates."""

from __future__ import annotations

import math

import pytest

from operators.metrics import histogram_quantile, kendall_tau, psi

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
