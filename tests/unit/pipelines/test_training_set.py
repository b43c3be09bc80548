from __future__ import annotations

import pandas as pd
import pytest

from pipelines.errors import NoDataError
from pipelines.steps.training_set import add_slices, label_impressions, split_by_time

T = pd.Timestamp("2026-10-10 12:00", tz="UTC")


def _events(rows: list[tuple[str, str, str, pd.Timestamp]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"type": "tip_reaction", "request_id": r, "tip_id": "t", "reaction": x, "occurred_at": at}
            for r, _, x, at in rows
        ]
        + [
            {
                "type": "app_opened",
                "request_id": None,
                "tip_id": None,
                "reaction": None,
                "occurred_at": T + pd.Timedelta(days=5),
            }
        ]
    )


def _impressions(*requests: tuple[str, pd.Timestamp]) -> pd.DataFrame:
    return pd.DataFrame([{"request_id": r, "tip_id": "t", "event_timestamp": at} for r, at in requests])


def test_labels_count_positive_reactions_inside_the_window_only() -> None:
    events = _events(
        [
            ("in", "", "liked", T + pd.Timedelta(hours=2)),
            ("late", "", "acted", T + pd.Timedelta(hours=30)),
            ("negative", "", "dismissed", T + pd.Timedelta(minutes=1)),
            ("before", "", "liked", T - pd.Timedelta(minutes=1)),
        ]
    )
    labelled = label_impressions(
        events, _impressions(("in", T), ("late", T), ("negative", T), ("before", T), ("none", T)), 24.0
    )
    assert dict(zip(labelled["request_id"], labelled["label"], strict=True)) == {
        "in": 1,
        "late": 0,
        "negative": 0,
        "before": 0,
        "none": 0,
    }


def test_impressions_whose_window_has_not_closed_are_dropped_not_negative() -> None:
    events = _events([])
    labelled = label_impressions(events, _impressions(("old", T), ("fresh", T + pd.Timedelta(days=4, hours=12))), 24.0)
    assert list(labelled["request_id"]) == ["old"]


def test_slices_and_time_split() -> None:
    start = T - pd.Timedelta(days=20)
    frame = pd.DataFrame(
        {
            "event_timestamp": [T - pd.Timedelta(days=d) for d in (10, 5, 1, 0)],
            "first_seen_at": [start, start, T - pd.Timedelta(days=3), T - pd.Timedelta(days=3)],
            "platform": ["ios", None, "web", "web"],
            "tz_offset_minutes": [-300, 60, 540, None],
            "label": [0, 1, 0, 1],
        }
    )
    sliced = add_slices(frame, start, new_user_days=14)
    assert list(sliced["slice_tenure"]) == ["tenured", "tenured", "new", "new"]
    assert list(sliced["slice_platform"]) == ["ios", "unknown", "web", "web"]
    assert list(sliced["slice_tz_band"]) == ["americas", "emea", "apac", "unknown"]
    split = split_by_time(sliced, 0.25)
    assert split.train["event_timestamp"].max() < split.split_at <= split.test["event_timestamp"].min()
    with pytest.raises(NoDataError):
        split_by_time(sliced.head(0), 0.25)
