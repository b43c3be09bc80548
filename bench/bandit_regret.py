"""Cumulative regret of Thompson sampling, UCB1, epsilon-greedy and uniform over prompt versions.

Contexts come from the user simulator (``tipsml.simulate``): each round draws a simulated impression (user,
tip, local hour) and the oracle's reward probability for every prompt version in it; the oracle policy (best
version per context) has regret 0 by definition and its mean reward is printed beside the others.

    .venv/bin/python bench/bandit_regret.py [--rounds 20000] [--seeds 3]
"""

from __future__ import annotations

import argparse

import numpy as np

from contracts.runtime import apply_offline_switches
from experiments.bandits import UCB1, EpsilonGreedy, ThompsonSampling, UniformPolicy
from experiments.simulation import run_bandit


def simulator_world(seed: int, n: int = 50_000):  # type: ignore[no-untyped-def]
    from tipsml.simulate.truth import simulate

    sim = simulate(users=300, days=14, seed=seed)
    imp = sim.drawn.impressions
    users = sim.users["user_id"].to_numpy()[imp.user]
    tips = sim.tips["tip_id"].to_numpy()[imp.tip]
    hours = np.asarray(imp.local_hour, dtype=np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(users), size=min(n, len(users)))
    table = sim.prompt_version_probabilities(users[idx], tips[idx], hours[idx]).to_numpy()
    arms = list(sim.prompt_version_probabilities(users[:1], tips[:1], hours[:1]).columns)
    return arms, table


def main() -> None:
    apply_offline_switches()
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=20_000)
    p.add_argument("--seeds", type=int, default=3)
    a = p.parse_args()
    totals: dict[str, list[float]] = {}
    oracle_reward: list[float] = []
    for seed in range(a.seeds):
        arms, table = simulator_world(seed)
        oracle_reward.append(float(table.max(axis=1).mean()))

        def world(rng: np.random.Generator, table: np.ndarray = table) -> np.ndarray:  # type: ignore[type-arg]
            return table[rng.integers(len(table))]

        for name, policy in (
            ("thompson", ThompsonSampling(arms)),
            ("ucb1", UCB1(arms)),
            ("epsilon_greedy(0.1)", EpsilonGreedy(arms, 0.1)),
            ("uniform", UniformPolicy(arms)),
        ):
            run = run_bandit(policy, world, a.rounds, np.random.default_rng(1000 + seed))
            totals.setdefault(name, []).append(run.cumulative_regret)
    print(f"prompt versions: {arms}; rounds: {a.rounds}; seeds: {a.seeds}; contexts from tipsml.simulate")
    print(f"{'policy':<22}{'cum. regret (mean)':>20}{'min':>10}{'max':>10}")
    print(
        f"{'oracle':<22}{0.0:>20.1f}{0.0:>10.1f}{0.0:>10.1f}"
        f"   (mean reward/round {np.mean(oracle_reward):.4f})"
    )
    for name, vals in totals.items():
        print(f"{name:<22}{np.mean(vals):>20.1f}{min(vals):>10.1f}{max(vals):>10.1f}")
    ts, eg, un = (np.mean(totals[k]) for k in ("thompson", "epsilon_greedy(0.1)", "uniform"))
    print(f"thompson / epsilon_greedy = {ts / eg:.2f}; thompson / uniform = {ts / un:.2f}")


if __name__ == "__main__":
    main()
