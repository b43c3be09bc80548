"""The reward tally behind the consumers' reward counters: once per impression, and not for old rows."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import timedelta
from pathlib import Path

from test_reward_log import T0, reaction, shown

from contracts.enums import Reaction
from experiments.reward_log import RewardTally, ensure_schema, write_events
from experiments.sqlite_db import connect, transaction


def write(conn: sqlite3.Connection, *events: object) -> RewardTally:
    tally = RewardTally()
    with transaction(conn):
        write_events(conn, events, tally)  # type: ignore[arg-type]
    return tally


def test_a_flip_back_to_positive_is_not_counted_twice(tmp_path: Path) -> None:
    conn = connect(tmp_path / "s.db")
    ensure_schema(conn)
    first = write(conn, shown(1), reaction(1, Reaction.LIKED, at=T0))
    assert first.shown == Counter({("m1", "v1"): 1}) and first.positive == Counter({("m1", "v1"): 1})
    later = write(
        conn,
        reaction(1, Reaction.DISMISSED, at=T0 + timedelta(minutes=1)),
        reaction(1, Reaction.ACTED, at=T0 + timedelta(minutes=2)),
        shown(1, eid="s-1-again"),
    )
    assert later == RewardTally()


def test_rows_from_before_the_tally_count_as_tallied(tmp_path: Path) -> None:
    conn = connect(tmp_path / "s.db")
    ensure_schema(conn)
    write(conn, shown(1), reaction(1, Reaction.LIKED, at=T0), shown(2))
    conn.execute("ALTER TABLE reward_log DROP COLUMN shown_counted")
    conn.execute("ALTER TABLE reward_log DROP COLUMN positive_counted")
    ensure_schema(conn)  # an older database: the columns are added and its rows marked
    tally = write(conn, reaction(1, Reaction.ACTED, at=T0 + timedelta(minutes=1)),
                  reaction(2, Reaction.LIKED, at=T0 + timedelta(minutes=1)), shown(3, prompt=None))
    assert tally.shown == Counter({("m1", ""): 1}) and tally.positive == Counter({("m1", "v1"): 1})
