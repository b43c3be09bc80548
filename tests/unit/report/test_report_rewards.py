from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from contracts.enums import Reaction, TaskCategory
from contracts.events import TipReaction, TipShown
from experiments.reward_log import RewardLog
from tipsml.cli.report import app
from tipsml.report.rewards import wilson


def test_report_rewards_prints_table_and_writes_png(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    now = datetime.now(UTC)
    with RewardLog(db, synchronous="OFF") as log:
        events: list[TipShown | TipReaction] = []
        for i in range(30):
            version = ["v1", "v2", None][i % 3]
            common = {"user_id": f"u{i}", "request_id": f"r{i}", "tip_id": f"t{i}", "model_version": "m1"}
            events.append(
                TipShown(
                    event_id=f"s{i}",
                    occurred_at=now,
                    category=TaskCategory.HOME,
                    prompt_version=version,
                    **common,
                )
            )
            if i % 2 == 0:
                events.append(
                    TipReaction(event_id=f"x{i}", occurred_at=now, reaction=Reaction.ACTED, **common)
                )
        log.record(events)
    out = tmp_path / "rewards.png"
    result = CliRunner().invoke(app, ["rewards", "--db", str(db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "v1" in result.output and "v2" in result.output and "(catalogue)" in result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_wilson_interval_contains_rate() -> None:
    lo, hi = wilson(30, 100)
    assert lo < 0.3 < hi
    assert wilson(0, 0) == (0.0, 0.0)
