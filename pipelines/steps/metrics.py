"""Offline ranking and calibration metrics, computed the same way for the model and every baseline."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score

FloatArray = npt.NDArray[np.float64]
EPS = 1e-6


@dataclass(frozen=True, slots=True)
class Scores:
    """The four headline metrics of one scorer on one dataset."""

    auc: float
    log_loss: float
    ece: float
    ndcg_at_5: float
    n: int

    def as_dict(self) -> dict[str, float]:
        """Plain floats for JSON, MLflow and the model card."""
        return {k: float(v) for k, v in asdict(self).items()}


def auc(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """ROC AUC; NaN when only one class is present (a slice can be all negatives)."""
    y = np.asarray(labels)
    if y.size == 0 or np.unique(y).size < 2:
        return math.nan
    return float(roc_auc_score(y, np.asarray(scores, dtype=np.float64)))


def binary_log_loss(labels: npt.ArrayLike, probs: npt.ArrayLike) -> float:
    """Log loss with probabilities clipped away from 0 and 1."""
    y = np.asarray(labels)
    if y.size == 0:
        return math.nan
    p = np.clip(np.asarray(probs, dtype=np.float64), EPS, 1 - EPS)
    return float(log_loss(y, p, labels=[0, 1]))


def expected_calibration_error(labels: npt.ArrayLike, probs: npt.ArrayLike, bins: int = 10) -> float:
    """ECE: the count-weighted gap between mean prediction and positive rate over equal-width bins."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(probs, dtype=np.float64)
    if y.size == 0:
        return math.nan
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            total += float(mask.sum()) * abs(float(p[mask].mean()) - float(y[mask].mean()))
    return total / y.size


def ndcg_per_group(request_ids: npt.ArrayLike, labels: npt.ArrayLike, scores: npt.ArrayLike, k: int = 5) -> pd.Series:
    """NDCG@k of each group (request) that has at least one positive (others have no ideal ranking).

    Ties in score are broken by a stable sort on the original order, so the figure is deterministic.
    """
    frame = pd.DataFrame(
        {"r": np.asarray(request_ids), "y": np.asarray(labels, dtype=np.float64), "s": np.asarray(scores)}
    )
    frame = frame[frame.groupby("r")["y"].transform("sum") > 0]
    if frame.empty:
        return pd.Series(dtype=np.float64)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    frame = frame.sort_values(["r", "s"], ascending=[True, False], kind="stable")
    frame["rank"] = frame.groupby("r").cumcount()
    top = frame[frame["rank"] < k]
    dcg = (top["y"] * discounts[top["rank"].to_numpy()]).groupby(top["r"]).sum()
    ideal = frame.sort_values(["r", "y"], ascending=[True, False], kind="stable")
    ideal["rank"] = ideal.groupby("r").cumcount()
    itop = ideal[ideal["rank"] < k]
    idcg = (itop["y"] * discounts[itop["rank"].to_numpy()]).groupby(itop["r"]).sum()
    result: pd.Series = dcg / idcg
    return result


def ndcg_at_k(request_ids: npt.ArrayLike, labels: npt.ArrayLike, scores: npt.ArrayLike, k: int = 5) -> float:
    """Mean NDCG@k over groups that have at least one positive."""
    per_group = ndcg_per_group(request_ids, labels, scores, k)
    return float(per_group.mean()) if len(per_group) else math.nan


def paired_delta(
    groups: npt.ArrayLike,
    labels: npt.ArrayLike,
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    n_boot: int = 200,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """AUC and NDCG@5 of scorer ``a`` minus scorer ``b``, with a 95 % interval from a group bootstrap.

    Groups (requests or users) are resampled whole, so correlated rows of one user move together and
    the interval is honest about how many independent units the test window really holds.
    """
    g = np.asarray(groups)
    y = np.asarray(labels)
    pa, pb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    codes, uniques = pd.factorize(g)
    rng = np.random.default_rng(seed)
    per_a, per_b = ndcg_per_group(g, y, pa), ndcg_per_group(g, y, pb)
    nd = (per_a - per_b).to_numpy()
    rows_of = pd.Series(np.arange(len(g))).groupby(codes).apply(np.asarray).to_dict()
    auc_deltas, ndcg_deltas = [], []
    for _ in range(n_boot):
        pick = rng.integers(0, len(uniques), len(uniques))
        idx = np.concatenate([rows_of[c] for c in pick])
        auc_deltas.append(auc(y[idx], pa[idx]) - auc(y[idx], pb[idx]))
        if nd.size:
            ndcg_deltas.append(float(nd[rng.integers(0, nd.size, nd.size)].mean()))

    def summary(point: float, samples: list[float]) -> dict[str, float]:
        clean = [s for s in samples if not math.isnan(s)]
        lo, hi = np.percentile(clean, [2.5, 97.5]) if clean else (math.nan, math.nan)
        return {"delta": point, "ci95_low": float(lo), "ci95_high": float(hi)}

    return {
        "auc": summary(auc(y, pa) - auc(y, pb), auc_deltas),
        "ndcg_at_5": summary(float(nd.mean()) if nd.size else math.nan, ndcg_deltas),
    }


def score_all(request_ids: npt.ArrayLike, labels: npt.ArrayLike, probs: npt.ArrayLike) -> Scores:
    """Every headline metric for one scorer."""
    y = np.asarray(labels)
    return Scores(
        auc=auc(y, probs),
        log_loss=binary_log_loss(y, probs),
        ece=expected_calibration_error(y, probs),
        ndcg_at_5=ndcg_at_k(request_ids, y, probs, k=5),
        n=int(y.size),
    )
