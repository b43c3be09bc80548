"""Train the tip scorer (LightGBM) and the logistic-regression baseline, both seeded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from pipelines.errors import NoDataError

LABEL = "label"


def feature_matrix(frame: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """The model's input: exactly ``features`` in that order, as float64 (NaN where Feast had no value).

    The scorer builds the same matrix from online features, so the order here is the model's contract.
    """
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise NoDataError(f"training set lacks features {missing}")
    matrix: pd.DataFrame = frame[list(features)].apply(pd.to_numeric, errors="coerce").astype("float64")
    return matrix


def lgb_params(seed: int) -> dict[str, Any]:
    """Deterministic LightGBM parameters: same data and seed give the same booster.

    Small trees with large leaves: the reaction signal is mostly additive, and on simulator data
    (5,000 users x 30 days) 7 leaves beat 31 on held-out AUC while training five times faster.
    """
    return {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 7,
        "min_data_in_leaf": 500,
        "feature_fraction": 1.0,
        "bagging_fraction": 0.9,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 2,
        "verbose": -1,
    }


def _check_labels(frame: pd.DataFrame) -> None:
    if frame.empty or frame[LABEL].nunique() < 2:
        raise NoDataError(f"need both label classes to train; got {len(frame)} rows")


def train_lightgbm(train: pd.DataFrame, features: Sequence[str], seed: int, num_boost_round: int = 400) -> lgb.Booster:
    """Fit the gradient-boosted scorer on the training split."""
    _check_labels(train)
    data = lgb.Dataset(feature_matrix(train, features), label=train[LABEL].to_numpy(), free_raw_data=True)
    return lgb.train(lgb_params(seed), data, num_boost_round=num_boost_round)


def train_logistic(train: pd.DataFrame, features: Sequence[str], seed: int) -> Pipeline:
    """Fit the logistic-regression baseline on the same features (imputed, standardised)."""
    _check_labels(train)
    model = make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(max_iter=1000, random_state=seed),
    )
    model.fit(feature_matrix(train, features).to_numpy(), train[LABEL].to_numpy())
    return model


def popularity_scores(train: pd.DataFrame, test: pd.DataFrame, prior_weight: float = 20.0) -> np.ndarray[Any, Any]:
    """Global popularity baseline: each tip's smoothed positive rate on the training split."""
    prior = float(train[LABEL].mean())
    stats = train.groupby("tip_id")[LABEL].agg(["sum", "count"])
    rate = (stats["sum"] + prior * prior_weight) / (stats["count"] + prior_weight)
    return test["tip_id"].map(rate).fillna(prior).to_numpy(dtype=np.float64)
