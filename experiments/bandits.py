"""Bandit policies over prompt versions: Thompson sampling, UCB1, epsilon-greedy, uniform and a contextual one.

Each policy keeps Beta-Bernoulli style counts per arm (shown, positive), chooses an arm with a caller's
random generator, and reports the probability with which it chose that arm: the propensity that off-policy
estimators need later. Counts can be replaced wholesale from the reward log (:meth:`BanditPolicy.set_counts`)
so every replica of the generator converges on the same state without talking to the others.

Every call takes an optional ``context``: the user's segment (e.g. their platform). Context-free policies
ignore it; :class:`SegmentThompsonSampling` keeps counts per segment, so the best version may differ by user.
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

    def update(self, arm: str, reward: float, context: str | None = None) -> None:
        """Record one reward (0 or 1) for ``arm`` (``context``: the segment it was shown in, if any)."""
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

    def choose(self, rng: np.random.Generator, context: str | None = None) -> Choice:
        """Choose an arm; the propensity is the probability of that choice under the current counts."""
        i = self._choose_index(rng, context)
        return Choice(self.arms[i], float(self.probabilities(rng, context)[i]))

    def choose_arm(self, rng: np.random.Generator, context: str | None = None) -> str:
        """Choose an arm without estimating its propensity (simulations that never log it)."""
        return self.arms[self._choose_index(rng, context)]

    @abstractmethod
    def _choose_index(self, rng: np.random.Generator, context: str | None = None) -> int:
        """Index of the chosen arm."""

    @abstractmethod
    def probabilities(self, rng: np.random.Generator, context: str | None = None) -> FloatArray:
        """Probability of choosing each arm right now (estimated where no closed form exists)."""


class UniformPolicy(BanditPolicy):
    """Every arm equally likely: the baseline that never learns."""

    def _choose_index(self, rng: np.random.Generator, context: str | None = None) -> int:
        return int(rng.integers(len(self.arms)))

    def probabilities(self, rng: np.random.Generator, context: str | None = None) -> FloatArray:
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

    def _choose_index(self, rng: np.random.Generator, context: str | None = None) -> int:
        a, b = self._posterior()
        return int(np.argmax(rng.beta(a, b)))

    def probabilities(self, rng: np.random.Generator, context: str | None = None) -> FloatArray:
        """P(arm's draw is the largest), by Monte Carlo over ``propensity_draws`` posterior draws."""
        a, b = self._posterior()
        return _win_shares(rng, a, b, self.propensity_draws)


class UCB1(BanditPolicy):
    """UCB1: each arm once, then the highest mean plus ``sqrt(2 ln t / n)``; ties broken at random."""

    def _best(self) -> npt.NDArray[np.int64]:
        unplayed = np.flatnonzero(self.shown == 0)
        if unplayed.size:
            return unplayed.astype(np.int64)
        t = self.shown.sum()
        score = self.positive / self.shown + np.sqrt(2.0 * math.log(t) / self.shown)
        return np.flatnonzero(np.isclose(score, score.max(), rtol=0.0, atol=1e-12)).astype(np.int64)

    def _choose_index(self, rng: np.random.Generator, context: str | None = None) -> int:
        best = self._best()
        return int(best[rng.integers(best.size)])

    def probabilities(self, rng: np.random.Generator, context: str | None = None) -> FloatArray:
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

    def _choose_index(self, rng: np.random.Generator, context: str | None = None) -> int:
        if rng.random() < self.epsilon:
            return int(rng.integers(len(self.arms)))
        best = self._best()
        return int(best[rng.integers(best.size)])

    def probabilities(self, rng: np.random.Generator, context: str | None = None) -> FloatArray:
        """epsilon/K everywhere plus (1 - epsilon)/#best on the best arms."""
        k = len(self.arms)
        p = np.full(k, self.epsilon / k)
        best = self._best()
        p[best] += (1.0 - self.epsilon) / best.size
        return p


def _win_shares(rng: np.random.Generator, a: FloatArray, b: FloatArray, draws: int) -> FloatArray:
    """P(each arm's Beta draw is the largest), by Monte Carlo; never 0 (a zero propensity breaks IPS)."""
    samples = rng.beta(a, b, size=(draws, len(a)))
    wins = np.bincount(np.argmax(samples, axis=1), minlength=len(a)).astype(np.float64) + 0.5
    out: FloatArray = wins / wins.sum()
    return out


class SegmentThompsonSampling(ThompsonSampling):
    """Thompson sampling per user segment, each segment's prior borrowed from the other segments.

    A prompt version's lift can differ by segment (platform, tenure), so one posterior per arm for everyone
    picks the version that is best on average and keeps losing in the segments where it is not. Separate
    bandits per segment fix that but pay exploration once per segment, which costs regret where the lift is
    the same everywhere. Here a segment's posterior of an arm is its own counts plus the other segments'
    counts of that arm, shrunk to as many pseudo-observations as the segments' agreement warrants (an
    empirical-Bayes Beta-binomial estimate, :meth:`_concentration`, at most ``pool_strength``): where the
    segments agree they pool fully and behave like one Thompson sampler, where they differ each learns its own.
    """

    def __init__(self, arms: Sequence[str], prior_alpha: float = 1.0, prior_beta: float = 1.0,
                 pool_strength: float = 1e6, propensity_draws: int = 2000) -> None:
        super().__init__(arms, prior_alpha, prior_beta, propensity_draws)
        if pool_strength < 0:
            raise ValueError("pool_strength must be >= 0")
        self.pool_strength = pool_strength
        self.segments: dict[str, tuple[FloatArray, FloatArray]] = {}
        """segment -> (shown, positive) per arm; the pooled counts are :attr:`shown` / :attr:`positive`."""

    def update(self, arm: str, reward: float, context: str | None = None) -> None:
        """Record one reward for ``arm`` in segment ``context`` (and in the pooled counts)."""
        super().update(arm, reward, context)
        shown, positive = self._segment(context)
        shown[self._index[arm]] += 1.0
        positive[self._index[arm]] += reward

    def set_counts(self, counts: Mapping[str, ArmCounts]) -> None:
        """Pooled counts only (a reward log without segments): every segment starts from them."""
        super().set_counts(counts)
        self.segments.clear()

    def set_segment_counts(self, counts: Mapping[str, Mapping[str, ArmCounts]]) -> None:
        """Replace the counts with ``{segment: {arm: counts}}``; the pooled counts become their sums."""
        self.segments.clear()
        pooled: dict[str, ArmCounts] = {}
        for segment, per_arm in counts.items():
            shown, positive = self._segment(segment)
            for arm, c in per_arm.items():
                if arm in self._index:
                    shown[self._index[arm]] = c.shown
                    positive[self._index[arm]] = c.positive
                    old = pooled.get(arm, ArmCounts(0, 0))
                    pooled[arm] = ArmCounts(old.shown + c.shown, old.positive + c.positive)
        ThompsonSampling.set_counts(self, pooled)

    def _segment(self, context: str | None) -> tuple[FloatArray, FloatArray]:
        key = context or ""
        if key not in self.segments:
            self.segments[key] = (np.zeros(len(self.arms)), np.zeros(len(self.arms)))
        return self.segments[key]

    def _concentration(self) -> FloatArray:
        """Per arm, how many pseudo-observations the other segments' counts are worth to a segment.

        The spread of the segments' rates of an arm beyond what binomial noise explains estimates the
        between-segment variance tau^2 of that rate; the Beta prior with that variance has concentration
        m(1-m)/tau^2 - 1 (method of moments). Only spread beyond about the 95th percentile of the noise (its
        chi-square mean plus two standard deviations) counts, so a few pulls of a rarely played arm do not
        cut the pooling; without it, the cap :attr:`pool_strength` applies (segments pool fully).
        """
        out = np.full(len(self.arms), self.pool_strength)
        if len(self.segments) < 2:
            return out
        shown = np.array([s for s, _ in self.segments.values()])
        positive = np.array([p for _, p in self.segments.values()])
        total = shown.sum(axis=0)
        for j in np.flatnonzero(total > 0):
            n, m = shown[:, j], positive[:, j].sum() / total[j]
            used = n > 0
            if used.sum() < 2 or m <= 0.0 or m >= 1.0:
                continue
            rates = positive[used, j] / n[used]
            chi = float((n[used] * (rates - m) ** 2).sum() / (m * (1 - m)))
            df = float(used.sum() - 1)
            excess = chi - df - 2.0 * math.sqrt(2.0 * df)  # only spread beyond ~95 % of chi-square noise counts
            spread = total[j] - float((n[used] ** 2).sum()) / total[j]
            if excess > 0 and spread > 0:
                tau2 = excess * m * (1 - m) / spread
                out[j] = min(self.pool_strength, max(0.0, m * (1 - m) / tau2 - 1.0))
        return out

    def _posterior_in(self, context: str | None) -> tuple[FloatArray, FloatArray]:
        """The segment's own counts plus the other segments', shrunk to :meth:`_concentration` observations."""
        zeros = np.zeros(len(self.arms))
        own_shown, own_positive = self.segments.get(context or "", (zeros, zeros))
        other_shown, other_positive = self.shown - own_shown, self.positive - own_positive
        weight = np.minimum(1.0, self._concentration() / np.maximum(other_shown, 1.0))
        a = self.prior_alpha + own_positive + weight * other_positive
        b = self.prior_beta + (own_shown - own_positive) + weight * (other_shown - other_positive)
        return a, b

    def _choose_index(self, rng: np.random.Generator, context: str | None = None) -> int:
        a, b = self._posterior_in(context)
        return int(np.argmax(rng.beta(a, b)))

    def probabilities(self, rng: np.random.Generator, context: str | None = None) -> FloatArray:
        """P(arm's draw is the largest in this segment), by Monte Carlo over its posterior."""
        a, b = self._posterior_in(context)
        return _win_shares(rng, a, b, self.propensity_draws)


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
        case BanditAlgorithm.SEGMENT_THOMPSON:
            return SegmentThompsonSampling(
                experiment.arms, experiment.prior_alpha, experiment.prior_beta, experiment.pool_strength
            )
