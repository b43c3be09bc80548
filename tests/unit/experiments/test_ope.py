import numpy as np
import pytest

from experiments.ope import doubly_robust, ips, snips
from experiments.simulation import simulate_logs, tabular_reward_model

SEEDS = range(100)


def _estimates(seed: int) -> tuple[float, dict[str, tuple[float, float, float]]]:
    rng = np.random.default_rng(seed)
    data = simulate_logs(4000, rng)
    n = data.rewards.shape[0]
    rows = np.arange(n)
    target_p = data.target_probs[rows, data.actions]
    # Cross-fitting: each half's reward model is fitted on the other half, so DR stays unbiased.
    half = rows < n // 2
    model = np.where(
        half[:, None], tabular_reward_model(data, 5, 3, ~half), tabular_reward_model(data, 5, 3, half)
    )
    out = {}
    for est in (
        ips(data.rewards, data.logging_p, target_p),
        snips(data.rewards, data.logging_p, target_p),
        doubly_robust(data.rewards, data.actions, data.logging_p, data.target_probs, model),
    ):
        out[est.name] = (est.value, est.ci_low, est.ci_high)
    return data.true_value, out


def test_estimators_cover_the_truth_across_seeds() -> None:
    covered = {"ips": 0, "snips": 0, "dr": 0}
    for seed in SEEDS:
        truth, ests = _estimates(seed)
        for name, (_, low, high) in ests.items():
            covered[name] += low <= truth <= high
    # 95% intervals: across 100 seeds at least 89 must cover (P(fewer) < 0.5% if coverage is really 95%).
    for name, count in covered.items():
        assert count >= 89, (name, count)


def test_estimators_are_close_to_truth_on_average() -> None:
    errors: dict[str, list[float]] = {"ips": [], "snips": [], "dr": []}
    for seed in range(10):
        truth, ests = _estimates(seed)
        for name, (value, _, _) in ests.items():
            errors[name].append(value - truth)
    for name, errs in errors.items():
        assert abs(float(np.mean(errs))) < 0.01, name


def test_dr_interval_is_tighter_than_ips() -> None:
    widths = {"ips": 0.0, "dr": 0.0}
    for seed in range(5):
        _, ests = _estimates(seed)
        for name in widths:
            widths[name] += ests[name][2] - ests[name][1]
    assert widths["dr"] < widths["ips"]


def test_rejects_zero_logging_propensity() -> None:
    with pytest.raises(ValueError, match="positive"):
        ips(np.array([1.0]), np.array([0.0]), np.array([1.0]))
