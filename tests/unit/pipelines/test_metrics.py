from __future__ import annotations

import math

import numpy as np
import pytest

from pipelines.steps.metrics import (
    auc,
    binary_log_loss,
    expected_calibration_error,
    ndcg_at_k,
    paired_delta,
    score_all,
)


def test_auc_is_nan_for_one_class_and_exact_otherwise() -> None:
    assert math.isnan(auc([0, 0, 0], [0.1, 0.2, 0.3]))
    assert auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert auc([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4]) == 0.75


def test_ece_of_a_calibrated_scorer_is_zero_and_of_a_confident_wrong_one_large() -> None:
    y = np.array([1] * 30 + [0] * 70)
    assert expected_calibration_error(y, np.full(100, 0.3)) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.full(100, 0.95)) == pytest.approx(0.65)


def test_log_loss_clips_certain_mistakes() -> None:
    assert math.isfinite(binary_log_loss([1, 0], [0.0, 1.0]))


def test_ndcg_per_request_ranks_positives_first() -> None:
    req = ["a", "a", "a", "b", "b", "c", "c"]
    y = [1, 0, 0, 0, 1, 0, 0]
    perfect = ndcg_at_k(req, y, [0.9, 0.1, 0.2, 0.1, 0.8, 0.5, 0.5])
    assert perfect == pytest.approx(1.0)
    worst = ndcg_at_k(req, y, [0.1, 0.9, 0.8, 0.9, 0.1, 0.5, 0.5])
    # a: positive at rank 3 → 1/log2(4) = 0.5; b: positive at rank 2 → 1/log2(3); request c has no positive.
    assert worst == pytest.approx((0.5 + 1 / math.log2(3)) / 2)


def test_score_all_reports_every_metric() -> None:
    s = score_all(["a", "a", "b", "b"], [1, 0, 0, 1], [0.8, 0.3, 0.4, 0.6]).as_dict()
    assert set(s) == {"auc", "log_loss", "ece", "ndcg_at_5", "n"}
    assert s["auc"] == 1.0 and s["n"] == 4


def test_paired_delta_separates_a_better_scorer_and_ties_with_itself() -> None:
    rng = np.random.default_rng(3)
    users = np.repeat(np.arange(400), 5)
    y = rng.integers(0, 2, users.size)
    good = y * 0.5 + rng.random(users.size) * 0.6
    noise = rng.random(users.size)
    better = paired_delta(users, y, good, noise, n_boot=100)
    assert better["auc"]["ci95_low"] > 0 and better["ndcg_at_5"]["ci95_low"] > 0
    same = paired_delta(users, y, good, good, n_boot=50)
    assert same["auc"]["delta"] == 0.0 and same["ndcg_at_5"]["ci95_low"] == same["ndcg_at_5"]["ci95_high"] == 0.0
