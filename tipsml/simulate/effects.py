"""The state each impression is shown in: what the fatigue, repeat-exposure and task-state terms read.

All vectorised over the impressions of a run (no loop over users or events). Each quantity is defined as the
feature that captures it (``feature_repo.features.views``), so a model that reads those inputs can learn the
effect, and the oracle reads exactly these arrays:

* ``recent``: tips shown to the same user in the 24 h before (``user_tips_24h``);
* ``seen`` / ``hours_since``: earlier showings of the same tip to the same user in 30 days, and hours since
  the latest (``ut_shown_30d``, ``tip_hours_since``; :data:`NEVER_HOURS` when not shown);
* ``due``: the user's open tasks in the tip's category that are overdue or due within 24 h
  (``category_due_tasks``).
"""

from __future__ import annotations

from typing import Final

import numpy as np

from tipsml.simulate.model import NEVER_HOURS, FloatArray, ImpressionState, IntArray

HOUR: Final = 3600
RECENT_S: Final = 24 * HOUR
EXPOSURE_S: Final = 30 * 24 * HOUR
DUE_SOON_S: Final = 24 * HOUR


def _earlier_within(group: IntArray, t: IntArray, window_s: int) -> tuple[IntArray, IntArray]:
    """Per row: earlier rows of its group (in (time, row) order) within ``window_s`` s, and the latest one.

    Returns (count, row of the latest earlier one or -1).
    """
    n = len(t)
    order = np.lexsort((np.arange(n), t, group))
    combined = group[order].astype(np.int64) * (1 << 32) + t[order]  # t < 2**32 s, so groups never overlap
    pos = np.arange(n)
    lo = np.searchsorted(combined, combined - window_s, "left")
    count = pos - lo
    out_count = np.empty(n, np.int64)
    out_prev = np.empty(n, np.int64)
    out_count[order] = count
    out_prev[order] = np.where(count > 0, order[np.maximum(pos - 1, 0)], -1)
    return out_count, out_prev


def recent_count(user: IntArray, t: IntArray, window_s: int) -> IntArray:
    """Rows of the same user in the ``window_s`` seconds before each row."""
    count, _ = _earlier_within(user, t, window_s)
    return count


def exposure(user: IntArray, tip: IntArray, t: IntArray, n_tips: int) -> tuple[IntArray, IntArray, FloatArray]:
    """(recent, seen, hours_since) of every impression."""
    recent, _ = _earlier_within(user, t, RECENT_S)
    seen, prev = _earlier_within(user * n_tips + tip, t, EXPOSURE_S)
    hours = np.where(prev >= 0, (t - t[np.maximum(prev, 0)]) / HOUR, NEVER_HOURS)
    return recent, seen, np.minimum(hours, NEVER_HOURS).astype(np.float64)


def due_tasks(
    imp_user: IntArray,
    imp_cat: IntArray,
    imp_t: IntArray,
    task_user: IntArray,
    task_cat: IntArray,
    created: IntArray,
    closed: IntArray,
    due: IntArray,
    n_categories: int,
) -> IntArray:
    """Open tasks of the impression's user and category that are overdue or due within 24 h at its time.

    ``closed`` is when a task was done (a large number when never); ``due`` is -1 for no due date.
    """
    has_due = due >= 0
    key = task_user[has_due] * n_categories + task_cat[has_due]
    order = np.argsort(key, kind="stable")
    key, c, d, dd = key[order], created[has_due][order], closed[has_due][order], due[has_due][order]
    want = imp_user * n_categories + imp_cat
    lo = np.searchsorted(key, want, "left")
    hi = np.searchsorted(key, want, "right")
    sizes = hi - lo
    rows = np.repeat(np.arange(len(want)), sizes)
    idx = np.repeat(lo - np.cumsum(np.concatenate([[0], sizes[:-1]])), sizes) + np.arange(int(sizes.sum()))
    at = imp_t[rows]
    pressing = (c[idx] < at) & (d[idx] > at) & (dd[idx] <= at + DUE_SOON_S)
    out: IntArray = np.bincount(rows[pressing], minlength=len(want)).astype(np.int64)
    return out


def impression_state(
    imp_user: IntArray,
    imp_tip: IntArray,
    imp_cat: IntArray,
    imp_t: IntArray,
    n_tips: int,
    tasks: tuple[IntArray, IntArray, IntArray, IntArray, IntArray],
    n_categories: int,
) -> ImpressionState:
    """Every impression's state; ``tasks`` = (user, category, created, closed, due) per task."""
    recent, seen, hours = exposure(imp_user, imp_tip, imp_t, n_tips)
    due = due_tasks(imp_user, imp_cat, imp_t, *tasks, n_categories)
    return ImpressionState(recent=recent, seen=seen, hours_since=hours, due=due)
