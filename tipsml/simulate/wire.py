"""Drawn arrays to wire-format JSON lines, time-ordered, without building a pydantic model per event.

Every string that goes into a line is either an id we make, an enum value or a title from the fixed
vocabulary (JSON-escaped once), so each line is one f-string. Tests parse samples through
``contracts.events.parse_event`` to keep this honest against the contract.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from contracts.enums import Reaction, TaskStatus
from tipsml.simulate.generate import FLAT_TITLES, Drawn
from tipsml.simulate.model import CATEGORIES, LOGGING_MODEL_VERSION, PRIORITIES, PROMPT_VERSIONS, IntArray

EVENT_TYPES: Final[tuple[tuple[str, str], ...]] = (
    ("app_opened", "signals.app_opened"),
    ("task_synced", "signals.task_synced"),
    ("task_completed", "signals.task_completed"),
    ("tip_shown", "feedback.tip_shown"),
    ("tip_reaction", "feedback.tip_reaction"),
)
"""(type, subject) in the order that breaks ties between events of the same second."""

SUBJECTS: Final[tuple[str, ...]] = tuple(s for _, s in EVENT_TYPES)
_STATUS: Final = (TaskStatus.OPEN.value, TaskStatus.IN_PROGRESS.value, TaskStatus.DONE.value)
_REACTIONS: Final = tuple(r.value for r in (Reaction.LIKED, Reaction.ACTED, Reaction.DISMISSED,
                                             Reaction.SNOOZED))
_APP_VERSION: Final = {"ios": "4.12.0", "android": "4.12.1", "web": "2026.10", "desktop": "1.8.3"}


@dataclass(frozen=True, slots=True)
class EventLog:
    """All events of a run in time order: parallel columns, one entry per event."""

    t: IntArray
    """Epoch second of ``occurred_at``."""
    kind: npt.NDArray[np.int8]
    """Index into :data:`EVENT_TYPES`."""
    event_ids: list[str]
    lines: list[str]
    """One JSON object each, no trailing newline."""

    def __len__(self) -> int:
        return len(self.lines)

    def counts(self) -> dict[str, int]:
        """Events per subject."""
        per = np.bincount(self.kind, minlength=len(EVENT_TYPES))
        return {subject: int(per[k]) for k, subject in enumerate(SUBJECTS)}


def iso(t: IntArray) -> list[str]:
    """Epoch seconds to ``YYYY-MM-DDTHH:MM:SSZ`` strings (UTC, timezone-aware on the wire)."""
    return [s + "Z" for s in np.datetime_as_string(t.astype("datetime64[s]"), unit="s").tolist()]


def _opt(values: list[str], mask: npt.NDArray[np.bool_]) -> list[str]:
    """JSON values: quoted strings where ``mask`` is true, ``null`` elsewhere."""
    return [f'"{v}"' if m else "null" for v, m in zip(values, mask.tolist(), strict=True)]


def profile_snapshots(d: Drawn) -> list[str]:
    """The ``profile_features`` the recommender sends with each impression's scoring call, as JSON objects.

    The simulated recommender computes what it can from its own records: account age (``tenure_days``),
    whether push notifications are on, and how many tips it showed the user in the 7 days before. It leaves
    the rest out, as a recommender may; the scorer fills those from our feature values.
    """
    im = d.impressions
    signup_s = d.start_s + d.users["signup_day"].to_numpy()[im.user] * 86_400
    tenure = np.maximum(0, (im.t - signup_s) // 86_400).tolist()
    notify = d.users["notifications_enabled"].to_numpy()[im.user].tolist()
    return [
        f'{{"tenure_days":{te},"notifications_enabled":{"true" if on else "false"},"tip_volume_7d":{v}}}'
        for te, on, v in zip(tenure, notify, im.tips_7d.tolist(), strict=True)
    ]


def build_event_log(d: Drawn) -> EventLog:
    """Format every drawn event and sort them by (time, type, index)."""
    tag = d.tag
    uids: list[str] = d.users["user_id"].tolist()
    platforms: list[str] = d.users["platform"].tolist()
    tz: list[int] = d.users["tz_offset_minutes"].tolist()
    tip_ids: list[str] = d.tips["tip_id"].tolist()
    tip_cats: list[str] = d.tips["category"].tolist()
    cats = [c.value for c in CATEGORIES]
    prios = [p.value for p in PRIORITIES]
    titles = [json.dumps(t) for t in FLAT_TITLES]
    pvs = [f'"{v}"' for v in PROMPT_VERSIONS] + ["null"]
    on_time = ("null", "false", "true")

    o = d.opens
    opened = [
        f'{{"event_id":"{tag}.ao{i}","type":"app_opened","occurred_at":"{ts}","user_id":"{uids[u]}",'
        f'"schema_version":1,"platform":"{platforms[u]}","tz_offset_minutes":{tz[u]},'
        f'"app_version":"{_APP_VERSION[platforms[u]]}"}}'
        for i, (u, ts) in enumerate(zip(o.user.tolist(), iso(o.t), strict=True))
    ]
    s = d.tasks
    dues = _opt(iso(np.maximum(s.due, 0)), s.due >= 0)
    synced = [
        f'{{"event_id":"{tag}.ts{i}","type":"task_synced","occurred_at":"{ts}","user_id":"{uids[u]}",'
        f'"schema_version":1,"task_id":"{tag}.t{k}","status":"{_STATUS[st]}","priority":"{prios[pr]}",'
        f'"category":"{cats[c]}","title":{titles[ti]},"due_at":{due}}}'
        for i, (u, ts, k, st, pr, c, ti, due) in enumerate(zip(
            s.user.tolist(), iso(s.t), s.task.tolist(), s.status.tolist(), s.priority.tolist(),
            s.category.tolist(), s.title.tolist(), dues, strict=True))
    ]
    c_ = d.completions
    completed = [
        f'{{"event_id":"{tag}.tc{i}","type":"task_completed","occurred_at":"{ts}","user_id":"{uids[u]}",'
        f'"schema_version":1,"task_id":"{tag}.t{k}","category":"{cats[c]}","on_time":{on_time[ot + 1]}}}'
        for i, (u, ts, k, c, ot) in enumerate(zip(
            c_.user.tolist(), iso(c_.t), c_.task.tolist(), c_.category.tolist(), c_.on_time.tolist(),
            strict=True))
    ]
    im = d.impressions
    shown = [
        f'{{"event_id":"{tag}.sh{i}","type":"tip_shown","occurred_at":"{ts}","user_id":"{uids[u]}",'
        f'"schema_version":1,"request_id":"{tag}.r{i}","tip_id":"{tip_ids[tp]}","category":"{tip_cats[tp]}",'
        f'"model_version":"{LOGGING_MODEL_VERSION}","prompt_version":{pvs[pv]},"propensity":{pr!r},'
        f'"position":0,"platform":"{platforms[u]}","profile_features":{profile}}}'
        for i, (u, ts, tp, pv, pr, profile) in enumerate(zip(
            im.user.tolist(), iso(im.t), im.tip.tolist(), im.prompt.tolist(), im.propensity.tolist(),
            profile_snapshots(d), strict=True))
    ]
    reacted = np.flatnonzero(im.reaction >= 0)
    reactions = [
        f'{{"event_id":"{tag}.re{i}","type":"tip_reaction","occurred_at":"{ts}","user_id":"{uids[u]}",'
        f'"schema_version":1,"request_id":"{tag}.r{i}","tip_id":"{tip_ids[tp]}","reaction":"{_REACTIONS[r]}",'
        f'"model_version":"{LOGGING_MODEL_VERSION}","prompt_version":{pvs[pv]}}}'
        for i, u, ts, tp, r, pv in zip(
            reacted.tolist(), im.user[reacted].tolist(), iso(im.reaction_t[reacted]),
            im.tip[reacted].tolist(), im.reaction[reacted].tolist(), im.prompt[reacted].tolist(), strict=True)
    ]
    parts: list[tuple[IntArray, list[str], list[str]]] = [
        (o.t, opened, [f"{tag}.ao{i}" for i in range(len(opened))]),
        (s.t, synced, [f"{tag}.ts{i}" for i in range(len(synced))]),
        (c_.t, completed, [f"{tag}.tc{i}" for i in range(len(completed))]),
        (im.t, shown, [f"{tag}.sh{i}" for i in range(len(shown))]),
        (im.reaction_t[reacted], reactions, [f"{tag}.re{i}" for i in reacted.tolist()]),
    ]
    t = np.concatenate([p[0] for p in parts])
    kind = np.concatenate([np.full(len(p[1]), k, dtype=np.int8) for k, p in enumerate(parts)])
    index = np.concatenate([np.arange(len(p[1]), dtype=np.int64) for p in parts])
    order = np.lexsort((index, kind, t))
    all_lines = [line for p in parts for line in p[1]]
    all_ids = [e for p in parts for e in p[2]]
    order_list = order.tolist()
    return EventLog(t=t[order], kind=kind[order], event_ids=[all_ids[i] for i in order_list],
                    lines=[all_lines[i] for i in order_list])
