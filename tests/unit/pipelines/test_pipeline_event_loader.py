"""The event loader reads the ingestion log (Parquet + payload JSON) and the simulator's JSON lines alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from contracts.enums import Platform, Reaction, TaskCategory, TaskStatus
from contracts.events import AppOpened, EventBase, TaskSynced, TipReaction, TipShown, dump_event
from pipelines.errors import NoDataError
from pipelines.steps.events import load_events
from streams.event_log import LoggedEvent, final_name, publish, write_tmp

T = datetime(2026, 10, 1, 23, 59, tzinfo=UTC)
EVENTS: list[EventBase] = [
    AppOpened(event_id="a1", occurred_at=T, user_id="u1", platform=Platform.IOS, tz_offset_minutes=-300),
    TaskSynced(
        event_id="k1",
        occurred_at=T + timedelta(minutes=1),
        user_id="u1",
        task_id="t",
        title="private",
        status=TaskStatus.OPEN,
        category=TaskCategory.HOME,
        due_at=T + timedelta(days=1),
    ),
    TipShown(
        event_id="s1",
        occurred_at=T + timedelta(minutes=2),
        user_id="u1",
        request_id="r1",
        tip_id="tip-1",
        category=TaskCategory.HOME,
        model_version="m1",
        propensity=0.25,
    ),
    TipReaction(
        event_id="x1",
        occurred_at=T + timedelta(minutes=3),
        user_id="u1",
        request_id="r1",
        tip_id="tip-1",
        reaction=Reaction.ACTED,
    ),
]


def _check(frame: pd.DataFrame) -> None:
    assert list(frame["event_id"]) == ["a1", "k1", "s1", "x1"]
    assert frame.loc[0, "tz_offset_minutes"] == -300 and frame.loc[0, "platform"] == "ios"
    assert frame.loc[1, "due_at"] == pd.Timestamp(T + timedelta(days=1)) and frame.loc[1, "status"] == "open"
    assert frame.loc[2, "propensity"] == 0.25 and frame.loc[3, "reaction"] == "acted"
    assert "title" not in frame.columns
    assert str(frame["occurred_at"].dt.tz) == "UTC"


def test_reads_the_ingestion_parquet_log_with_its_payload_column(tmp_path: Path) -> None:
    logged = [LoggedEvent(event=e, subject="s", stream_seq=i, raw=dump_event(e)) for i, e in enumerate(EVENTS)]
    tmp = write_tmp(tmp_path, "b1", logged)
    publish(tmp)
    assert all(final_name(p).exists() for p in tmp)
    assert len(list(tmp_path.glob("date=*"))) == 2  # the events straddle midnight
    _check(load_events(tmp_path))


def test_reads_jsonl_and_applies_each_event_id_once(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(dump_event(e) for e in [*EVENTS, EVENTS[2]]) + b"\n")
    _check(load_events(path))
    _check(load_events(tmp_path))


def test_an_empty_or_missing_log_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NoDataError, match="no event log"):
        load_events(tmp_path / "missing")
