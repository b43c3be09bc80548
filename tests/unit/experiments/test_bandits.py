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


def _segment_world(heterogeneous: bool):  # type: ignore[no-untyped-def]
    """Four segments of unequal traffic; v2 is better by 0.05 everywhere, or worse by 0.08 in two of them."""
    segments, weights = ("ios", "android", "web", "desktop"), np.array([0.4, 0.35, 0.15, 0.1])

    def world(rng: np.random.Generator) -> tuple[str, np.ndarray]:  # type: ignore[type-arg]
        s = int(rng.choice(4, p=weights))
        lift = -0.08 if heterogeneous and s >= 2 else 0.05
        return segments[s], np.array([0.2, 0.2 + lift])

    return world


def test_segment_thompson_beats_thompson_when_the_best_version_depends_on_the_segment() -> None:
    from experiments.bandits import SegmentThompsonSampling
    from experiments.simulation import run_segmented

    for heterogeneous in (True, False):
        ts = seg = 0.0
        for seed in range(3):
            world = _segment_world(heterogeneous)
            rng = np.random.default_rng(seed)
            ts += run_segmented(ThompsonSampling(["v1", "v2"]), world, 6000, rng).cumulative_regret
            seg += run_segmented(
                SegmentThompsonSampling(["v1", "v2"]), world, 6000, np.random.default_rng(seed)
            ).cumulative_regret
        if heterogeneous:
            assert seg < 0.5 * ts, (seg, ts)
        else:
            assert seg < 1.5 * ts + 10, (seg, ts)  # pools: about context-free Thompson sampling's regret


def test_segment_counts_pool_and_propensities_are_per_segment() -> None:
    from experiments.bandits import SegmentThompsonSampling

    policy = make_policy(
        BanditExperiment(name="s", algorithm=BanditAlgorithm.SEGMENT_THOMPSON, arms=["v1", "v2"])
    )
    assert isinstance(policy, SegmentThompsonSampling)
    policy.set_segment_counts({
        "ios": {"v1": ArmCounts(2000, 200), "v2": ArmCounts(2000, 400)},
        "web": {"v1": ArmCounts(2000, 400), "v2": ArmCounts(2000, 200), "gone": ArmCounts(9, 9)},
    })
    assert policy.shown.tolist() == [4000, 4000] and policy.positive.tolist() == [600, 600]
    rng = np.random.default_rng(0)
    ios, web = policy.probabilities(rng, "ios"), policy.probabilities(rng, "web")
    assert ios.sum() == pytest.approx(1.0) and web.sum() == pytest.approx(1.0)
    assert ios[1] > 0.95 and web[0] > 0.95  # each segment's own best, not the tie of the pooled counts
    choice = policy.choose(rng, "web")
    assert choice.arm == "v1" and 0 < choice.propensity <= 1
    unseen = policy.probabilities(rng, "desktop")  # a new segment starts from the pooled counts
    assert 0.2 < unseen[0] < 0.8
    policy.update("v2", 1.0, "desktop")
    assert policy.segments["desktop"][0].tolist() == [0.0, 1.0]
