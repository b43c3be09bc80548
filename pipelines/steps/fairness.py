"""Fairness checks: the model's metrics per user slice, the largest gap, and thresholds that fail the run.

Slices are new vs tenured users, platform and timezone band. A slice too small to measure is reported but
never gated, so a handful of desktop impressions cannot fail (or pass) a run on noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from contracts.gates import MAX_SLICE_AUC_GAP, MIN_SLICE_AUC, MIN_SLICE_SIZE
from pipelines.errors import FairnessGateError
from pipelines.steps.metrics import auc, binary_log_loss, expected_calibration_error
from pipelines.steps.train import LABEL

SLICE_COLUMNS: Final[dict[str, str]] = {
    "tenure": "slice_tenure",
    "platform": "slice_platform",
    "timezone_band": "slice_tz_band",
}


@dataclass(frozen=True, slots=True)
class FairnessThresholds:
    """What fails a run."""

    max_auc_gap: float = MAX_SLICE_AUC_GAP
    min_slice_auc: float = MIN_SLICE_AUC
    min_slice_size: int = MIN_SLICE_SIZE


def tz_band(offset_minutes: float | None) -> str:
    """Coarse timezone band from a UTC offset: the Americas, Europe/Africa, Asia-Pacific."""
    if offset_minutes is None or (isinstance(offset_minutes, float) and math.isnan(offset_minutes)):
        return "unknown"
    hours = offset_minutes / 60.0
    if hours <= -3:
        return "americas"
    if hours < 4:
        return "emea"
    return "apac"


def slice_report(frame: pd.DataFrame, probs: np.ndarray[Any, Any], thresholds: FairnessThresholds) -> dict[str, Any]:
    """Per slicing dimension: each slice's n, positive rate, AUC, log loss and ECE; the gap; failures."""
    report: dict[str, Any] = {"thresholds": vars_of(thresholds), "dimensions": {}, "failures": []}
    y = frame[LABEL].to_numpy()
    for dim, column in SLICE_COLUMNS.items():
        slices: dict[str, dict[str, float]] = {}
        values = frame[column].astype(str).to_numpy() if column in frame else np.full(len(frame), "unknown")
        for value in sorted({str(v) for v in values}):
            mask = values == value
            slices[value] = {
                "n": int(mask.sum()),
                "positive_rate": float(y[mask].mean()) if mask.any() else math.nan,
                "auc": auc(y[mask], probs[mask]),
                "log_loss": binary_log_loss(y[mask], probs[mask]),
                "ece": expected_calibration_error(y[mask], probs[mask]),
            }
        gated = {k: v for k, v in slices.items() if v["n"] >= thresholds.min_slice_size and not math.isnan(v["auc"])}
        aucs = [v["auc"] for v in gated.values()]
        gap = (max(aucs) - min(aucs)) if len(aucs) >= 2 else 0.0
        report["dimensions"][dim] = {"slices": slices, "gated_slices": sorted(gated), "largest_auc_gap": gap}
        if gap > thresholds.max_auc_gap:
            report["failures"].append(f"{dim}: AUC gap {gap:.3f} > {thresholds.max_auc_gap}")
        for name, v in gated.items():
            if v["auc"] < thresholds.min_slice_auc:
                report["failures"].append(f"{dim}={name}: AUC {v['auc']:.3f} < {thresholds.min_slice_auc}")
    report["passed"] = not report["failures"]
    return report


def vars_of(thresholds: FairnessThresholds) -> dict[str, float]:
    """Thresholds as a plain dict for the report."""
    return {
        "max_auc_gap": thresholds.max_auc_gap,
        "min_slice_auc": thresholds.min_slice_auc,
        "min_slice_size": thresholds.min_slice_size,
    }


def enforce(report: dict[str, Any]) -> None:
    """Fail the run when any fairness threshold failed."""
    if report["failures"]:
        raise FairnessGateError("fairness checks failed: " + "; ".join(report["failures"]))
