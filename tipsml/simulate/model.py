"""The generative model of the simulator: its parameters, the population draws and the oracle.

Everything here is pure numpy on arrays, so the oracle that produced the simulated reactions is the very
function later issues call to measure trained models and bandits against the best possible policy.

The oracle (probability that a shown tip gets a positive reaction, ``liked`` or ``acted``)::

    p = sigmoid(bias
                + quality[tip]
                + affinity[user, category[tip]] * (1 + state_gain * pressing(due))      # state interaction
                + state_weight * pressing(due)                                           # state interaction
                + hour_weight * (hour_match(local_hour, preferred_hour[user]) - 0.5)
                + prompt_effect[prompt_version]          # 0 for catalogue tips (no prompt)
                + prompt_segment_effect[prompt_version][platform[user]]                  # heterogeneous prompt
                + completion_weight * (completion_propensity[user] - 0.5)
                - fatigue_weight * (1 - exp(-recent / fatigue_scale))                    # fatigue
                - repeat_weight * [seen > 0] * exp(-hours_since / repeat_tau_hours))     # repeat decay

    hour_match = exp(-d^2 / (2 * hour_width^2)), d = circular distance in hours (0..12)
    pressing(due) = 1 - exp(-due)
    recent      = tips shown to the user in the 24 h before            (feature: user_tips_24h)
    seen        = earlier showings of this tip to the user in 30 days  (feature: ut_shown_30d)
    hours_since = hours since the latest of them                       (feature: tip_hours_since)
    due         = the user's open tasks in the tip's category that are overdue or due within 24 h
                                                                       (feature: category_due_tasks)

The four marked effects are what notification and recommendation systems document, each switchable (its
weight 0, or :meth:`ModelParams.without_new_effects` for all of them):

* **Fatigue**: the more notifications a person received recently, the less each one is engaged with, and the
  loss saturates. Reported for production notification rankers, e.g. LinkedIn's volume optimisation
  (Gupta et al., "Email Volume Optimization at LinkedIn", KDD 2016; Yuan et al., "State-aware notification
  volume optimisation", KDD 2019) and Pinterest's notification-fatigue models (Zhao et al., "Notification
  Volume Control and Optimization System at Pinterest", KDD 2018).
* **Repeat decay**: an item already shown to a person gets a lower response, recovering as time since it
  was last shown grows (repeat-exposure / "wear-out" effects; Ma et al., "Modeling User Exposure in
  Recommendation" WWW 2016 and the impression-discounting features of LinkedIn's feed, Lee et al., KDD 2014).
* **State interaction**: content about what a person is working on matters more when a deadline is near:
  task reminders and context-aware notifications are engaged with more when due soon or overdue
  (Mehrotra et al., "Designing Content-driven Intelligent Notification Mechanisms", UbiComp 2016).
* **Heterogeneous prompt effect**: a treatment's lift differs by segment (platform here), so the best prompt
  version depends on the user: the case for contextual rather than context-free bandits (Li et al.,
  "A Contextual-Bandit Approach to Personalized News Article Recommendation", WWW 2010).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from contracts.enums import Platform, TaskCategory, TaskPriority

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CATEGORIES: Final[tuple[TaskCategory, ...]] = tuple(TaskCategory)
PLATFORMS: Final[tuple[Platform, ...]] = tuple(Platform)
PRIORITIES: Final[tuple[TaskPriority, ...]] = tuple(TaskPriority)
PROMPT_VERSIONS: Final[tuple[str, ...]] = ("v1", "v2")
LOGGING_MODEL_VERSION: Final = "sim-logging-v0"

DEFAULT_END: Final = datetime(2026, 11, 1, tzinfo=UTC)
"""Windows end here unless ``--start`` is given, so a seed alone fixes the output."""


def default_start(days: int) -> datetime:
    """Start of a window of ``days`` days that ends at :data:`DEFAULT_END`."""
    return DEFAULT_END - timedelta(days=days)


@dataclass(frozen=True, slots=True)
class ModelParams:
    """Every coefficient of the generative model; defaults give ~22 % positive reactions.

    With the four new effects off (:meth:`without_new_effects`) the draws are exactly those of the world before
    the effects existed (same seed, same reactions; ~32 % positive).
    """

    n_tips: int = 300
    # oracle
    bias: float = -1.6
    quality_sd: float = 0.6
    affinity_sd: float = 0.7
    hour_weight: float = 1.0
    hour_width: float = 2.5
    prompt_effect: dict[str, float] = field(default_factory=lambda: {"v1": 0.0, "v2": 0.3})
    completion_weight: float = 0.8
    # the four documented effects (module docstring); 0 / {} switches one off
    fatigue_weight: float = 1.5
    fatigue_scale: float = 0.7
    repeat_weight: float = 1.2
    repeat_tau_hours: float = 96.0
    state_weight: float = 0.6
    state_gain: float = 1.0
    prompt_segment_effect: dict[str, dict[str, float]] = field(
        default_factory=lambda: {"v2": {"web": -0.8, "desktop": -0.9}}
    )
    """Extra lift of a prompt version per platform, on top of ``prompt_effect``: v2 helps on phones and
    hurts on the web and desktop apps."""
    # population
    new_user_share: float = 0.15
    opens_per_day_mean: float = 1.6
    tz_offsets_minutes: tuple[int, ...] = (-480, -300, -240, 0, 60, 120, 330, 540)
    tz_weights: tuple[float, ...] = (0.12, 0.18, 0.1, 0.12, 0.2, 0.1, 0.1, 0.08)
    platform_weights: tuple[float, ...] = (0.4, 0.35, 0.15, 0.1)
    open_hour_sd: float = 1.5
    # tasks
    tasks_per_open: float = 0.6
    progress_share: float = 0.25
    due_share: float = 0.7
    priority_weights: tuple[float, ...] = (0.3, 0.45, 0.2, 0.05)
    completion_delay_hours: float = 30.0
    # logging policy
    tip_per_open: float = 0.6
    candidates: int = 5
    policy_temperature: float = 0.7
    generated_share: float = 0.35
    prompt_weights: dict[str, float] = field(default_factory=lambda: {"v1": 0.5, "v2": 0.5})
    # reactions that are not positive
    dismiss_share: float = 0.45
    snooze_share: float = 0.15
    reaction_delay_minutes: float = 3.0
    # the recommender's profile_features snapshot on tip_shown
    notifications_on_share: float = 0.7

    def without_new_effects(self) -> ModelParams:
        """The same world with fatigue, repeat decay, state interaction and the segment prompt effect off."""
        return replace(
            self, fatigue_weight=0.0, repeat_weight=0.0, state_weight=0.0, state_gain=0.0, prompt_segment_effect={}
        )


NEVER_HOURS: Final = 720.0
"""Hours since a tip was last shown when it was not shown in 30 days (the feature's cap as well)."""


@dataclass(frozen=True, slots=True)
class ImpressionState:
    """Per impression, the history the new oracle terms read (see the module docstring)."""

    recent: IntArray
    seen: IntArray
    hours_since: FloatArray
    due: IntArray

    @classmethod
    def empty(cls, n: int) -> ImpressionState:
        """No history: nothing shown before and no pressing task."""
        return cls(np.zeros(n, np.int64), np.zeros(n, np.int64), np.full(n, NEVER_HOURS), np.zeros(n, np.int64))


def sigmoid(x: FloatArray) -> FloatArray:
    """Logistic function."""
    out: FloatArray = 1.0 / (1.0 + np.exp(-x))
    return out


def hour_match(local_hours: FloatArray, preferred: FloatArray, width: float) -> FloatArray:
    """How close a local hour is to the preferred one, 1 at the same hour, on a 24 h circle."""
    d = np.abs(np.mod(local_hours - preferred + 12.0, 24.0) - 12.0)
    out: FloatArray = np.exp(-(d**2) / (2.0 * width**2))
    return out


def draw_users(rng: np.random.Generator, n: int, days: int, p: ModelParams) -> pd.DataFrame:
    """Users and their latent traits; ``signup_day`` < 0 means they signed up before the window."""
    mode = rng.choice(3, size=n, p=[0.35, 0.2, 0.45])
    centres = np.array([8.0, 12.5, 20.0])[mode]
    preferred = np.mod(centres + rng.normal(0.0, 1.2, n), 24.0)
    tz = np.asarray(p.tz_offsets_minutes, dtype=np.int64)[
        rng.choice(len(p.tz_offsets_minutes), size=n, p=np.asarray(p.tz_weights) / sum(p.tz_weights))
    ]
    platform = rng.choice(len(PLATFORMS), size=n, p=np.asarray(p.platform_weights) / sum(p.platform_weights))
    is_new = rng.random(n) < p.new_user_share
    signup_day = np.where(is_new, rng.integers(0, max(days, 1), n), -rng.integers(1, 720, n))
    activity = rng.gamma(2.0, p.opens_per_day_mean / 2.0, n)
    completion = rng.beta(4.0, 3.0, n)
    affinity = rng.normal(0.0, p.affinity_sd, (n, len(CATEGORIES)))
    frame = pd.DataFrame(
        {
            "user_id": [f"u{i:06d}" for i in range(n)],
            "preferred_hour": preferred,
            "tz_offset_minutes": tz,
            "platform": [PLATFORMS[k].value for k in platform],
            "signup_day": signup_day.astype(np.int64),
            "is_new": is_new,
            "activity_rate": activity,
            "completion_propensity": completion,
        }
    )
    for j, cat in enumerate(CATEGORIES):
        frame[f"affinity_{cat.value}"] = affinity[:, j]
    return frame


def draw_tips(rng: np.random.Generator, p: ModelParams) -> pd.DataFrame:
    """The tip catalogue: category, latent quality and the popularity the logging policy ranks by."""
    n = p.n_tips
    quality = rng.normal(0.0, p.quality_sd, n)
    return pd.DataFrame(
        {
            "tip_id": [f"tip-{i + 1:04d}" for i in range(n)],
            "category": [CATEGORIES[k].value for k in rng.integers(0, len(CATEGORIES), n)],
            "quality": quality,
            "popularity": 0.6 * quality + rng.normal(0.0, 0.5, n),
        }
    )


def prompt_effects(
    prompt_versions: Sequence[str | None] | npt.NDArray[np.object_],
    p: ModelParams,
    platforms: Sequence[str] | npt.NDArray[np.object_] | None = None,
) -> FloatArray:
    """Additive logit effect of each prompt version (0 for ``None``: a catalogue tip no prompt wrote).

    With ``platforms`` (the user's, one per row) the segment effect is added: the heterogeneous prompt term.
    """
    base = np.array([p.prompt_effect.get(v, 0.0) if v is not None else 0.0 for v in prompt_versions])
    if platforms is None or not p.prompt_segment_effect:
        return base
    extra = np.array([
        p.prompt_segment_effect.get(v, {}).get(str(pl), 0.0) if v is not None else 0.0
        for v, pl in zip(prompt_versions, platforms, strict=True)
    ])
    out: FloatArray = base + extra
    return out


def fatigue_term(recent: IntArray | FloatArray, weight: float, scale: float) -> FloatArray:
    """``-weight * (1 - exp(-recent / scale))``: each extra tip in a day hurts, less and less."""
    out: FloatArray = -weight * (1.0 - np.exp(-np.asarray(recent, np.float64) / scale))
    return out


def repeat_term(seen: IntArray | FloatArray, hours_since: FloatArray, weight: float, tau_hours: float) -> FloatArray:
    """``-weight * [seen > 0] * exp(-hours_since / tau)``: a repeat lands worse, less so as time passes."""
    shown = np.asarray(seen, np.float64) > 0
    out: FloatArray = np.where(shown, -weight * np.exp(-np.asarray(hours_since, np.float64) / tau_hours), 0.0)
    return out


def pressing(due: IntArray | FloatArray) -> FloatArray:
    """Saturating ``1 - exp(-due)``: 0 without pressing tasks, 0.63 with one, near 1 with several."""
    out: FloatArray = 1.0 - np.exp(-np.asarray(due, np.float64))
    return out


def oracle_logit(
    quality: FloatArray,
    affinity: FloatArray,
    local_hours: FloatArray,
    preferred: FloatArray,
    completion: FloatArray,
    effect: FloatArray,
    p: ModelParams,
    state: ImpressionState | None = None,
) -> FloatArray:
    """Logit of the oracle reaction probability from already-gathered per-impression arrays.

    ``effect`` is the prompt term (segment effect included); ``state`` the impression's history (none: as if
    nothing was shown before and no task pressed).
    """
    press = pressing(state.due) if state is not None else np.zeros_like(quality)
    out: FloatArray = (
        p.bias
        + quality
        + affinity * (1.0 + p.state_gain * press)
        + p.hour_weight * (hour_match(local_hours, preferred, p.hour_width) - 0.5)
        + effect
        + p.completion_weight * (completion - 0.5)
    )
    if state is not None:
        out = (
            out
            + p.state_weight * press
            + fatigue_term(state.recent, p.fatigue_weight, p.fatigue_scale)
            + repeat_term(state.seen, state.hours_since, p.repeat_weight, p.repeat_tau_hours)
        )
    return out


TITLES: Final[dict[TaskCategory, tuple[str, ...]]] = {
    TaskCategory.WORK: ("Prepare quarterly report", "Reply to client email", "Review pull request",
                        "Plan sprint", "Update project slides", "Book meeting room"),
    TaskCategory.PERSONAL: ("Call mom", "Write journal entry", "Plan weekend trip", "Sort photos",
                            "Renew passport"),
    TaskCategory.HEALTH: ("Go for a run", "Book dentist appointment", "Refill prescription", "Yoga session",
                          "Drink more water"),
    TaskCategory.FINANCE: ("Pay electricity bill", "File tax return", "Check budget",
                           "Cancel unused subscription", "Transfer savings"),
    TaskCategory.LEARNING: ("Finish online course module", "Read a chapter", "Practice Spanish",
                            "Watch lecture", "Review flashcards"),
    TaskCategory.HOME: ("Clean kitchen", "Do laundry", "Fix leaking tap", "Water plants",
                        "Vacuum living room"),
    TaskCategory.SOCIAL: ("Plan dinner with friends", "Buy birthday gift", "Reply to invitations",
                          "Call an old friend"),
    TaskCategory.ERRANDS: ("Buy groceries", "Pick up parcel", "Return library books", "Get car washed",
                           "Drop off dry cleaning"),
}
"""Small title vocabulary per category: plain ASCII without quotes, so titles need no JSON escaping."""
