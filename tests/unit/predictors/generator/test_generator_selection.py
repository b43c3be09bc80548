from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from contracts.enums import Platform, Reaction, TaskCategory
from contracts.events import TipReaction, TipShown
from contracts.generator import SelectionSource
from experiments.reward_log import RewardLog
from predictors.generator.errors import PromptRegistryError, UnknownPromptVersionError
from predictors.generator.registry import PromptRegistry
from predictors.generator.sandbox import PromptSandbox
from predictors.generator.selection import BanditLearner, ExperimentSource, Selector

AB = {"kind": "ab", "name": "tone", "salt": "s1", "arms": [{"prompt_version": "v2", "weight": 1}]}


def make_selector(registry: PromptRegistry, experiment_file: Path | None, env: str | None = None) -> Selector:
    return Selector(registry, ExperimentSource(experiment_file, 0.0), env, np.random.default_rng(0))


def test_request_wins_over_everything(
    registry: PromptRegistry, tmp_path: Path, write_experiment: Callable[..., Any]
) -> None:
    write_experiment(tmp_path / "exp.json", AB)
    chosen = make_selector(registry, tmp_path / "exp.json", env="v2").select("u1", "v1")
    assert chosen.prompt.spec.version == "v1"
    assert chosen.selection.source is SelectionSource.REQUEST


def test_experiment_wins_over_env(
    registry: PromptRegistry, tmp_path: Path, write_experiment: Callable[..., Any]
) -> None:
    write_experiment(tmp_path / "exp.json", AB)
    chosen = make_selector(registry, tmp_path / "exp.json", env="v1").select("u1", None)
    assert chosen.prompt.spec.version == "v2"
    assert chosen.selection.source is SelectionSource.EXPERIMENT
    assert chosen.selection.experiment == "tone" and chosen.selection.arm == "v2"
    assert chosen.selection.propensity == 1.0


def test_env_wins_over_default(registry: PromptRegistry, tmp_path: Path) -> None:
    chosen = make_selector(registry, tmp_path / "missing.json", env="v2").select("u1", None)
    assert (chosen.prompt.spec.version, chosen.selection.source) == ("v2", SelectionSource.ENV)


def test_default_is_v1(
    registry: PromptRegistry, tmp_path: Path, write_experiment: Callable[..., Any]
) -> None:
    write_experiment(tmp_path / "exp.json", None)
    chosen = make_selector(registry, tmp_path / "exp.json").select("u1", None)
    assert (chosen.prompt.spec.version, chosen.selection.source) == ("v1", SelectionSource.DEFAULT)


def test_env_naming_a_missing_version_falls_back_to_default(registry: PromptRegistry) -> None:
    chosen = make_selector(registry, None, env="v7").select("u1", None)
    assert chosen.selection.source is SelectionSource.DEFAULT


def test_unknown_requested_version_says_so_without_a_catalogue(registry: PromptRegistry) -> None:
    """Issue 19, defect 9: anonymous callers learn that a version is unknown, not which versions exist."""
    with pytest.raises(UnknownPromptVersionError, match="prompt_version 'v9' is unknown") as caught:
        make_selector(registry, None).select("u1", "v9")
    assert "v1" not in str(caught.value) and "v2" not in str(caught.value)


def test_empty_registry_is_a_registry_error(tmp_path: Path) -> None:
    reg = PromptRegistry(tmp_path / "empty", PromptSandbox(4000), reload_interval=0.0)
    with pytest.raises(PromptRegistryError):
        make_selector(reg, None).select("u1", None)


def test_experiment_file_hot_reload_and_missing_arms(
    registry: PromptRegistry, tmp_path: Path, write_experiment: Callable[..., Any]
) -> None:
    path = tmp_path / "exp.json"
    selector = make_selector(registry, path)
    assert selector.select("u1", None).selection.source is SelectionSource.DEFAULT
    write_experiment(path, AB)
    assert selector.select("u1", None).selection.source is SelectionSource.EXPERIMENT
    write_experiment(path, {**AB, "arms": [{"prompt_version": "v404", "weight": 1}]})
    assert selector.select("u1", None).selection.source is SelectionSource.DEFAULT
    path.write_text("{not json")
    assert selector.select("u1", None).selection.source is SelectionSource.DEFAULT


