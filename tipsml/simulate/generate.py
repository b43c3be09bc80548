"""Vectorised draws of app opens, tasks, tip impressions and reactions for a whole window at once.

One ``numpy.random.Generator`` seeded once, draws in a fixed order and no Python loop over users or
events: the same seed gives the same arrays, and 5,000 users x 30 days take a couple of seconds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from tipsml.simulate.effects import impression_state, recent_count
from tipsml.simulate.model import (
    CATEGORIES,
    PLATFORMS,
    PROMPT_VERSIONS,
    TITLES,
    FloatArray,
    ImpressionState,
    IntArray,
    ModelParams,
    draw_tips,
    draw_users,
    oracle_logit,
    prompt_effects,
    sigmoid,
)

BoolArray = npt.NDArray[np.bool_]
DAY = 86_400


@dataclass(frozen=True, slots=True)
class Opens:
    """App opens: user row, epoch second."""

    user: IntArray
    t: IntArray


@dataclass(frozen=True, slots=True)
class TaskStates:
    """TaskSynced rows (creation, progress and done states of every task)."""

    user: IntArray
    t: IntArray
    task: IntArray
    status: IntArray
    """0 open, 1 in_progress, 2 done."""
    priority: IntArray
    category: IntArray
    title: IntArray
    """Index into the flat title vocabulary."""
    due: IntArray
    """Epoch second, or -1 for no due date."""


@dataclass(frozen=True, slots=True)
class Completions:
    """TaskCompleted rows."""

    user: IntArray
    t: IntArray
    task: IntArray
    category: IntArray
    on_time: IntArray
    """1 on time, 0 late, -1 no due date."""


@dataclass(frozen=True, slots=True)
class Impressions:
    """TipShown rows and the truth behind each."""

    user: IntArray
    t: IntArray
    tip: IntArray
    prompt: IntArray
    """Index into PROMPT_VERSIONS, or -1 for a catalogue tip."""
    propensity: FloatArray
    tip_propensity: FloatArray
    prompt_propensity: FloatArray
    local_hour: FloatArray
    p_positive: FloatArray
    reaction: IntArray
    """0 liked, 1 acted, 2 dismissed, 3 snoozed, -1 no reaction."""
    reaction_t: IntArray
    state: ImpressionState
    """The history each was shown in (what the fatigue, repeat and task-state terms read)."""
    tips_7d: IntArray
    """Tips shown to the user in the 7 days before: the recommender's ``tip_volume_7d``."""


@dataclass(frozen=True, slots=True)
class Drawn:
    """Everything one run drew."""

    tag: str
    users: pd.DataFrame
    tips: pd.DataFrame
    opens: Opens
    tasks: TaskStates
    completions: Completions
    impressions: Impressions
    start_s: int = 0
    """Epoch second the window starts at (signup days count from it)."""


FLAT_TITLES: tuple[str, ...] = tuple(t for c in CATEGORIES for t in TITLES[c])
_TITLE_COUNT = np.array([len(TITLES[c]) for c in CATEGORIES], dtype=np.int64)
_TITLE_OFFSET = np.concatenate([[0], np.cumsum(_TITLE_COUNT)[:-1]]).astype(np.int64)


def run_tag(seed: int, users: int, days: int, start: datetime) -> str:
    """Short id of a run: prefixes its event ids, so runs with other settings never collide in dedup."""
    digest = hashlib.blake2b(f"{seed}|{users}|{days}|{start.isoformat()}".encode(), digest_size=4).hexdigest()
    return f"sim{digest}"


def local_hours(t: IntArray, tz_minutes: IntArray) -> FloatArray:
    """Local hour of day (float) of epoch seconds at a UTC offset."""
    out: FloatArray = np.mod((t + tz_minutes * 60) / 3600.0, 24.0)
    return out


