"""Which prompt version serves a request: request → active experiment → ``DEFAULT_PROMPT_VERSION`` → "v1".

The experiment comes from a small JSON file (:class:`experiments.config.ExperimentFile`), re-read when it
changes. A/B arms are assigned by hash (sticky per user, propensity = the arm's share); a bandit chooses per
request and records the propensity of its choice, learning from the reward log (rewards attributed by
``request_id`` and bucketed by ``prompt_version``) every ``refresh_seconds``. Experiment arms that are not
in the registry are skipped; if none is, selection falls through to the next source. A registry version
marked ``default: true`` sits between the env setting and the final ``"v1"``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import numpy as np

from contracts.generator import DEFAULT_PROMPT_VERSION, Selection, SelectionSource
from contracts.profile import ProfileFeatures
from contracts.rewards import RewardAggregate
from experiments.assignment import assign
from experiments.bandits import ArmCounts, BanditPolicy, SegmentThompsonSampling, make_policy
from experiments.config import ABExperiment, BanditExperiment, Experiment, ExperimentFile, SegmentBy, segment_of
from predictors.generator.errors import PromptRegistryError, UnknownPromptVersionError
from predictors.generator.registry import LoadedPrompt, PromptRegistry

log = logging.getLogger(__name__)

IDLE_REFRESH_SECONDS = 5.0
"""How often the learner looks for a bandit to refresh while none is active (an active one sets its own)."""


class RewardCounts(Protocol):
    """Reads reward aggregates per prompt version (``experiments.reward_log.RewardLog`` satisfies it)."""

    def by_prompt_version(self, *, since: datetime | None = None) -> list[RewardAggregate]:
        """Shown and positive counts per prompt version."""
        ...

    def by_segment_and_prompt_version(
        self, segment_by: SegmentBy, *, since: datetime | None = None
    ) -> dict[str, list[RewardAggregate]]:
        """The same counts within each segment (for a contextual bandit)."""
        ...


class ExperimentSource:
    """The active experiment, re-read from its file when the file changes (checked every ``interval``)."""

    def __init__(
        self, path: Path | None, interval: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.path = path
        self.interval = interval
        self._clock = clock
        self._checked_at: float | None = None
        self._stamp: tuple[int, int] | None = None
        self._active: Experiment | None = None
        self.policy: BanditPolicy | None = None

    def active(self) -> Experiment | None:
        """The experiment in force now (None: no file, ``active: null``, or an invalid file)."""
        now = self._clock()
        if self.path is None or (self._checked_at is not None and now - self._checked_at < self.interval):
            return self._active
        self._checked_at = now
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            self._stamp = stamp
            self._load()
        return self._active

    def _load(self) -> None:
        if self._stamp is None or self.path is None:
            self._active, self.policy = None, None
            return
        try:
            parsed = ExperimentFile.model_validate_json(self.path.read_bytes())
        except (OSError, ValueError) as e:
            log.warning("experiment file %s ignored: %s", self.path.name, type(e).__name__)
            self._active, self.policy = None, None
            return
        previous, self._active = self._active, parsed.active
        if isinstance(parsed.active, BanditExperiment):
            if previous != parsed.active or self.policy is None:
                self.policy = make_policy(parsed.active)
        else:
            self.policy = None
        log.info("experiment loaded: %s", parsed.active.name if parsed.active else "none")


@dataclass(frozen=True, slots=True)
class Selected:
    """The prompt to use and how it was chosen."""

    prompt: LoadedPrompt
    selection: Selection


class Selector:
    """Applies the precedence; owns the random generator bandits draw from."""

    def __init__(
        self,
        registry: PromptRegistry,
        experiments: ExperimentSource,
        env_default: str | None,
        rng: np.random.Generator | None = None,
    ) -> None:
        self.registry = registry
        self.experiments = experiments
        self.env_default = env_default
        self.rng = rng or np.random.default_rng()

    def select(
        self,
        user_id: str,
        requested: str | None,
        platform: str | None = None,
        profile: ProfileFeatures | None = None,
    ) -> Selected:
        """The prompt version for one instance (``platform`` and ``profile`` place it in a bandit's segment)."""
        if requested is not None:
            prompt = self.registry.get(requested)
            if prompt is None:
                raise UnknownPromptVersionError(requested)
            return Selected(prompt, Selection(source=SelectionSource.REQUEST))
        chosen = self._from_experiment(user_id, platform, profile)
        if chosen is not None:
            return chosen
        return self.default()

    def default(self) -> Selected:
        """The version used when neither the request nor an experiment picks one (also the render fallback)."""
        if self.env_default is not None:
            prompt = self.registry.get(self.env_default)
            if prompt is not None:
                return Selected(prompt, Selection(source=SelectionSource.ENV))
            log.warning("DEFAULT_PROMPT_VERSION %s is not in the registry", self.env_default)
        for version in (self.registry.marked_default(), DEFAULT_PROMPT_VERSION):
            prompt = self.registry.get(version) if version else None
            if prompt is not None:
                return Selected(prompt, Selection(source=SelectionSource.DEFAULT))
        raise PromptRegistryError(f"no default prompt version; registry has: {self.registry.versions()}")

    def _from_experiment(
        self, user_id: str, platform: str | None = None, profile: ProfileFeatures | None = None
    ) -> Selected | None:
        experiment = self.experiments.active()
        if isinstance(experiment, ABExperiment):
            arms = [a for a in experiment.arms if self.registry.get(a.prompt_version) is not None]
            if not arms:
                return None
            a = assign(experiment.salt, user_id, arms)
            prompt = self.registry.get(a.arm)
            assert prompt is not None
            return Selected(
                prompt,
                Selection(
                    source=SelectionSource.EXPERIMENT,
                    arm=a.arm,
                    experiment=experiment.name,
                    propensity=a.propensity,
                ),
            )
        policy = self.experiments.policy
        if isinstance(experiment, BanditExperiment) and policy is not None:
            if any(self.registry.get(arm) is None for arm in policy.arms):
                log.warning("bandit %s has arms missing from the registry; skipped", experiment.name)
                return None
            segment = segment_of(experiment.segment_by, platform, profile.tenure_days if profile else None)
            choice = policy.choose(self.rng, segment)
            prompt = self.registry.get(choice.arm)
            assert prompt is not None
            return Selected(
                prompt,
                Selection(
                    source=SelectionSource.EXPERIMENT,
                    arm=choice.arm,
                    experiment=experiment.name,
                    propensity=choice.propensity,
                ),
            )
        return None


class BanditLearner:
    """Refreshes the active bandit's counts from the reward log, in a worker thread, every few seconds."""

    def __init__(
        self, experiments: ExperimentSource, rewards: RewardCounts, since: datetime | None = None
    ) -> None:
        self.experiments = experiments
        self.rewards = rewards
        self.since = since or datetime.fromtimestamp(0, UTC)

    async def refresh_once(self) -> bool:
        """Pull aggregates and install them; False when no bandit is active."""
        self.experiments.active()
        policy = self.experiments.policy
        if policy is None:
            return False
        experiment = self.experiments.active()
        if isinstance(policy, SegmentThompsonSampling) and isinstance(experiment, BanditExperiment):
            per_segment = await asyncio.to_thread(
                self.rewards.by_segment_and_prompt_version, experiment.segment_by, since=self.since
            )
            policy.set_segment_counts(
                {
                    segment: {a.key: ArmCounts(a.shown, a.positive) for a in aggregates if a.key is not None}
                    for segment, aggregates in per_segment.items()
                }
            )
            return True
        aggregates = await asyncio.to_thread(self.rewards.by_prompt_version, since=self.since)
        policy.set_counts({a.key: ArmCounts(a.shown, a.positive) for a in aggregates if a.key is not None})
        return True

    async def run(self) -> None:
        """Loop forever (cancelled at shutdown)."""
        while True:
            experiment = self.experiments.active()
            interval = experiment.refresh_seconds if isinstance(experiment, BanditExperiment) else IDLE_REFRESH_SECONDS
            try:
                await self.refresh_once()
            except Exception as e:  # noqa: BLE001 - a failed refresh keeps the last counts
                log.warning("bandit refresh failed: %s", type(e).__name__)
            await asyncio.sleep(interval)