def test_ab_split_is_sticky_with_weight_shares(
    registry: PromptRegistry, tmp_path: Path, write_experiment: Callable[..., Any]
) -> None:
    arms = [{"prompt_version": "v1", "weight": 3}, {"prompt_version": "v2", "weight": 1}]
    write_experiment(tmp_path / "exp.json", {**AB, "arms": arms})
    selector = make_selector(registry, tmp_path / "exp.json")
    first = {f"u{i}": selector.select(f"u{i}", None).selection for i in range(400)}
    again = {f"u{i}": selector.select(f"u{i}", None).selection for i in range(400)}
    assert first == again
    assert {s.propensity for s in first.values() if s.arm == "v1"} == {0.75}
    assert 0.65 < sum(s.arm == "v1" for s in first.values()) / 400 < 0.85


async def test_bandit_learns_from_the_reward_log(
    registry: PromptRegistry, tmp_path: Path, write_experiment: Callable[..., Any]
) -> None:
    write_experiment(tmp_path / "exp.json", {"kind": "bandit", "name": "b", "arms": ["v1", "v2"]})
    selector = make_selector(registry, tmp_path / "exp.json")
    log = RewardLog(tmp_path / "state.db", synchronous="OFF")
    now = datetime.now(UTC)
    events: list[TipShown | TipReaction] = []
    for i in range(200):
        version = "v1" if i % 2 else "v2"
        common: dict[str, Any] = {"user_id": f"u{i}", "request_id": f"r{i}", "tip_id": f"g{i}", "model_version": "gen"}
        events.append(
            TipShown(
                event_id=f"s{i}",
                occurred_at=now,
                category=TaskCategory.WORK,
                prompt_version=version,
                propensity=0.5,
                **common,
            )
        )
        if version == "v2" or i % 10 == 1:
            events.append(
                TipReaction(
                    event_id=f"x{i}",
                    occurred_at=now,
                    reaction=Reaction.LIKED,
                    prompt_version=version,
                    **common,
                )
            )
    log.record(events)
    learner = BanditLearner(selector.experiments, log)
    assert await learner.refresh_once()
    picks = [selector.select("u", None).selection for _ in range(50)]
    log.close()
    assert all(p.source is SelectionSource.EXPERIMENT for p in picks)
    assert sum(p.arm == "v2" for p in picks) > 45
    assert all(0.0 < p.propensity <= 1.0 for p in picks)


async def test_segment_bandit_learns_each_platform_its_own_best_version(
    registry: PromptRegistry, tmp_path: Path, write_experiment: Callable[..., Any]
) -> None:
    """v2 wins on ios and loses on web in the reward log: the contextual bandit serves each its best version."""
    experiment = {"kind": "bandit", "name": "seg", "algorithm": "segment_thompson", "arms": ["v1", "v2"]}
    write_experiment(tmp_path / "exp.json", experiment)
    selector = make_selector(registry, tmp_path / "exp.json")
    log = RewardLog(tmp_path / "state.db", synchronous="OFF")
    now = datetime.now(UTC)
    events: list[TipShown | TipReaction] = []
    for i in range(800):
        version, platform = ("v1" if i % 2 else "v2"), ("ios" if i % 4 < 2 else "web")
        common: dict[str, Any] = {"user_id": f"u{i}", "request_id": f"r{i}", "tip_id": f"g{i}", "model_version": "gen"}
        events.append(
            TipShown(event_id=f"s{i}", occurred_at=now, category=TaskCategory.WORK, prompt_version=version,
                     propensity=0.5, platform=Platform(platform), **common)
        )
        good = (version == "v2") == (platform == "ios")
        if (good and i % 8 < 6) or (not good and i % 8 == 7):
            events.append(TipReaction(event_id=f"x{i}", occurred_at=now, reaction=Reaction.LIKED,
                                      prompt_version=version, **common))
    log.record(events)
    assert await BanditLearner(selector.experiments, log).refresh_once()
    log.close()
    for platform, best in (("ios", "v2"), ("web", "v1")):
        picks = [selector.select("u", None, platform=platform).selection for _ in range(40)]
        assert sum(p.arm == best for p in picks) >= 36, platform
        assert all(p.source is SelectionSource.EXPERIMENT and 0 < p.propensity <= 1 for p in picks)
