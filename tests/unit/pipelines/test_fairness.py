from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.errors import FairnessGateError
from pipelines.steps.fairness import FairnessThresholds, enforce, slice_report, tz_band


def _frame(n: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "label": rng.integers(0, 2, n),
            "slice_tenure": np.where(np.arange(n) % 2 == 0, "new", "tenured"),
            "slice_platform": "ios",
            "slice_tz_band": "emea",
        }
    )


def test_tz_bands() -> None:
    assert [tz_band(v) for v in (-480, -180, 0, 120, 330, 540, None)] == [
        "americas",
        "americas",
        "emea",
        "emea",
        "apac",
        "apac",
        "unknown",
    ]


def test_a_model_good_for_one_slice_only_fails_the_gap_threshold() -> None:
    rng = np.random.default_rng(0)
    frame = _frame(2000, rng)
    y = frame["label"].to_numpy()
    noise = rng.random(len(frame))
    # tenured rows get the label as score (AUC 1), new rows get noise (AUC ~0.5)
    probs = np.where(frame["slice_tenure"] == "tenured", 0.2 + 0.6 * y, noise)
    report = slice_report(frame, probs, FairnessThresholds(max_auc_gap=0.15, min_slice_auc=0.4, min_slice_size=100))
    tenure = report["dimensions"]["tenure"]
    assert tenure["slices"]["tenured"]["auc"] == 1.0
    assert tenure["largest_auc_gap"] > 0.4
    assert not report["passed"] and any(f.startswith("tenure: AUC gap") for f in report["failures"])
    with pytest.raises(FairnessGateError, match="tenure"):
        enforce(report)


def test_small_slices_are_reported_but_not_gated() -> None:
    rng = np.random.default_rng(1)
    frame = _frame(300, rng)
    frame.loc[:9, "slice_platform"] = "desktop"
    y = frame["label"].to_numpy()
    probs = np.where(frame["slice_platform"] == "desktop", 1 - y, y).astype(float)
    report = slice_report(frame, probs, FairnessThresholds(min_slice_size=50, min_slice_auc=0.6))
    platform = report["dimensions"]["platform"]
    assert platform["slices"]["desktop"]["n"] == 10
    assert platform["gated_slices"] == ["ios"]
    assert not any("desktop" in f for f in report["failures"])
