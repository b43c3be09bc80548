"""Bandit policies over prompt versions: Thompson sampling, UCB1, epsilon-greedy and uniform.

Each policy keeps Beta-Bernoulli style counts per arm (shown, positive), chooses an arm with a caller's
random generator, and reports the probability with which it chose that arm: the propensity that off-policy
estimators need later. Counts can be replaced wholesale from the reward log (:meth:`BanditPolicy.set_counts`)
so every replica of the generator converges on the same state without talking to the others.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from experiments.config import BanditAlgorithm, BanditExperiment

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Choice:
    """An arm and the probability the policy had of choosing it."""

    arm: str
    propensity: float


@dataclass(frozen=True, slots=True)
class ArmCounts:
    """Rewards observed for one arm."""

    shown: int
    positive: int


class BanditPolicy(ABC):
    """Counts per arm plus a choice rule."""

    def __init__(self, arms: Sequence[str]) -> None:
        if not arms:
            raise ValueError("a bandit needs at least one arm")
        self.arms: tuple[str, ...] = tuple(arms)
        self._index = {a: i for i, a in enumerate(self.arms)}
        self.shown: FloatArray = np.zeros(len(self.arms))
        self.positive: FloatArray = np.zeros(len(self.arms))

    def update(self, arm: str, reward: float) -> None:
        """Record one reward (0 or 1) for ``arm``."""
        i = self._index[arm]
        self.shown[i] += 1.0
        self.positive[i] += reward

    def set_counts(self, counts: Mapping[str, ArmCounts]) -> None:
        """Replace the counts (arms missing from ``counts`` start from zero; unknown arms are ignored)."""
        self.shown[:] = 0.0
        self.positive[:] = 0.0
        for arm, c in counts.items():
            if arm in self._index:
                self.shown[self._index[arm]] = c.shown
                self.positive[self._index[arm]] = c.positive

    def choose(self, rng: np.random.Generator) -> Choice:
        """Choose an arm; the propensity is the probability of that choice under the current counts."""
        i = self._choose_index(rng)
        return Choice(self.arms[i], float(self.probabilities(rng)[i]))

    def choose_arm(self, rng: np.random.Generator) -> str:
        """Choose an arm without estimating its propensity (simulations that never log it)."""
        return self.arms[self._choose_index(rng)]

    @abstractmethod
    def _choose_index(self, rng: np.random.Generator) -> int:
        """Index of the chosen arm."""

    @abstractmethod
    def probabilities(self, rng: np.random.Generator) -> FloatArray:
        """Probability of choosing each arm right now (estimated where no closed form exists)."""


class UniformPolicy(BanditPolicy):
    """Every arm equally likely: the baseline that never learns."""

    def _choose_index(self, rng: np.random.Generator) -> int:
        return int(rng.integers(len(self.arms)))

    def probabilities(self, rng: np.random.Generator) -> FloatArray:
        """1/K for each arm."""
        return np.full(len(self.arms), 1.0 / len(self.arms))


class ThompsonSampling(BanditPolicy):
    """Beta-Bernoulli Thompson sampling: play the arm whose posterior draw is highest."""

    def __init__(self, arms: Sequence[str], prior_alpha: float = 1.0, prior_beta: float = 1.0,
                 propensity_draws: int = 2000) -> None:
        super().__init__(arms)
        self.prior_alpha = prior_alpha
        self.prior_beta = prior_beta
        self.propensity_draws = propensity_draws

    def _posterior(self) -> tuple[FloatArray, FloatArray]:
        return self.prior_alpha + self.positive, self.prior_beta + (self.shown - self.positive)

    def _choose_index(self, rng: np.random.Generator) -> int:
        a, b = self._posterior()
        return int(np.argmax(rng.beta(a, b)))

    def probabilities(self, rng: np.random.Generator) -> FloatArray:
        """P(arm's draw is the largest), by Monte Carlo over ``propensity_draws`` posterior draws."""
        a, b = self._posterior()
        draws = rng.beta(a, b, size=(self.propensity_draws, len(self.arms)))
        wins = np.bincount(np.argmax(draws, axis=1), minlength=len(self.arms)).astype(np.float64)
        # Never report 0: the arm was (or could be) chosen, and a zero propensity breaks IPS.
        wins += 0.5
        out: FloatArray = wins / wins.sum()
        return out


class UCB1(BanditPolicy):
    """UCB1: each arm once, then the highest mean plus ``sqrt(2 ln t / n)``; ties broken at random."""

    def _best(self) -> npt.NDArray[np.int64]:
        unplayed = np.flatnonzero(self.shown == 0)
        if unplayed.size:
            return unplayed.astype(np.int64)
        t = self.shown.sum()
        score = self.positive / self.shown + np.sqrt(2.0 * math.log(t) / self.shown)
        return np.flatnonzero(np.isclose(score, score.max(), rtol=0.0, atol=1e-12)).astype(np.int64)

    def _choose_index(self, rng: np.random.Generator) -> int:
        best = self._best()
        return int(best[rng.integers(best.size)])

    def probabilities(self, rng: np.random.Generator) -> FloatArray:
        """Deterministic up to ties: 1/#ties on the best arms, 0 elsewhere."""
        p = np.zeros(len(self.arms))
        best = self._best()
        p[best] = 1.0 / best.size
        return p


class EpsilonGreedy(BanditPolicy):
    """Best empirical mean with probability 1 - epsilon, a uniform arm otherwise."""

    def __init__(self, arms: Sequence[str], epsilon: float = 0.1) -> None:
        super().__init__(arms)
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError("epsilon must be in [0, 1]")
        self.epsilon = epsilon

    def _best(self) -> npt.NDArray[np.int64]:
        unplayed = np.full(len(self.arms), np.inf)
        means = np.divide(self.positive, self.shown, out=unplayed, where=self.shown > 0)
        return np.flatnonzero(means == means.max()).astype(np.int64)

    def _choose_index(self, rng: np.random.Generator) -> int:
        if rng.random() < self.epsilon:
            return int(rng.integers(len(self.arms)))
        best = self._best()
        return int(best[rng.integers(best.size)])

    def probabilities(self, rng: np.random.Generator) -> FloatArray:
        """epsilon/K everywhere plus (1 - epsilon)/#best on the best arms."""
        k = len(self.arms)
        p = np.full(k, self.epsilon / k)
        best = self._best()
        p[best] += (1.0 - self.epsilon) / best.size
        return p


def make_policy(experiment: BanditExperiment) -> BanditPolicy:
    """The policy an experiment file names."""
    match experiment.algorithm:
        case BanditAlgorithm.THOMPSON:
            return ThompsonSampling(experiment.arms, experiment.prior_alpha, experiment.prior_beta)
        case BanditAlgorithm.UCB1:
            return UCB1(experiment.arms)
        case BanditAlgorithm.EPSILON_GREEDY:
            return EpsilonGreedy(experiment.arms, experiment.epsilon)
        case BanditAlgorithm.UNIFORM:
            return UniformPolicy(experiment.arms)
