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


def apply_offline_switches() -> None:
    """Set the switches that keep libraries from reaching the internet."""
    for key, value in OFFLINE_SWITCHES.items():
        os.environ.setdefault(key, value)
