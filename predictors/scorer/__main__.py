"""``python -m predictors.scorer``: the tip-scorer model server (settings from ``TIPSML_*`` env)."""

from __future__ import annotations

import sys

from contracts.names import SCORER_MODEL
from contracts.runtime import apply_offline_switches
from predictors.common.entry import run_server
from predictors.scorer.settings import ScorerSettings


def run(settings: ScorerSettings) -> int:
    """Serve until stopped; a start-up error is one line on stderr and exit code 1."""
    from predictors.scorer.workers import share_metrics

    if settings.processes > 1:
        share_metrics()  # before KServe and our metrics module create their series (imported below)
    from predictors.scorer.errors import ScorerError
    from predictors.scorer.server import serve

    return run_server(SCORER_MODEL, serve, settings, ScorerError)


def main() -> int:
    """Read settings once from ``TIPSML_*`` env and serve."""
    apply_offline_switches()
    return run(ScorerSettings())


if __name__ == "__main__":
    sys.exit(main())
