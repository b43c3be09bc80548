import numpy as np
import pytest

from experiments.bandits import UCB1, ArmCounts, EpsilonGreedy, ThompsonSampling, UniformPolicy, make_policy
from experiments.config import BanditAlgorithm, BanditExperiment
from experiments.simulation import bernoulli_arms, run_bandit

ARMS = ["v1", "v2", "v3"]
PROBS = np.array([0.10, 0.13, 0.07])


def test_thompson_regret_below_epsilon_greedy_and_uniform() -> None:
    """A small version of bench/bandit_regret.py: averaged over seeds so one lucky run cannot decide it."""
    totals = {"thompson": 0.0, "epsilon": 0.0, "uniform": 0.0}
    for seed in range(5):
        world = bernoulli_arms(np.array([0.2, 0.3, 0.1]))
        policies = {
            "thompson": ThompsonSampling(ARMS),
            "epsilon": EpsilonGreedy(ARMS, 0.1),
            "uniform": UniformPolicy(ARMS),
        }
        for name, policy in policies.items():
            totals[name] += run_bandit(policy, world, 5000, np.random.default_rng(seed)).cumulative_regret
    assert totals["thompson"] < totals["epsilon"]
    assert totals["thompson"] < totals["uniform"]


def test_ucb1_plays_each_arm_once_then_exploits() -> None:
    run = run_bandit(UCB1(ARMS), bernoulli_arms(np.array([0.1, 0.9, 0.1])), 500, np.random.default_rng(0))
    assert min(run.pulls.values()) >= 1
    assert run.pulls["v2"] > 400


@pytest.mark.parametrize(
    "policy",
    [
        ThompsonSampling(ARMS),
        UCB1(ARMS),
        EpsilonGreedy(ARMS, 0.2),
        UniformPolicy(ARMS),
    ],
)
def test_propensities_are_distributions_and_chosen_arm_has_positive_propensity(policy: object) -> None:
    from experiments.bandits import BanditPolicy

    assert isinstance(policy, BanditPolicy)
    policy.set_counts({"v1": ArmCounts(50, 5), "v2": ArmCounts(40, 10), "v3": ArmCounts(10, 1)})
    rng = np.random.default_rng(1)
    probs = policy.probabilities(rng)
    assert probs.shape == (3,)
    assert probs.sum() == pytest.approx(1.0)
    for _ in range(20):
        choice = policy.choose(rng)
        assert 0.0 < choice.propensity <= 1.0


def test_epsilon_greedy_propensity_is_exact() -> None:
    policy = EpsilonGreedy(ARMS, 0.3)
    policy.set_counts({"v1": ArmCounts(10, 1), "v2": ArmCounts(10, 5), "v3": ArmCounts(10, 2)})
    probs = policy.probabilities(np.random.default_rng(0))
    assert probs.tolist() == pytest.approx([0.1, 0.8, 0.1])


def test_thompson_propensity_matches_choice_frequency() -> None:
    policy = ThompsonSampling(["a", "b"])
    policy.set_counts({"a": ArmCounts(20, 5), "b": ArmCounts(20, 7)})
    rng = np.random.default_rng(3)
    freq = sum(policy.choose(rng).arm == "b" for _ in range(4000)) / 4000
    assert policy.probabilities(rng)[1] == pytest.approx(freq, abs=0.04)


def test_make_policy_and_unknown_counts_ignored() -> None:
    for algorithm in BanditAlgorithm:
        policy = make_policy(BanditExperiment(name="b", algorithm=algorithm, arms=["v1", "v2"]))
        policy.set_counts({"gone": ArmCounts(5, 5)})
        assert policy.shown.sum() == 0
