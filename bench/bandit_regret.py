"""Cumulative regret of the prompt-version policies, context-free and contextual, in two simulated worlds.

Contexts come from the user simulator (``tipsml.simulate``): each round draws a simulated impression (user,
tip, local hour and the history it was shown in) and the oracle's reward probability for every prompt version
in it; the oracle policy (best version per context) has regret 0 by definition. The contextual policy,
Thompson sampling per segment (``segment_thompson``), sees the user's platform.

Two worlds, the same draws otherwise: ``heterogeneous`` (the default model: v2's lift is positive on phones
and negative on the web and desktop apps) and ``homogeneous`` (the per-platform prompt effect off: v2 is
better for everyone). The contextual policy should beat context-free Thompson sampling in the first and not
lose to it in the second.

    .venv/bin/python bench/bandit_regret.py [--rounds 20000] [--seeds 3] [--repeats 5]
"""

from __future__ import annotations

import argparse

import numpy as np

from contracts.runtime import apply_offline_switches
from experiments.bandits import (
    UCB1,
    BanditPolicy,
    EpsilonGreedy,
    SegmentThompsonSampling,
    ThompsonSampling,
    UniformPolicy,
)
from experiments.simulation import run_segmented


def simulator_world(seed: int, heterogeneous: bool, n: int = 50_000):  # type: ignore[no-untyped-def]
    """(arms, segment per context, oracle probability table (contexts x arms))."""
    from tipsml.simulate import ModelParams
    from tipsml.simulate.truth import simulate

    params = ModelParams() if heterogeneous else ModelParams(prompt_segment_effect={})
    sim = simulate(users=1000, days=14, seed=seed, params=params)
    truth = sim.truth()
    rng = np.random.default_rng(seed)
    rows = truth.iloc[rng.integers(0, len(truth), size=min(n, len(truth)))].reset_index(drop=True)
    table = sim.prompt_version_probabilities(rows["user_id"], rows["tip_id"], rows["local_hour"], rows)
    platform = sim.users.set_index("user_id").loc[rows["user_id"], "platform"].to_numpy()
    return list(table.columns), platform, table.to_numpy()


def policies(arms: list[str]) -> list[tuple[str, BanditPolicy]]:
    """Every policy the experiment file can name, fresh."""
    return [
        ("thompson", ThompsonSampling(arms)),
        ("segment_thompson", SegmentThompsonSampling(arms)),
        ("ucb1", UCB1(arms)),
        ("epsilon_greedy(0.1)", EpsilonGreedy(arms, 0.1)),
        ("uniform", UniformPolicy(arms)),
    ]


def main() -> None:
    apply_offline_switches()
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=20_000)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=5, help="policy runs per seed (own random streams), averaged")
    a = p.parse_args()
    print(
        f"rounds: {a.rounds}; seeds: {a.seeds} (each the mean of {a.repeats} policy runs); contexts from"
        " tipsml.simulate; segment = the user's platform"
    )
    for world_name, heterogeneous in (("heterogeneous", True), ("homogeneous", False)):
        regret: dict[str, list[float]] = {}
        oracle_reward: list[float] = []
        for seed in range(a.seeds):
            arms, segments, table = simulator_world(seed, heterogeneous)
            oracle_reward.append(float(table.max(axis=1).mean()))

            def world(rng, table=table, segments=segments):  # type: ignore[no-untyped-def]
                i = rng.integers(len(table))
                return str(segments[i]), table[i]

            runs: dict[str, list[float]] = {}
            for rep in range(a.repeats):
                for name, policy in policies(arms):
                    run = run_segmented(policy, world, a.rounds, np.random.default_rng([1000 + seed, rep]))
                    runs.setdefault(name, []).append(run.cumulative_regret)
            for name, vals in runs.items():
                regret.setdefault(name, []).append(float(np.mean(vals)))
        print(f"\nworld: {world_name} prompt effect (arms {arms}; oracle reward/round {np.mean(oracle_reward):.4f})")
        print(f"{'policy':<22}" + "".join(f"{'seed ' + str(s):>10}" for s in range(a.seeds)) + f"{'mean':>10}")
        for name, vals in regret.items():
            print(f"{name:<22}" + "".join(f"{v:>10.1f}" for v in vals) + f"{np.mean(vals):>10.1f}")
        ts, seg = np.mean(regret["thompson"]), np.mean(regret["segment_thompson"])
        per_seed = sum(s <= t for s, t in zip(regret["segment_thompson"], regret["thompson"], strict=True))
        print(f"segment_thompson / thompson = {seg / ts:.2f}; not worse on {per_seed} of {a.seeds} seeds")


if __name__ == "__main__":
    main()