def _categorical(rng: np.random.Generator, probs: FloatArray) -> IntArray:
    """One draw per row of a (rows, k) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cum[:, -1]
    out: IntArray = np.minimum((cum < u[:, None]).sum(axis=1), probs.shape[1] - 1).astype(np.int64)
    return out


def _draw_opens(
    rng: np.random.Generator, users: pd.DataFrame, days: int, start_s: int, p: ModelParams
) -> Opens:
    n = len(users)
    uid = np.repeat(np.arange(n, dtype=np.int64), days)
    day = np.tile(np.arange(days, dtype=np.int64), n)
    signup = users["signup_day"].to_numpy()[uid]
    active = day >= signup
    uid, day, signup = uid[active], day[active], signup[active]
    count = rng.poisson(users["activity_rate"].to_numpy()[uid])
    count = np.where(day == signup, np.maximum(count, 1), count)  # a new user opens the app on signup day
    o_user = np.repeat(uid, count)
    o_day = np.repeat(day, count)
    pref = users["preferred_hour"].to_numpy()[o_user]
    tz = users["tz_offset_minutes"].to_numpy()[o_user]
    local = pref + rng.normal(0.0, p.open_hour_sd, len(o_user))
    sec_of_day = np.mod(np.floor(local * 3600.0).astype(np.int64) - tz * 60, DAY)
    t = start_s + o_day * DAY + sec_of_day
    order = np.lexsort((o_user, t))
    return Opens(user=o_user[order], t=t[order])


def _draw_tasks(
    rng: np.random.Generator, users: pd.DataFrame, opens: Opens, end_s: int, p: ModelParams
) -> tuple[TaskStates, Completions]:
    count = rng.poisson(p.tasks_per_open, len(opens.user))
    user = np.repeat(opens.user, count)
    m = len(user)
    created = np.repeat(opens.t, count) + rng.integers(10, 600, m)
    affinity = users[[f"affinity_{c.value}" for c in CATEGORIES]].to_numpy()[user]
    mix = np.exp(affinity)
    category = _categorical(rng, mix / mix.sum(axis=1, keepdims=True))
    title = _TITLE_OFFSET[category] + rng.integers(0, 1 << 30, m) % _TITLE_COUNT[category]
    weights = np.asarray(p.priority_weights) / sum(p.priority_weights)
    priority = rng.choice(len(weights), size=m, p=weights).astype(np.int64)
    due = np.where(rng.random(m) < p.due_share, created + rng.integers(4 * 3600, 7 * DAY, m), -1)
    completes = rng.random(m) < users["completion_propensity"].to_numpy()[user]
    done_t = created + np.ceil(rng.exponential(p.completion_delay_hours * 3600.0, m)).astype(np.int64) + 60
    done = completes & (done_t < end_s)
    span = np.where(done, done_t - created, DAY)
    progress_t = created + 1 + np.floor(rng.random(m) * (span - 1)).astype(np.int64)
    progress = (rng.random(m) < p.progress_share) & (progress_t < end_s)
    task = np.arange(m, dtype=np.int64)

    def rows(mask: BoolArray, t: IntArray, status: int) -> list[IntArray]:
        return [user[mask], t[mask], task[mask], np.full(int(mask.sum()), status, dtype=np.int64),
                priority[mask], category[mask], title[mask], due[mask]]

    everyone = np.ones(m, dtype=bool)
    parts = [rows(everyone, created, 0), rows(progress, progress_t, 1), rows(done, done_t, 2)]
    cols = [np.concatenate([part[k] for part in parts]) for k in range(8)]
    states = TaskStates(*cols)
    on_time = np.where(due[done] < 0, -1, (done_t[done] <= due[done]).astype(np.int64))
    completions = Completions(user=user[done], t=done_t[done], task=task[done], category=category[done],
                              on_time=on_time)
    return states, completions


TaskArrays = tuple[IntArray, IntArray, IntArray, IntArray, IntArray]


def _task_arrays(tasks: TaskStates, completions: Completions) -> TaskArrays:
    """(user, category, created, closed, due) per task; ``closed`` is far in the future for an undone task."""
    created = tasks.status == 0  # one creation row per task, in task order
    closed = np.full(int(created.sum()), np.iinfo(np.int64).max // 2, dtype=np.int64)
    closed[completions.task] = completions.t
    return tasks.user[created], tasks.category[created], tasks.t[created], closed, tasks.due[created]


def _draw_impressions(
    rng: np.random.Generator,
    users: pd.DataFrame,
    tips: pd.DataFrame,
    opens: Opens,
    p: ModelParams,
    task_arrays: TaskArrays,
) -> Impressions:
    shown = rng.random(len(opens.user)) < p.tip_per_open
    user = opens.user[shown]
    m = len(user)
    t = opens.t[shown] + rng.integers(2, 60, m)
    cand = rng.integers(0, len(tips), (m, p.candidates))
    score = tips["popularity"].to_numpy()[cand] / p.policy_temperature
    probs = np.exp(score - score.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    pick = _categorical(rng, probs)
    tip = cand[np.arange(m), pick]
    tip_prop = (probs * (cand == tip[:, None])).sum(axis=1)  # candidates are drawn with replacement
    generated = rng.random(m) < p.generated_share
    pw = np.array([p.prompt_weights[v] for v in PROMPT_VERSIONS])
    pw = pw / pw.sum()
    pv = rng.choice(len(PROMPT_VERSIONS), size=m, p=pw).astype(np.int64)
    prompt = np.where(generated, pv, -1)
    prompt_prop = np.where(generated, p.generated_share * pw[pv], 1.0 - p.generated_share)
    tz = users["tz_offset_minutes"].to_numpy()[user]
    hours = local_hours(t, tz)
    platform_idx = pd.Index([pl.value for pl in PLATFORMS]).get_indexer(pd.Index(users["platform"]))
    versions = np.array(list(PROMPT_VERSIONS) + [None], dtype=object)
    # one prompt effect per (version or none, platform): a table, so no Python loop over impressions
    table = np.stack([prompt_effects([v] * len(PLATFORMS), p, [pl.value for pl in PLATFORMS]) for v in versions])
    effects = table[prompt, platform_idx[user]]
    cat_idx = np.asarray(tips["category"].map({c.value: j for j, c in enumerate(CATEGORIES)}), dtype=np.int64)
    affinity = users[[f"affinity_{c.value}" for c in CATEGORIES]].to_numpy()
    state = impression_state(user, tip, cat_idx[tip], t, len(tips), task_arrays, len(CATEGORIES))
    logit = oracle_logit(
        tips["quality"].to_numpy()[tip], affinity[user, cat_idx[tip]], hours,
        users["preferred_hour"].to_numpy()[user], users["completion_propensity"].to_numpy()[user], effects, p,
        state,
    )
    prob = sigmoid(logit)
    u = rng.random(m)
    v = rng.random(m)
    positive = u < prob
    negative = np.where(v < p.dismiss_share, 2, np.where(v < p.dismiss_share + p.snooze_share, 3, -1))
    reaction = np.where(positive, np.where(v < 0.6, 0, 1), negative).astype(np.int64)
    delay_s = rng.lognormal(np.log(p.reaction_delay_minutes * 60.0), 0.8, m)
    delay = np.maximum(5, np.round(delay_s)).astype(np.int64)
    return Impressions(
        user=user, t=t, tip=tip, prompt=prompt, propensity=tip_prop * prompt_prop, tip_propensity=tip_prop,
        prompt_propensity=prompt_prop, local_hour=hours, p_positive=prob, reaction=reaction,
        reaction_t=t + delay, state=state, tips_7d=recent_count(user, t, 7 * DAY),
    )


def draw(seed: int, n_users: int, days: int, start: datetime, params: ModelParams) -> Drawn:
    """Draw a whole run; ``start`` is the window's first instant (timezone-aware)."""
    rng = np.random.default_rng(seed)
    start_s = int(start.timestamp())
    end_s = start_s + days * DAY
    users = draw_users(rng, n_users, days, params)
    tips = draw_tips(rng, params)
    opens = _draw_opens(rng, users, days, start_s, params)
    tasks, completions = _draw_tasks(rng, users, opens, end_s, params)
    impressions = _draw_impressions(rng, users, tips, opens, params, _task_arrays(tasks, completions))
    # Drawn from a generator of its own, so the draws above stay what they were before this trait existed.
    users["notifications_enabled"] = np.random.default_rng([seed, 1]).random(n_users) < params.notifications_on_share
    return Drawn(tag=run_tag(seed, n_users, days, start), users=users, tips=tips, opens=opens, tasks=tasks,
                 completions=completions, impressions=impressions, start_s=start_s)
