"""``python -m feature_repo apply``: register the feature definitions in a production registry (``feast apply``).

Run once per release (the tipsml chart's Helm hook Job does it before the Pods that read the registry start):
the consumers and predictors open the registry ``TIPSML_FEAST_CONFIG`` names and never apply it themselves.
Idempotent: applying the same definitions again changes nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from feature_repo.config import apply_definitions, open_store_from_yaml


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and apply; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m feature_repo",
        description="Register tipsml's Feast definitions (entities, sources, feature views, the feature service) "
                    "in the registry a production feature_store.yaml names, as `feast apply` would.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    apply = sub.add_parser("apply", help="apply the definitions to the configured registry")
    apply.add_argument("--config", type=Path, default=os.environ.get("TIPSML_FEAST_CONFIG"),
                       help="feature_store.yaml to apply to (default: $TIPSML_FEAST_CONFIG)")
    args = parser.parse_args(argv)
    if args.config is None:
        parser.error("no feature_store.yaml: pass --config or set TIPSML_FEAST_CONFIG")
    if not args.config.is_file():
        parser.error(f"{args.config} is not a file")
    started = time.perf_counter()
    apply_definitions(open_store_from_yaml(args.config))
    print(f"feast apply: definitions registered from {args.config} in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
