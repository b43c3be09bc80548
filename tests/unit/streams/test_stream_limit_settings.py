"""Stream limits are settings: read once from ``TIPSML_STREAM_*``, checked against the idempotency memory."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from streams.settings import ConsumerSettings
from streams.topology import DEFAULT_MAX_BYTES, StreamLimits
from tipsml.stack.settings import StackSettings


def test_defaults_are_one_gib_and_seven_days() -> None:
    assert ConsumerSettings().stream_limits == StreamLimits()
    assert StreamLimits().max_bytes == DEFAULT_MAX_BYTES == 1024**3
    assert StreamLimits().max_age_seconds == 7 * 24 * 3600


def test_the_chart_s_human_sizes_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIPSML_STREAM_MAX_BYTES", "4GiB")
    monkeypatch.setenv("TIPSML_STREAM_MAX_AGE_HOURS", "24")
    for settings in (ConsumerSettings(), StackSettings()):
        assert settings.stream_limits.max_bytes == 4 * 1024**3
        assert settings.stream_limits.max_age_seconds == 24 * 3600


def test_streams_kept_longer_than_the_idempotency_memory_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIPSML_STREAM_MAX_AGE_HOURS", str(15 * 24))
    with pytest.raises(ValidationError, match="applied_ids_retention_hours must exceed"):
        ConsumerSettings()


def test_a_size_without_a_number_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIPSML_STREAM_MAX_BYTES", "lots")
    with pytest.raises(ValidationError, match="stream_max_bytes"):
        ConsumerSettings()
