"""Small simulated worlds with known truth, for bandit regret and off-policy estimator checks.

Pure numpy, no I/O: tests run them small and fast, ``bench/`` runs them big. The richer user simulator in
``tipsml.simulate`` feeds the same functions with its oracle probabilities per prompt version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from experiments.bandits import BanditPolicy
from experiments.ope import FloatArray, IntArray

ContextProbs = Callable[[np.random.Generator], FloatArray]
"""Draws one context and returns the oracle reward probability of every arm in it."""
SegmentProbs = Callable[[np.random.Generator], tuple[str, FloatArray]]
"""Draws one context and returns its segment (what a contextual policy sees) and every arm's probability."""


def bernoulli_arms(probs: FloatArray) -> ContextProbs:
    """A context-free world: the same reward probability per arm every round."""
    fixed = np.asarray(probs, dtype=np.float64)
    return lambda _rng: fixed


@dataclass(frozen=True, slots=True)
class RegretRun:
    """Per-round expected regret and reward of one policy."""

    regret: FloatArray
    reward: FloatArray
    pulls: dict[str, int]

    @property
    def cumulative_regret(self) -> float:
        """Sum of expected regret over all rounds."""
        return float(self.regret.sum())


def run_bandit(policy: BanditPolicy, world: ContextProbs, rounds: int, rng: np.random.Generator) -> RegretRun:
    """Play ``rounds`` rounds: expected regret is the best arm's probability minus the chosen arm's."""
    return run_segmented(policy, lambda g: ("", world(g)), rounds, rng)


def run_segmented(policy: BanditPolicy, world: SegmentProbs, rounds: int, rng: np.random.Generator) -> RegretRun:
    """Like :func:`run_bandit`, the policy seeing each round's segment (context-free policies ignore it).

    Regret is against the best arm of each context, so a context-free policy pays for every context where
    the arm best on average is not the best one.
    """
    regret = np.empty(rounds)
    reward = np.empty(rounds)
    pulls = dict.fromkeys(policy.arms, 0)
    for t in range(rounds):
        segment, probs = world(rng)
        arm = policy.choose_arm(rng, segment or None)
        i = policy.arms.index(arm)
        r = float(rng.random() < probs[i])
        policy.update(arm, r, segment or None)
        regret[t] = probs.max() - probs[i]
        reward[t] = r
        pulls[arm] += 1
    return RegretRun(regret, reward, pulls)


@dataclass(frozen=True, slots=True)
class LoggedData:
    """Rounds logged under a stochastic policy, plus everything needed to know the truth."""

    contexts: IntArray
    actions: IntArray
    rewards: FloatArray
    logging_p: FloatArray
    target_probs: FloatArray
    """Target policy's distribution over actions per round, (n, k)."""
    true_value: float
    """Expected reward of the target policy over the context distribution."""


def _softmax(x: FloatArray) -> FloatArray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    out: FloatArray = e / e.sum(axis=1, keepdims=True)
    return out


def simulate_logs(n: int, rng: np.random.Generator, n_contexts: int = 5, n_actions: int = 3) -> LoggedData:
    """Contexts with per-action reward rates; a soft logging policy and a sharper, different target policy."""
    mu = rng.uniform(0.05, 0.6, size=(n_contexts, n_actions))
    p_context = rng.dirichlet(np.ones(n_contexts))
    logging = _softmax(rng.normal(0.0, 0.5, size=(n_contexts, n_actions)))
    target = _softmax(4.0 * mu)
    contexts = rng.choice(n_contexts, size=n, p=p_context).astype(np.int64)
    u = rng.random(n)
    actions = (u[:, None] > np.cumsum(logging[contexts], axis=1)).sum(axis=1).astype(np.int64)
    actions = np.minimum(actions, n_actions - 1)
    rewards = (rng.random(n) < mu[contexts, actions]).astype(np.float64)
    true_value = float((p_context[:, None] * target * mu).sum())
    return LoggedData(contexts, actions, rewards, logging[contexts, actions], target[contexts], true_value)


def tabular_reward_model(data: LoggedData, n_contexts: int, n_actions: int,
                         fit_rows: npt.NDArray[np.bool_]) -> FloatArray:
    """Per (context, action) mean reward fitted on ``fit_rows`` (shrunk to the global mean); (n, k)."""
    prior = float(data.rewards[fit_rows].mean()) if fit_rows.any() else 0.0
    sums = np.zeros((n_contexts, n_actions))
    counts = np.zeros((n_contexts, n_actions))
    np.add.at(sums, (data.contexts[fit_rows], data.actions[fit_rows]), data.rewards[fit_rows])
    np.add.at(counts, (data.contexts[fit_rows], data.actions[fit_rows]), 1.0)
    table = (sums + 2.0 * prior) / (counts + 2.0)
    out: FloatArray = table[data.contexts]
    return out
