"""Evaluate the challenger on the held-out split against baselines, the champion and the oracle."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from pipelines.steps.fairness import FairnessThresholds, slice_report
from pipelines.steps.metrics import paired_delta, score_all
from pipelines.steps.train import LABEL, feature_matrix, popularity_scores, train_logistic


@dataclass(frozen=True, slots=True)
class Champion:
    """The current champion: its registry version and booster (scored on its own feature list)."""

    version: str
    booster: lgb.Booster


def predict(booster: lgb.Booster, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
    """Score a frame with a booster, using the booster's own feature names and order."""
    return np.asarray(booster.predict(feature_matrix(frame, booster.feature_name())), dtype=np.float64)


def evaluate(
    train: pd.DataFrame,
    test: pd.DataFrame,
    features: Sequence[str],
    booster: lgb.Booster,
    *,
    seed: int,
    thresholds: FairnessThresholds,
    champion: Champion | None = None,
    truth: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The evaluation report: metrics per scorer, gaps, the oracle comparison and fairness slices."""
    group = ranking_group(test)
    req, y = test[group].to_numpy(), test[LABEL].to_numpy()
    probs = predict(booster, test)
    report: dict[str, Any] = {"n_train": len(train), "n_test": len(test), "ndcg_group": group, "models": {}}
    report["models"]["challenger"] = score_all(req, y, probs).as_dict()
    pop_probs = popularity_scores(train, test)
    report["models"]["popularity"] = score_all(req, y, pop_probs).as_dict()
    logreg = train_logistic(train, features, seed)
    lr_probs = logreg.predict_proba(feature_matrix(test, features).to_numpy())[:, 1]
    report["models"]["logistic_regression"] = score_all(req, y, lr_probs).as_dict()
    versus = {"popularity": pop_probs, "logistic_regression": lr_probs}
    report["champion_version"] = None
    if champion is not None:
        try:
            champ_probs = predict(champion.booster, test)
        except Exception as e:  # noqa: BLE001 - a champion on other features is reported, not fatal
            report["champion_error"] = f"{type(e).__name__}: {e}"
        else:
            report["champion_version"] = champion.version
            report["models"]["champion"] = score_all(req, y, champ_probs).as_dict()
            versus["champion"] = champ_probs
    report["versus"] = {name: paired_delta(req, y, probs, other, seed=seed) for name, other in versus.items()}
    report["oracle"] = oracle_comparison(test, probs, truth, group)
    report["fairness"] = slice_report(test, probs, thresholds)
    ch = report["models"]["challenger"]
    report["beats_baselines"] = all(
        ch[m] > report["models"][b][m] for b in ("popularity", "logistic_regression") for m in ("auc", "ndcg_at_5")
    )
    return report


def ranking_group(test: pd.DataFrame) -> str:
    """What NDCG@5 ranks within: the request when requests hold several shown tips, else the user.

    When each request shows one tip (the simulator's logging policy), a per-request NDCG is 1 for any
    scorer, so the test window's impressions of each user are ranked instead.
    """
    per_request = test.groupby("request_id").size().mean() if len(test) else 0.0
    return "request_id" if per_request > 1.5 else "user_id"


def oracle_comparison(
    test: pd.DataFrame, probs: np.ndarray[Any, Any], truth: pd.DataFrame | None, group: str = "request_id"
) -> dict[str, Any]:
    """Metrics of the simulator's true reaction probability on the same rows, and the model's gap to it."""
    if truth is None or truth.empty:
        return {"available": False}
    keyed = test[list(dict.fromkeys(["request_id", "tip_id", group, LABEL]))].assign(_p=probs)
    merged = keyed.merge(truth[["request_id", "tip_id", "p_positive"]], on=["request_id", "tip_id"], how="inner")
    if merged.empty:
        return {"available": False, "reason": "no test impression found in the truth table"}
    req, y = merged[group].to_numpy(), merged[LABEL].to_numpy()
    oracle = score_all(req, y, merged["p_positive"].to_numpy()).as_dict()
    model = score_all(req, y, merged["_p"].to_numpy()).as_dict()
    gap = {m: oracle[m] - model[m] for m in ("auc", "ndcg_at_5")}
    gap["log_loss"] = model["log_loss"] - oracle["log_loss"]
    return {
        "available": True,
        "coverage": len(merged) / max(len(test), 1),
        "oracle": oracle,
        "model_on_same_rows": model,
        "gap": {k: (v if not math.isnan(v) else None) for k, v in gap.items()},
    }


def champion_gate(report: dict[str, Any], tolerance: float) -> tuple[bool, str]:
    """Propose the challenger unless it is worse than the champion by more than ``tolerance`` AUC."""
    champ = report["models"].get("champion")
    if champ is None:
        return True, "no comparable champion"
    delta = report["models"]["challenger"]["auc"] - champ["auc"]
    if delta < -tolerance:
        return False, f"AUC {delta:+.4f} vs champion {report['champion_version']} (tolerance {tolerance})"
    return True, f"AUC {delta:+.4f} vs champion {report['champion_version']}"
