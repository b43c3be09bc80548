"""The generative model of the simulator: its parameters, the population draws and the oracle.

Everything here is pure numpy on arrays, so the oracle that produced the simulated reactions is the very
function later issues call to measure trained models and bandits against the best possible policy.

The oracle (probability that a shown tip gets a positive reaction, ``liked`` or ``acted``)::

    p = sigmoid(bias
                + quality[tip]
                + affinity[user, category[tip]]
                + hour_weight * (hour_match(local_hour, preferred_hour[user]) - 0.5)
                + prompt_effect[prompt_version]          # 0 for catalogue tips (no prompt)
                + completion_weight * (completion_propensity[user] - 0.5))

    hour_match = exp(-d^2 / (2 * hour_width^2)), d = circular distance in hours (0..12)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
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
    """Every coefficient of the generative model; defaults give ~25 % positive reactions."""

    n_tips: int = 300
    # oracle
    bias: float = -1.6
    quality_sd: float = 0.6
    affinity_sd: float = 0.7
    hour_weight: float = 1.0
    hour_width: float = 2.5
    prompt_effect: dict[str, float] = field(default_factory=lambda: {"v1": 0.0, "v2": 0.3})
    completion_weight: float = 0.8
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
    prompt_versions: Sequence[str | None] | npt.NDArray[np.object_], p: ModelParams
) -> FloatArray:
    """Additive logit effect of each prompt version (0 for ``None``: a catalogue tip no prompt wrote)."""
    return np.array([p.prompt_effect.get(v, 0.0) if v is not None else 0.0 for v in prompt_versions])


def oracle_logit(
    quality: FloatArray,
    affinity: FloatArray,
    local_hours: FloatArray,
    preferred: FloatArray,
    completion: FloatArray,
    effect: FloatArray,
    p: ModelParams,
) -> FloatArray:
    """Logit of the oracle reaction probability from already-gathered per-impression arrays."""
    out: FloatArray = (
        p.bias
        + quality
        + affinity
        + p.hour_weight * (hour_match(local_hours, preferred, p.hour_width) - 0.5)
        + effect
        + p.completion_weight * (completion - 0.5)
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
