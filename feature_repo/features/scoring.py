"""The model inputs of one (user, tip) row: what the ``scoring_inputs`` on-demand view computes.

Runs inside Feast's on-demand view, so training (historical retrieval) and serving (online retrieval) call
this very code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Final

from contracts.enums import TaskCategory
from feature_repo.features.views import PRIOR_LIKE_RATE, decode_category_counts
from feature_repo.names import MODEL_FEATURES, REQUEST_TIME_FIELD

N_CATEGORIES: Final = len(TaskCategory)
_CATEGORY_VALUES: Final = frozenset(c.value for c in TaskCategory)
TASK_PRIOR: Final = 1.0
"""Pseudo-tasks per category in :func:`category_task_lift`: a user without tasks is neutral (lift 0)."""
NEVER_SHOWN_HOURS: Final = 720.0
"""``tip_hours_since`` of a tip not shown to the user in 30 days (or when the request time is unknown)."""


def hours_since(request_time: object, last_shown: object) -> float:
    """Hours from a tip's last showing to the request, capped at :data:`NEVER_SHOWN_HOURS`."""
    now, last = _num(request_time, math.nan), _num(last_shown, math.nan)
    if math.isnan(now) or math.isnan(last):
        return NEVER_SHOWN_HOURS
    return min(max(0.0, (now - last) / 3600.0), NEVER_SHOWN_HOURS)


def category_task_lift(counts: Mapping[str, int], category: str | None) -> float:
    """How over-represented ``category`` is among the user's recent tasks: log of its share times K.

    People write tasks where their interests lie, so the share of a category in their own task list is
    evidence of how they will take a tip of that category, even before any tip of it was shown. The share
    is smoothed by :data:`TASK_PRIOR` pseudo-tasks per category, so it is 0 for a user without tasks or an
    unknown category, positive above an even spread and negative below it.
    """
    if not category or category not in _CATEGORY_VALUES:
        return 0.0
    total = sum(counts.values())
    share = (counts.get(category, 0) + TASK_PRIOR) / (total + TASK_PRIOR * N_CATEGORIES)
    return math.log(share * N_CATEGORIES)


def _num(value: object, default: float) -> float:
    if value is None or isinstance(value, str):
        return default
    f = float(value)  # type: ignore[arg-type]
    return default if math.isnan(f) else f


def scoring_inputs(row: Mapping[str, object]) -> dict[str, float]:
    """Model inputs of one (user, tip) row from its feature values and ``profile_features``.

    The recommender's profile values win where it sends them (they are fresher), ours fill the gaps, and
    missing values get fixed, documented defaults. Runs inside the ``scoring_inputs`` on-demand view, so
    training (historical retrieval) and serving (online retrieval) use this very function.
    """
    completion = _num(row.get("completion_rate_30d"), _num(row.get("user_completion_rate_30d"), 0.5))
    like = _num(row.get("like_rate_30d"), _num(row.get("user_like_rate_30d"), PRIOR_LIKE_RATE))
    affinity = _num(row.get("uc_affinity"), PRIOR_LIKE_RATE)
    encoded = row.get("user_category_tasks_30d")
    task_counts = decode_category_counts(encoded if isinstance(encoded, str) else None)
    category = row.get("tip_category")
    due = row.get("user_category_due")
    due_counts = decode_category_counts(due if isinstance(due, str) else None)
    return {
        "completion_rate": completion,
        "like_rate": like,
        "hour_preferred": _num(row.get("preferred_hour"), _num(row.get("user_preferred_hour"), -1.0)),
        "active_days": _num(row.get("active_days_30d"), _num(row.get("user_active_days_30d"), 0.0)),
        "tips_7d": _num(row.get("tip_volume_7d"), _num(row.get("user_tip_volume_7d"), 0.0)),
        "open_tasks": _num(row.get("user_open_tasks"), 0.0),
        "completed_7d": _num(row.get("user_completed_7d"), 0.0),
        "tip_impressions_log": math.log1p(max(0.0, _num(row.get("tip_impressions"), 0.0))),
        "tip_like_rate": _num(row.get("tip_like_rate_smoothed"), PRIOR_LIKE_RATE),
        "affinity": affinity,
        "affinity_lift": affinity - like,
        "category_completions_30d": _num(row.get("uc_completions_30d"), 0.0),
        "tenure": _num(row.get("tenure_days"), 0.0),
        "streak": _num(row.get("streak_days"), 0.0),
        "notifications_on": _num(row.get("notifications_enabled"), 0.0),
        "tasks_30d": float(sum(task_counts.values())),
        "category_task_lift": category_task_lift(task_counts, category if isinstance(category, str) else None),
        "tips_24h": _num(row.get("user_tips_24h"), 0.0),
        "tip_seen_30d": _num(row.get("ut_shown_30d"), 0.0),
        "tip_hours_since": hours_since(row.get(REQUEST_TIME_FIELD), row.get("ut_last_shown_at")),
        "category_due_tasks": float(due_counts.get(category, 0)) if isinstance(category, str) else 0.0,
    }


def scoring_inputs_batch(columns: Mapping[str, Sequence[object]]) -> dict[str, list[float]]:
    """Column-wise :func:`scoring_inputs` (the shape Feast's python-mode on-demand views use)."""
    n = max((len(v) for v in columns.values()), default=0)
    out: dict[str, list[float]] = {name: [] for name in MODEL_FEATURES}
    for i in range(n):
        values = scoring_inputs({k: v[i] if i < len(v) else None for k, v in columns.items()})
        for name in MODEL_FEATURES:
            out[name].append(values[name])
    return out
