"""``python -m predictors.generator``: the tip-generator model server (settings from env)."""

from __future__ import annotations

import sys

from contracts.names import GENERATOR_MODEL
from contracts.runtime import apply_offline_switches
from predictors.common.entry import run_server
from predictors.generator.settings import GeneratorSettings


def run(settings: GeneratorSettings) -> int:
    """Serve until stopped; a start-up error is one line on stderr and exit code 1."""
    from predictors.generator.errors import GeneratorError
    from predictors.generator.server import serve

    return run_server(GENERATOR_MODEL, serve, settings, GeneratorError)


def main() -> int:
    """Read settings once (``TIPSML_GENERATOR_*`` env) and serve."""
    apply_offline_switches()
    return run(GeneratorSettings())


if __name__ == "__main__":
    sys.exit(main())
