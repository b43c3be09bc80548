"""The model inputs of (user, tip) rows: what the ``scoring_inputs`` on-demand view computes.

:func:`scoring_inputs_columns` computes them column-wise for all rows at once; it runs inside Feast's
on-demand view (through :func:`scoring_inputs_batch`), so training (historical retrieval) and serving (online
retrieval, and the scorer's in-process path) call this very code. :func:`scoring_inputs` is the same
definition for one row, written plainly: the reference the column-wise code is tested against.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import chain
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from contracts.enums import TaskCategory
from feature_repo.features.views import PRIOR_LIKE_RATE, decode_category_counts
from feature_repo.names import MODEL_FEATURES, REQUEST_TIME_FIELD

N_CATEGORIES: Final = len(TaskCategory)
_CATEGORY_VALUES: Final = frozenset(c.value for c in TaskCategory)
TASK_PRIOR: Final = 1.0
"""Pseudo-tasks per category in :func:`category_task_lift`: a user without tasks is neutral (lift 0)."""
NEVER_SHOWN_HOURS: Final = 720.0
"""``tip_hours_since`` of a tip not shown to the user in 30 days (or when the request time is unknown)."""
FloatColumn = npt.NDArray[np.float64]
"""One model input for every row."""
FloatArray2D = npt.NDArray[np.float64]
_DUE: Final = "user_category_due"
Column = Sequence[object] | npt.NDArray[Any]
"""One input for every row: a list (None where missing) or a numeric array."""


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


_FILLED: Final = (
    # output, the input read first, the input that fills its gaps (or None), then the default
    ("completion_rate", "completion_rate_30d", "user_completion_rate_30d", 0.5),
    ("like_rate", "like_rate_30d", "user_like_rate_30d", PRIOR_LIKE_RATE),
    ("hour_preferred", "preferred_hour", "user_preferred_hour", -1.0),
    ("active_days", "active_days_30d", "user_active_days_30d", 0.0),
    ("tips_7d", "tip_volume_7d", "user_tip_volume_7d", 0.0),
    ("open_tasks", "user_open_tasks", None, 0.0),
    ("completed_7d", "user_completed_7d", None, 0.0),
    ("tip_impressions", "tip_impressions", None, 0.0),
    ("tip_like_rate", "tip_like_rate_smoothed", None, PRIOR_LIKE_RATE),
    ("affinity", "uc_affinity", None, PRIOR_LIKE_RATE),
    ("category_completions_30d", "uc_completions_30d", None, 0.0),
    ("tenure", "tenure_days", None, 0.0),
    ("streak", "streak_days", None, 0.0),
    ("notifications_on", "notifications_enabled", None, 0.0),
    ("tips_24h", "user_tips_24h", None, 0.0),
    ("tip_seen_30d", "ut_shown_30d", None, 0.0),
)
"""The inputs that are a number, else another number, else a default (``_num(a, _num(b, default))``)."""
_NUMERIC: Final = tuple(
    dict.fromkeys(
        [*(f[1] for f in _FILLED), *(f[2] for f in _FILLED if f[2] is not None), REQUEST_TIME_FIELD, "ut_last_shown_at"]
    )
)
"""Every numeric input read, in the row order of :func:`_numeric_matrix`."""
_ROW: Final = {name: i for i, name in enumerate(_NUMERIC)}
_FIRST: Final = np.array([_ROW[f[1]] for f in _FILLED])
_SECOND: Final = np.array([_ROW[f[2]] if f[2] is not None else len(_NUMERIC) for f in _FILLED])
_DEFAULTS: Final = np.array([[f[3]] for f in _FILLED], dtype=np.float64)


def scoring_inputs_columns(columns: Mapping[str, Column]) -> dict[str, FloatColumn]:
    """Column-wise :func:`scoring_inputs`: one float64 array per model input, for all rows at once.

    Same values as calling :func:`scoring_inputs` row by row (a test holds them equal on random rows, with
    None, NaN, strings and booleans), at a fraction of the cost: every numeric input is one row of one
    matrix and the gaps are filled for all of them in a few array operations; the category inputs are
    computed once per distinct (task mix, category) pair, not per row. Rows are as long as the longest
    column; a shorter or absent column reads as missing values there.
    """
    n = max((len(v) for v in columns.values()), default=0)
    x = _numeric_matrix(columns, n)  # one extra all-NaN row: the "second" input of those that have none
    first, second = x[_FIRST], x[_SECOND]
    filled = np.where(np.isnan(first), np.where(np.isnan(second), _DEFAULTS, second), first)
    out: dict[str, FloatColumn] = {f[0]: filled[i] for i, f in enumerate(_FILLED)}
    out["tip_impressions_log"] = np.log1p(np.maximum(0.0, out.pop("tip_impressions")))
    out["affinity_lift"] = out["affinity"] - out["like_rate"]
    now, last = x[_ROW[REQUEST_TIME_FIELD]], x[_ROW["ut_last_shown_at"]]
    out["tip_hours_since"] = np.where(
        np.isnan(now) | np.isnan(last),
        NEVER_SHOWN_HOURS,
        np.minimum(np.maximum(0.0, (now - last) / 3600.0), NEVER_SHOWN_HOURS),
    )
    out["tasks_30d"], out["category_task_lift"], out["category_due_tasks"] = _category_columns(columns, n)
    return {name: out[name] for name in MODEL_FEATURES}


def _numeric_matrix(columns: Mapping[str, Column], n: int) -> FloatArray2D:
    """The :data:`_NUMERIC` inputs as rows of float64 (NaN where :func:`_num` would use its default), plus NaN.

    One conversion for all of them when every column is a plain list of n numbers or None (what a serving
    request has); column by column otherwise (strings, numpy arrays, short columns).
    """
    missing: list[object] = [None] * n
    lists = [columns.get(name, missing) for name in _NUMERIC]
    lists.append(missing)
    if all(type(v) is list and len(v) == n for v in lists):
        kinds = set(map(type, chain.from_iterable(lists)))
        if not any(issubclass(t, str) for t in kinds):
            try:
                return np.array(lists, dtype=np.float64)  # None becomes NaN
            except (TypeError, ValueError):  # a value float() refuses: column by column
                pass
    return np.vstack([_floats(v, n) for v in lists])


def scoring_inputs_batch(columns: Mapping[str, Column]) -> dict[str, list[float]]:
    """:func:`scoring_inputs_columns` as plain lists: the shape Feast's python-mode on-demand views return.

    The ``scoring_inputs`` view calls this, so training (historical retrieval) and Feast's online path run
    the very arrays code the scorer runs in process.
    """
    return {name: values.tolist() for name, values in scoring_inputs_columns(columns).items()}


def _floats(values: Column, n: int) -> FloatColumn:
    """``values`` as float64, NaN where :func:`_num` would use its default (None, a string, NaN); NaN-padded to n."""
    out: FloatColumn | None = None
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        out = values.astype(np.float64)
    elif not any(issubclass(t, str) for t in set(map(type, values))):
        try:
            out = np.array(values, dtype=np.float64)  # None becomes NaN
        except (TypeError, ValueError):  # a str subclass, or a value float() refuses: one by one
            out = None
    if out is None:
        out = np.array([_num(v, math.nan) for v in values], dtype=np.float64)
    if len(out) < n:
        out = np.concatenate([out, np.full(n - len(out), np.nan)])
    return out


def _category_columns(
    columns: Mapping[str, Column], n: int
) -> tuple[FloatColumn, FloatColumn, FloatColumn]:
    """``tasks_30d``, ``category_task_lift`` and ``category_due_tasks``, once per distinct input triple.

    Within a request the task mix is the user's (one value) and categories repeat, so a request of 20
    candidates computes a handful of values.
    """
    tasks, cats, dues = (_objects(columns.get(k), n) for k in ("user_category_tasks_30d", "tip_category", _DUE))
    memo: dict[tuple[object, object, object], tuple[float, float, float]] = {}
    rows = []
    for key in zip(tasks, cats, dues, strict=True):
        values = memo.get(key)
        if values is None:
            encoded, category, due = key
            counts = decode_category_counts(encoded if isinstance(encoded, str) else None)
            due_counts = decode_category_counts(due if isinstance(due, str) else None)
            cat = category if isinstance(category, str) else None
            values = memo[key] = (
                float(sum(counts.values())),
                category_task_lift(counts, cat),
                float(due_counts.get(cat, 0)) if cat is not None else 0.0,
            )
        rows.append(values)
    out = np.array(rows, dtype=np.float64).reshape(n, 3).T
    return out[0], out[1], out[2]


def _objects(values: Column | None, n: int) -> list[object]:
    """``values`` as a list of n (None-padded), hashable for the memo (an unhashable value reads as None)."""
    got: list[object] = [] if values is None else [v if isinstance(v, str) else None for v in values]
    return got + [None] * (n - len(got))
