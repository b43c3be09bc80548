"""Assemble the model card of a new version from the evaluation report and the run's lineage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.model_card import CardFeature, CardInputs, DataWindow, GateDecision, Lineage, ModelCard
from contracts.profile import PROFILE_FEATURES
from feature_repo.names import FEATURE_SERVICE

INTENDED_USE = (
    "Ranks candidate tips for one user by the probability of a positive reaction (liked or acted); "
    "called by the recommender through the tip-scorer InferenceService. Not for any decision about a "
    "person beyond which tip to show."
)


class BuildInfo(BaseSettings):
    """What the image a pipeline step runs in was built from (``TIPSML_GIT_SHA``, set by the image build).

    The step's own settings: a component on a cluster gets its parameters from the pipeline, and this one
    from the image it runs in.
    """

    model_config = SettingsConfigDict(env_prefix="TIPSML_", extra="ignore")

    git_sha: str = ""


def code_version(build: BuildInfo) -> str:
    """Package version plus the commit the image was built from, when the build recorded it."""
    try:
        pkg = version("tipsml")
    except PackageNotFoundError:
        pkg = "unknown"
    return f"{pkg}+{build.git_sha}" if build.git_sha else pkg


def card_inputs(features: Sequence[str]) -> CardInputs:
    """Model features (all Float64 outputs of ``scoring_inputs``) and the profile features behind them."""
    return CardInputs(
        feature_service=FEATURE_SERVICE,
        model_features=list(features),
        features=[CardFeature(name=f, dtype="float", source=f"feature_service:{FEATURE_SERVICE}") for f in features],
        profile_features=[CardFeature(name=p.name, dtype=p.dtype, source="profile_features") for p in PROFILE_FEATURES],
    )


def build_card(
    *,
    model_name: str,
    model_version: str,
    run_id: str,
    created_at: datetime,
    features: Sequence[str],
    report: dict[str, Any],
    window: DataWindow,
    lineage: dict[str, Any],
    gate: GateDecision,
    build: BuildInfo | None = None,
) -> ModelCard:
    """The complete card; pydantic validation makes an incomplete card impossible to log.

    ``build`` defaults to the running image's :class:`BuildInfo`, read here: a card is built once per run.
    """
    return ModelCard(
        model_name=model_name,
        model_version=model_version,
        created_at=created_at,
        intended_use=INTENDED_USE,
        inputs=card_inputs(features),
        offline_metrics=report["models"],
        comparisons=report.get("versus", {}),
        oracle=report["oracle"],
        fairness=report["fairness"],
        data_window=window,
        lineage=Lineage(mlflow_run_id=run_id, code_version=code_version(build or BuildInfo()), **lineage),
        gate=gate,
    )
