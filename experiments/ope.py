"""Off-policy estimators: the value a new policy would have had, from data logged under another policy.

Inputs are per logged round: the reward, the logging propensity of the action taken, and the target policy's
probability of that same action. Doubly robust also takes a reward model's prediction for every action and
the target policy's full distribution. Confidence intervals are normal approximations with the sample
standard error (delta method for SNIPS), which is what a rollout gate or a dashboard needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

Z_95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate with its standard error and a two-sided normal confidence interval."""

    name: str
    value: float
    stderr: float
    ci_low: float
    ci_high: float
    n: int

    def covers(self, truth: float) -> bool:
        """Whether the interval contains ``truth``."""
        return self.ci_low <= truth <= self.ci_high


def _check(rewards: FloatArray, logging_p: FloatArray, target_p: FloatArray) -> None:
    n = rewards.shape[0]
    if n == 0:
        raise ValueError("no logged rounds")
    if logging_p.shape != (n,) or target_p.shape != (n,):
        raise ValueError("rewards, logging and target propensities must be 1-D of the same length")
    if np.any(logging_p <= 0.0):
        raise ValueError("logging propensities must be positive")


def _estimate(name: str, terms: FloatArray, value: float | None = None, z: float = Z_95) -> Estimate:
    n = terms.shape[0]
    v = float(terms.mean()) if value is None else value
    se = float(terms.std(ddof=1)) / math.sqrt(n) if n > 1 else math.inf
    return Estimate(name, v, se, v - z * se, v + z * se, n)


def ips(rewards: FloatArray, logging_p: FloatArray, target_p: FloatArray, z: float = Z_95) -> Estimate:
    """Inverse propensity scoring: mean of ``(target/logging) * reward``; unbiased, high variance."""
    _check(rewards, logging_p, target_p)
    return _estimate("ips", (target_p / logging_p) * rewards, z=z)


def snips(rewards: FloatArray, logging_p: FloatArray, target_p: FloatArray, z: float = Z_95) -> Estimate:
    """Self-normalised IPS: weights divided by their mean; slightly biased, far less variance."""
    _check(rewards, logging_p, target_p)
    w = target_p / logging_p
    w_mean = float(w.mean())
    if w_mean == 0.0:
        raise ValueError("the target policy never takes a logged action")
    value = float((w * rewards).sum() / w.sum())
    # Delta method: the influence of each round on the ratio estimator.
    return _estimate("snips", w * (rewards - value) / w_mean + value, value=value, z=z)


def doubly_robust(
    rewards: FloatArray,
    actions: IntArray,
    logging_p: FloatArray,
    target_probs: FloatArray,
    reward_model: FloatArray,
    z: float = Z_95,
) -> Estimate:
    """Doubly robust: the reward model's value under the target policy plus an IPS correction of its error.

    Args:
        rewards: observed reward per round, shape (n,).
        actions: index of the logged action per round, shape (n,).
        logging_p: logging propensity of the logged action, shape (n,).
        target_probs: target policy's probability of every action per round, shape (n, k).
        reward_model: predicted reward of every action per round, shape (n, k).
        z: normal quantile of the interval.
    """
    n = rewards.shape[0]
    if target_probs.ndim != 2 or target_probs.shape[0] != n or reward_model.shape != target_probs.shape:
        raise ValueError("target_probs and reward_model must both be (n, k)")
    rows = np.arange(n)
    target_p = target_probs[rows, actions]
    _check(rewards, logging_p, target_p)
    direct = (target_probs * reward_model).sum(axis=1)
    correction = (target_p / logging_p) * (rewards - reward_model[rows, actions])
    return _estimate("dr", direct + correction, z=z)
