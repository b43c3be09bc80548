"""``python -m predictors.scorer``: the tip-scorer model server (settings from ``TIPSML_*`` env)."""

from __future__ import annotations

import sys

from contracts.runtime import apply_offline_switches
from predictors.scorer.settings import ScorerSettings


def run(settings: ScorerSettings) -> int:
    """Serve until stopped; a start-up error is one line on stderr and exit code 1."""
    from predictors.scorer.errors import ScorerError
    from predictors.scorer.server import serve

    try:
        serve(settings)
    except ScorerError as e:
        print(f"tip-scorer: {e}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    """Read settings once from ``TIPSML_*`` env and serve."""
    apply_offline_switches()
    return run(ScorerSettings())


if __name__ == "__main__":
    sys.exit(main())
