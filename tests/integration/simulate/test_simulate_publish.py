"""Publishing a run to a real JetStream: counts per subject land, a re-publish is dropped as duplicates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from typer.testing import CliRunner

from contracts.events import parse_event
from contracts.streams import FEEDBACK_STREAM, SIGNALS_STREAM
from tests.conftest import NatsServer
from tipsml.cli.main import app
from tipsml.simulate import simulate
from tipsml.simulate.errors import PublishError
from tipsml.simulate.publish import publish_events
from tipsml.stack.processes import free_port

pytestmark = pytest.mark.integration


async def _subject_counts(js: JetStreamContext) -> dict[str, int]:
    counts: dict[str, int] = {}
    for stream, subjects in ((SIGNALS_STREAM, "signals.>"), (FEEDBACK_STREAM, "feedback.>")):
        info = await js.stream_info(stream, subjects_filter=subjects)
        counts.update(info.state.subjects or {})
    return counts


async def test_publish_lands_every_event_on_its_subject_and_dedups_a_republish(
    jetstream: JetStreamContext, nats_server: NatsServer
) -> None:
    sim = simulate(users=200, days=3, seed=9)
    expected = sim.events.counts()

    first = await publish_events(sim.events, nats_server.url, window=500)
    assert first.stored == expected
    assert sum(first.duplicate.values()) == 0
    assert await _subject_counts(jetstream) == expected

    again = await publish_events(simulate(users=200, days=3, seed=9).events, nats_server.url)
    assert again.duplicate == expected
    assert sum(again.stored.values()) == 0
    assert await _subject_counts(jetstream) == expected

    msg = await jetstream.get_last_msg(FEEDBACK_STREAM, "feedback.tip_shown")
    event = parse_event(msg.data)
    assert msg.headers is not None and msg.headers["Nats-Msg-Id"] == event.event_id


async def test_publish_to_unreachable_nats_says_so() -> None:
    sim = simulate(users=3, days=1, seed=0)
    with pytest.raises(PublishError, match="cannot connect"):
        await publish_events(sim.events, f"nats://127.0.0.1:{free_port()}", connect_timeout=1.0)


def test_cli_publishes_and_prints_counts_per_subject(
    jetstream: JetStreamContext, nats_server: NatsServer, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app, ["simulate", "--users", "50", "--days", "2", "--seed", "4", "--publish", "--out", str(tmp_path)],
        env={"TIPSML_NATS_URL": nats_server.url, "COLUMNS": "160"},
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    for subject, count in manifest["counts"].items():
        assert subject in result.output
        assert f"{count:,}" in result.output
    assert (tmp_path / "events.jsonl").read_text().count("\n") == manifest["events"]
    assert {p.name for p in tmp_path.iterdir()} == {
        "events.jsonl", "users.parquet", "tips.parquet", "truth.parquet", "manifest.json"
    }


def test_cli_reports_unreachable_nats_without_traceback() -> None:
    result = CliRunner().invoke(
        app, ["simulate", "--users", "5", "--days", "1", "--publish", "--nats-url", f"nats://127.0.0.1:{free_port()}"]
    )
    assert result.exit_code == 1
    assert "cannot connect" in result.output
    assert "Traceback" not in result.output
