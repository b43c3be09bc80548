"""``python -m predictors.generator``: the tip-generator model server (settings from env)."""

from __future__ import annotations

import sys

from contracts.runtime import apply_offline_switches


def main() -> int:
    """Read settings once, serve; a start-up error is one line on stderr and exit code 1."""
    apply_offline_switches()
    from predictors.generator.errors import GeneratorError
    from predictors.generator.server import serve
    from predictors.generator.settings import GeneratorSettings

    settings = GeneratorSettings()
    try:
        serve(settings)
    except GeneratorError as e:
        print(f"tip-generator: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
