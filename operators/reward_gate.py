"""The canary's reward gate: is the challenger's positive rate non-inferior to the champion's?

A step passes once the challenger is shown, at ``canary.rewardConfidence``, to be at most ``canary.rewardMargin``
below the champion over the same window; it fails only once it is shown to be more than that below; in between
it waits for more rewards. Comparing the two point estimates instead rejects an equal model about half the time
at a small margin.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from contracts.crds import CanarySpec
from operators.metrics import CanaryObservation


def reward_difference_interval(
    challenger_rate: float, challenger_n: int, champion_rate: float, champion_n: int, confidence: float
) -> tuple[float, float]:
    """Two one-sided ``confidence`` bounds on (challenger rate - champion rate): the Agresti-Caffo interval.

    Each version's rate is a binomial proportion over its rewarded samples. The plain Wald interval under-covers
    at the sample sizes a canary step sees (a few hundred) and collapses to zero width at rates of 0 or 1;
    adding one positive and one negative to each side before the Wald formula (Agresti & Caffo, 2000) gives
    near-nominal coverage there at no cost in code. The lower bound is the worst the challenger can plausibly
    be, the upper bound the best: a non-inferiority gate passes when the lower bound clears the margin and
    fails when even the upper bound does not.
    """
    if challenger_n <= 0 or champion_n <= 0:
        raise ValueError("both versions need rewarded samples")
    if not 0.5 <= confidence < 1.0:
        raise ValueError(f"confidence must be in [0.5, 1), got {confidence}")
    c = (challenger_rate * challenger_n + 1.0) / (challenger_n + 2.0)
    b = (champion_rate * champion_n + 1.0) / (champion_n + 2.0)
    se = math.sqrt(c * (1.0 - c) / (challenger_n + 2.0) + b * (1.0 - b) / (champion_n + 2.0))
    half = NormalDist().inv_cdf(confidence) * se
    return c - b - half, c - b + half


def judge_rewards(
    canary: CanarySpec, obs: CanaryObservation, metrics: dict[str, float], reasons: list[str], waiting: list[str]
) -> None:
    """Add the reward gate's figures to ``metrics`` and its failure or wait to ``reasons`` / ``waiting``."""
    challenger, champion = obs.challenger_reward_rate, obs.champion_reward_rate
    if (obs.reward_samples < canary.min_samples or challenger is None or champion is None
            or obs.champion_reward_samples <= 0):  # fmt: skip
        waiting.append(f"{obs.reward_samples}/{canary.min_samples} rewarded samples")
        return
    margin, confidence = canary.reward_margin, canary.reward_confidence
    low, high = reward_difference_interval(challenger, obs.reward_samples, champion, obs.champion_reward_samples,
                                           confidence)  # fmt: skip
    metrics.update(challengerReward=challenger, championReward=champion, rewardDifferenceLow=low,
                   rewardDifferenceHigh=high, championRewardSamples=float(obs.champion_reward_samples))  # fmt: skip
    if high < -margin:
        reasons.append(
            f"reward {challenger:.3f} inferior to champion {champion:.3f} - margin {margin}"
            f" (difference at most {high:+.3f} at {confidence:.0%} confidence)"
        )
    elif low < -margin:
        # Kept free of the changing numbers (they are in the metrics): a Waiting Event is posted per change.
        waiting.append(f"reward not yet shown within {margin} of the champion's at {confidence:.0%} confidence")
