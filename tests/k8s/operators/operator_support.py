"""Helpers shared by the operator's k8s tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
GROUP = {"group": "tipsml.io", "version": "v1alpha1"}
PV = {**GROUP, "plural": "promptversions"}
MR = {**GROUP, "plural": "modelrollouts"}
ISVC = {"group": "serving.kserve.io", "version": "v1beta1", "plural": "inferenceservices"}


def wait_for(check: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}; last value: {last!r}")
