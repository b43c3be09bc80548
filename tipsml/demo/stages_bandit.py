"""Demo stages of the prompt experiment: a bandit over v1/v2 on simulated traffic, and the rewards report.

Each round calls the generator (which picks the prompt version with the bandit and returns it with its
propensity), draws the user's reaction from the simulator's oracle for that prompt version, and publishes
``tip_shown`` + ``tip_reaction`` to JetStream. The consumers write them to the reward log the generator's
bandit refreshes from, so the next round's choices already reflect the rewards: the loop is closed through
the real services, not in memory.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import numpy as np

from contracts.names import GENERATOR_MODEL
from tipsml.demo.servers import GENERATOR_PATH
from tipsml.demo.stages_ingest import wait_for_consumers
from tipsml.demo.state import DemoRun, DemoStageError, now, progress_bar

if TYPE_CHECKING:
    from tipsml.simulate.wire import EventLog

EXPERIMENT = "prompt-v1-v2"


def write_experiment(run: DemoRun) -> None:
    """Make a Thompson-sampling bandit over v1/v2 the active experiment (the generator re-reads the file)."""
    from experiments.config import BanditExperiment, ExperimentFile

    exp = ExperimentFile(active=BanditExperiment(name=EXPERIMENT, arms=["v1", "v2"], refresh_seconds=1.0))
    path = run.settings.state.root / "experiment.json"
    path.write_text(exp.model_dump_json(indent=2), encoding="utf-8")
    run.console.print(f"  experiment file {path}: thompson bandit over v1, v2 (refresh 1 s)")


def _event_log(lines: list[tuple[str, str, str]]) -> EventLog:
    """Wrap (type, event_id, json) triples as the publisher's EventLog."""
    from tipsml.simulate.wire import EVENT_TYPES, EventLog

    index = {name: i for i, (name, _) in enumerate(EVENT_TYPES)}
    return EventLog(t=np.zeros(len(lines), dtype=np.int64),
                    kind=np.asarray([index[k] for k, _, _ in lines], dtype=np.int8),
                    event_ids=[e for _, e, _ in lines], lines=[j for _, _, j in lines])


def stage_bandit(run: DemoRun) -> None:
    """Drive ``rounds`` × ``per_round`` generator calls; rewards flow back through JetStream each round."""
    from contracts.events import TipReaction, TipShown
    from tipsml.simulate.publish import publish_events

    if run.generator_url is None:
        raise DemoStageError("the generator is not running")
    write_experiment(run)
    sim = run.require_sim()
    rng = np.random.default_rng(run.options.seed + 100)
    users = sim.users["user_id"].tolist()
    platform_of = dict(zip(users, sim.users["platform"].tolist(), strict=True))
    tips = sim.tips[["tip_id", "category"]].to_numpy().tolist()
    total = run.options.bandit_calls
    rounds = max(1, run.options.bandit_rounds)
    per_round = max(1, total // rounds)
    chosen: Counter[str] = Counter()
    positive: Counter[str] = Counter()
    regret = 0.0
    run.console.print(f"  {rounds} rounds × {per_round} generator calls; reactions drawn from the oracle")
    with httpx.Client() as client:
        for r in range(rounds):
            events: list[tuple[str, str, str]] = []
            picks: Counter[str] = Counter()
            with progress_bar(run) as bar:
                task = bar.add_task(f"round {r + 1}/{rounds}: generator calls", total=per_round)
                for _ in range(per_round):
                    user = str(rng.choice(users))
                    tip_id, category = tips[int(rng.integers(len(tips)))]
                    request_id = f"demo-{uuid.uuid4().hex[:16]}"
                    body = {"instances": [{"user_id": user, "request_id": request_id, "platform": platform_of[user]}]}
                    resp = client.post(run.generator_url + GENERATOR_PATH, json=body, timeout=30)
                    if resp.status_code != 200:
                        raise DemoStageError(f"generator answered {resp.status_code}: {resp.text[:200]}")
                    pred = resp.json()["predictions"][0]
                    version = pred["prompt_version"]
                    hour = float(rng.uniform(0, 24))
                    probs = sim.prompt_version_probabilities([user], [tip_id], [hour]).iloc[0]
                    regret += float(probs.max() - probs[version])
                    liked = bool(rng.random() < float(probs[version]))
                    picks[version] += 1
                    positive[version] += int(liked)
                    shown_at = datetime.now(UTC)
                    shown = TipShown(event_id=uuid.uuid4().hex, occurred_at=shown_at, user_id=user,
                                     request_id=request_id, tip_id=tip_id, category=category,
                                     model_version=GENERATOR_MODEL, prompt_version=version,
                                     propensity=float(pred["selection"].get("propensity", 1.0)))
                    reaction = TipReaction(event_id=uuid.uuid4().hex, occurred_at=shown_at + timedelta(seconds=30),
                                           user_id=user, request_id=request_id, tip_id=tip_id,
                                           reaction="liked" if liked else "dismissed",
                                           model_version=GENERATOR_MODEL, prompt_version=version)
                    events += [("tip_shown", shown.event_id, shown.model_dump_json()),
                               ("tip_reaction", reaction.event_id, reaction.model_dump_json())]
                    bar.advance(task)
            asyncio.run(publish_events(_event_log(events), run.settings.effective_nats_url))
            wait_for_consumers(run, timeout=120.0)
            chosen.update(picks)
            share = {v: f"{picks[v] / per_round:.0%}" for v in sorted(picks)}
            run.console.print(f"  round {r + 1}: chose {json.dumps(share)}; rewards published and consumed")
    run.console.print("  per prompt version: " + "; ".join(
        f"{v}: shown {chosen[v]}, positive {positive[v]} ({positive[v] / chosen[v]:.1%})" for v in sorted(chosen)))
    lift = sim.params.prompt_effect.get("v2", 0.0)
    by_platform = "".join(
        f"; on {k} by {lift + v:+.1f}" for k, v in sim.params.prompt_segment_effect.get("v2", {}).items()
    )
    run.console.print(f"  cumulative regret against the oracle's best version: {regret:.1f} "
                      f"over {sum(chosen.values())} calls (oracle: v2 lifts the logit by {lift:+.1f}{by_platform})")


def stage_rewards_report(run: DemoRun) -> None:
    """``tipsml report rewards`` over the last day of the reward log (the bandit's traffic) → PNG."""
    from experiments.reward_log import RewardLog
    from tipsml.report.rewards import plot_rewards, rewards_table

    out = run.settings.state.reports_dir / "rewards.png"
    with RewardLog(run.settings.state.state_db) as log:
        rows = log.aggregate("prompt_version", since=now() - timedelta(days=1))
    run.console.print(rewards_table(rows, "prompt_version"))
    if rows:
        plot_rewards(rows, out, "positive rate by prompt_version")
        run.console.print(f"  plot: {out}")
    run.rewards_png = out
