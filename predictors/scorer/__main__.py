"""``python -m predictors.scorer``: the tip-scorer model server (settings from ``TIPSML_*`` env)."""

from __future__ import annotations

import sys

from contracts.runtime import apply_offline_switches


def main() -> int:
    """Read settings once, serve; a start-up error is one line on stderr and exit code 1."""
    apply_offline_switches()
    from predictors.scorer.errors import ScorerError
    from predictors.scorer.server import serve
    from predictors.scorer.settings import ScorerSettings

    settings = ScorerSettings()
    try:
        serve(settings)
    except ScorerError as e:
        print(f"tip-scorer: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
