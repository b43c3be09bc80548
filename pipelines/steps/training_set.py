"""Training rows: ``tip_shown`` impressions, labelled by a positive reaction within a window, with slices.

Features are joined later by Feast at each impression's timestamp; labels come from reactions after it.
Impressions too close to the end of the log for their label window to have closed are dropped, not
counted as negatives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from contracts.enums import Reaction
from pipelines.errors import NoDataError
from pipelines.steps.fairness import tz_band
from pipelines.steps.feature_tables import TIMESTAMP
from pipelines.steps.train import LABEL

POSITIVE = tuple(r.value for r in Reaction if r.is_positive)
WARM_UP = timedelta(days=1)
"""Users first seen in the log's first day are taken as signed up before it (their tenure is unknown)."""


@dataclass(frozen=True, slots=True)
class Split:
    """Train and test rows split at one instant: everything before it trains, the rest tests."""

    train: pd.DataFrame
    test: pd.DataFrame
    split_at: datetime


def label_impressions(events: pd.DataFrame, impressions: pd.DataFrame, window_hours: float) -> pd.DataFrame:
    """``label`` = 1 when the impression got a liked/acted reaction within ``window_hours`` of it."""
    window = pd.Timedelta(hours=window_hours)
    reactions = events.loc[events["type"] == "tip_reaction", ["request_id", "tip_id", "reaction", "occurred_at"]]
    joined = impressions[["request_id", "tip_id", TIMESTAMP]].merge(reactions, on=["request_id", "tip_id"])
    delay = joined["occurred_at"] - joined[TIMESTAMP]
    hits = joined[joined["reaction"].isin(POSITIVE) & (delay >= pd.Timedelta(0)) & (delay <= window)]
    positive = set(zip(hits["request_id"], hits["tip_id"], strict=True))
    keys = zip(impressions["request_id"], impressions["tip_id"], strict=True)
    labelled = impressions.assign(**{LABEL: np.fromiter((k in positive for k in keys), dtype=np.int64)})
    log_end = events["occurred_at"].max()
    kept: pd.DataFrame = labelled[labelled[TIMESTAMP] + window <= log_end].reset_index(drop=True)
    return kept


def add_slices(frame: pd.DataFrame, log_start: pd.Timestamp, new_user_days: int) -> pd.DataFrame:
    """Fairness slice columns: tenure (new/tenured), platform and timezone band at impression time."""
    first = pd.to_datetime(frame["first_seen_at"], utc=True)
    age = frame[TIMESTAMP] - first
    is_new = (first > log_start + WARM_UP) & (age < pd.Timedelta(days=new_user_days))
    return frame.assign(
        slice_tenure=np.where(is_new, "new", "tenured"),
        slice_platform=frame["platform"].fillna("unknown").astype(str),
        slice_tz_band=[tz_band(None if pd.isna(v) else float(v)) for v in frame["tz_offset_minutes"]],
    )


def split_by_time(frame: pd.DataFrame, test_fraction: float) -> Split:
    """Hold out the latest ``test_fraction`` of the time range (a random split would leak the future)."""
    if frame.empty:
        raise NoDataError("no labelled impressions to train on")
    ts = frame[TIMESTAMP]
    split_at = ts.min() + (ts.max() - ts.min()) * (1 - test_fraction)
    train = frame[ts < split_at].reset_index(drop=True)
    test = frame[ts >= split_at].reset_index(drop=True)
    if train.empty or test.empty:
        raise NoDataError(f"time split at {split_at} leaves an empty side ({len(train)} / {len(test)} rows)")
    return Split(train=train, test=test, split_at=split_at.to_pydatetime())
