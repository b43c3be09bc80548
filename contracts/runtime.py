"""Offline switches every entry point applies before importing third-party libraries.

The one function in ``contracts`` that touches the process (its environment): entry points call it
explicitly, nothing runs at import. Values already set by the operator of the process win.
"""

from __future__ import annotations

import os
from typing import Final

OFFLINE_SWITCHES: Final[dict[str, str]] = {
    # MLflow would phone home with usage telemetry.
    "MLFLOW_DISABLE_TELEMETRY": "true",
    # LiteLLM fetches its model price map from the internet at import time unless told not to.
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    # Feast's usage reporting.
    "FEAST_USAGE": "False",
    "DO_NOT_TRACK": "1",
}


PROMETHEUS_MULTIPROC_VARS: Final = (
    "PROMETHEUS_MULTIPROCESS_DIR",
    "PROMETHEUS_MULTIPROC_DIR",
    "prometheus_multiproc_dir",
)


def apply_offline_switches() -> None:
    """Set the switches that keep libraries from reaching the internet, and keep metrics in-process.

    Importing Feast's metrics module points prometheus_client at a temporary multi-process directory (deleted
    at exit) unless one is set. prometheus_client picks its value class once, at import: importing it here,
    with any inherited multi-process variables removed, keeps every metric of ours in this process, so two
    registries never share counters and a child never writes into a dead parent's directory.
    """
    for key, value in OFFLINE_SWITCHES.items():
        os.environ.setdefault(key, value)
    for key in PROMETHEUS_MULTIPROC_VARS:
        os.environ.pop(key, None)
    import prometheus_client.values  # noqa: F401
