"""The ground truth of a run: users, tips, the oracle and a truth row per impression.

Later issues measure the trained scorer against :meth:`Simulation.oracle_probability` and bandits'
regret against :meth:`Simulation.prompt_version_probabilities`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from tipsml.simulate.generate import Drawn, draw
from tipsml.simulate.model import (
    CATEGORIES,
    LOGGING_MODEL_VERSION,
    PROMPT_VERSIONS,
    FloatArray,
    ImpressionState,
    ModelParams,
    default_start,
    oracle_logit,
    prompt_effects,
    sigmoid,
)
from tipsml.simulate.wire import EventLog, build_event_log, iso

Ids = Sequence[str] | npt.NDArray[np.object_] | pd.Series
"""User or tip ids: a list, an object array or a DataFrame column."""
Hours = Sequence[float] | FloatArray | pd.Series
PromptVersions = Sequence[str | None] | npt.NDArray[np.object_] | pd.Series

_REACTION_NAMES = np.array(["liked", "acted", "dismissed", "snoozed", ""], dtype=object)


@dataclass
class Simulation:
    """One simulated window and its ground truth."""

    seed: int
    n_users: int
    days: int
    start: datetime
    params: ModelParams
    drawn: Drawn
    _events: EventLog | None = field(default=None, repr=False)

    @property
    def tag(self) -> str:
        """Prefix of this run's event, task and request ids."""
        return self.drawn.tag

    @property
    def users(self) -> pd.DataFrame:
        """One row per user with every latent trait (``affinity_<category>`` columns included)."""
        return self.drawn.users

    @property
    def tips(self) -> pd.DataFrame:
        """The catalogue: ``tip_id``, ``category``, latent ``quality``, logging-policy ``popularity``."""
        return self.drawn.tips

    @property
    def events(self) -> EventLog:
        """Every event as wire JSON, time-ordered (formatted on first use)."""
        if self._events is None:
            self._events = build_event_log(self.drawn)
        return self._events

    def truth(self) -> pd.DataFrame:
        """One row per impression: what was shown, under which propensities, and the oracle ``p_positive``.

        ``reaction`` is empty when the user did not react; ``positive`` is 1 for liked/acted. The state the
        impression was shown in (``recent_tips_24h``, ``times_seen_30d``, ``hours_since_seen``,
        ``due_tasks_in_category``) is what :meth:`oracle_probability` needs to reproduce ``p_positive``.
        """
        im = self.drawn.impressions
        n = len(im.user)
        tag = self.tag
        pv = np.array(list(PROMPT_VERSIONS) + [None], dtype=object)[im.prompt]
        return pd.DataFrame(
            {
                "request_id": [f"{tag}.r{i}" for i in range(n)],
                "user_id": self.users["user_id"].to_numpy()[im.user],
                "tip_id": self.tips["tip_id"].to_numpy()[im.tip],
                "shown_at": iso(im.t),
                "local_hour": im.local_hour,
                "prompt_version": pv,
                "model_version": LOGGING_MODEL_VERSION,
                "propensity": im.propensity,
                "tip_propensity": im.tip_propensity,
                "prompt_propensity": im.prompt_propensity,
                "recent_tips_24h": im.state.recent,
                "times_seen_30d": im.state.seen,
                "hours_since_seen": im.state.hours_since,
                "due_tasks_in_category": im.state.due,
                "p_positive": im.p_positive,
                "reaction": _REACTION_NAMES[im.reaction],
                "positive": (im.reaction >= 0) & (im.reaction <= 1),
            }
        )

    def oracle_probability(
        self,
        user_ids: Ids,
        tip_ids: Ids,
        hours: Hours,
        prompt_versions: PromptVersions | None = None,
        state: ImpressionState | pd.DataFrame | None = None,
    ) -> FloatArray:
        """P(positive reaction) of each (user, tip, local hour, prompt version, state); vectorised.

        Args:
            user_ids: ids from :attr:`users`.
            tip_ids: ids from :attr:`tips`.
            hours: the user's LOCAL hour of day (0-24, fractional) when the tip is shown.
            prompt_versions: ``"v1"``/``"v2"`` for a generated tip, ``None`` for a catalogue tip
                (the default).
            state: the history each is shown in: an :class:`ImpressionState` or rows of :meth:`truth`
                (its state columns); ``None`` is a fresh context (nothing shown before, no task pressing).
        """
        u = self._index(self.users["user_id"], user_ids, "user_id")
        t = self._index(self.tips["tip_id"], tip_ids, "tip_id")
        h = np.asarray(hours, dtype=np.float64)
        pvs = list(prompt_versions) if prompt_versions is not None else [None] * len(u)
        cat = self._tip_category_index()[t]
        affinity = self.users[[f"affinity_{c.value}" for c in CATEGORIES]].to_numpy()
        if isinstance(state, pd.DataFrame):
            state = ImpressionState(
                recent=state["recent_tips_24h"].to_numpy(np.int64), seen=state["times_seen_30d"].to_numpy(np.int64),
                hours_since=state["hours_since_seen"].to_numpy(np.float64),
                due=state["due_tasks_in_category"].to_numpy(np.int64),
            )
        logit = oracle_logit(
            self.tips["quality"].to_numpy()[t], affinity[u, cat], h,
            self.users["preferred_hour"].to_numpy()[u], self.users["completion_propensity"].to_numpy()[u],
            prompt_effects(pvs, self.params, self.users["platform"].to_numpy()[u]), self.params,
            state if state is not None else ImpressionState.empty(len(u)),
        )
        return sigmoid(logit)

    def prompt_version_probabilities(
        self,
        user_ids: Ids,
        tip_ids: Ids,
        hours: Hours,
        state: ImpressionState | pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Oracle reward probability of every prompt version per context: one column per version.

        A bandit's regret at a step is ``row.max() - row[chosen]``.
        """
        n = len(user_ids)
        return pd.DataFrame(
            {v: self.oracle_probability(user_ids, tip_ids, hours, [v] * n, state) for v in PROMPT_VERSIONS}
        )

    def manifest(self) -> dict[str, object]:
        """What ``manifest.json`` records: the run's settings and its counts per subject."""
        return {
            "seed": self.seed,
            "users": self.n_users,
            "days": self.days,
            "start": self.start.isoformat(),
            "tag": self.tag,
            "tips": len(self.tips),
            "impressions": len(self.drawn.impressions.user),
            "events": len(self.events),
            "counts": self.events.counts(),
            "logging_model_version": LOGGING_MODEL_VERSION,
            "prompt_versions": list(PROMPT_VERSIONS),
        }

    def _tip_category_index(self) -> npt.NDArray[np.int64]:
        lookup = {c.value: j for j, c in enumerate(CATEGORIES)}
        return np.asarray(self.tips["category"].map(lookup).to_numpy(), dtype=np.int64)

    @staticmethod
    def _index(known: pd.Series, wanted: Ids, what: str) -> npt.NDArray[np.int64]:
        idx = pd.Index(known).get_indexer(pd.Index(wanted))
        if (idx < 0).any():
            missing = np.asarray(wanted, dtype=object)[idx < 0][:3].tolist()
            raise KeyError(f"unknown {what}: {missing}")
        return np.asarray(idx, dtype=np.int64)


def simulate(
    users: int, days: int, seed: int, start: datetime | None = None, params: ModelParams | None = None
) -> Simulation:
    """Draw a run. ``start`` defaults to ``days`` days before 2026-11-01 UTC so the seed fixes the output."""
    if users < 1 or days < 1:
        raise ValueError("users and days must be at least 1")
    params = params or ModelParams()
    start = start or default_start(days)
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    return Simulation(seed=seed, n_users=users, days=days, start=start, params=params,
                      drawn=draw(seed, users, days, start, params))
