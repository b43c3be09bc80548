"""The exposure record survives the level a cluster runs the generator at (WARNING)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from predictors.common.server import quiet_logs
from predictors.generator.service import EXPOSURE_LOGGER, exposure_log, keep_exposure_log


@pytest.fixture
def warning_server() -> Iterator[None]:
    """Loggers as ``serve`` leaves them at ``log_level=WARNING``, restored afterwards."""
    root = logging.getLogger()
    saved = root.level, exposure_log.level
    root.setLevel(logging.WARNING)
    quiet_logs("WARNING")
    exposure_log.setLevel(logging.NOTSET)
    try:
        yield
    finally:
        root.setLevel(saved[0])
        exposure_log.setLevel(saved[1])


@pytest.mark.usefixtures("warning_server")
def test_exposure_lines_are_kept_at_warning() -> None:
    assert not exposure_log.isEnabledFor(logging.INFO), "the defect: at WARNING the exposure line was dropped"
    keep_exposure_log()
    assert logging.getLogger(EXPOSURE_LOGGER).isEnabledFor(logging.INFO)
    assert not logging.getLogger("predictors.generator").isEnabledFor(logging.INFO)
