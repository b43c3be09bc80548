"""MLflow side of the pipeline: the current champion, registration with a model card, alias ``challenger``.

A challenger that fails the champion gate is still registered (with its card and the gate's reason), so
the record is complete; it just gets no alias and no ModelRollout.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import lightgbm as lgb
import pandas as pd

from contracts.model_card import CARD_JSON, CARD_MARKDOWN, ModelCard, card_json, render_markdown
from contracts.names import CHALLENGER_ALIAS, CHAMPION_ALIAS, SCORER_MODEL
from pipelines.errors import RegistryError
from pipelines.steps.evaluate import Champion
from pipelines.steps.train import feature_matrix

EXPERIMENT: Final = f"{SCORER_MODEL}-training"


@dataclass(frozen=True, slots=True)
class Registered:
    """What registration produced."""

    version: str
    run_id: str
    proposed: bool
    reason: str
    storage_uri: str
    champion_version: str | None


def configure(tracking_uri: str) -> None:
    """Point MLflow at the tracking/registry URI."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)


def use_experiment(artifact_root: str | None = None) -> None:
    """Log into the training experiment, creating it with ``artifact_root`` (default: the server's) once."""
    import mlflow

    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        location = Path(artifact_root).resolve().as_uri() if artifact_root else None
        mlflow.create_experiment(EXPERIMENT, artifact_location=location)
    mlflow.set_experiment(EXPERIMENT)


def load_champion(tracking_uri: str) -> Champion | None:
    """The version behind alias ``champion``, or None when there is none yet."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    try:
        mv = client.get_model_version_by_alias(SCORER_MODEL, CHAMPION_ALIAS)
    except MlflowException:
        return None
    try:
        booster = mlflow.lightgbm.load_model(f"models:/{SCORER_MODEL}/{mv.version}")
    except MlflowException as e:
        raise RegistryError(f"champion version {mv.version} cannot be loaded") from e
    return Champion(version=str(mv.version), booster=booster)


def _flat_metrics(offline: dict[str, dict[str, float]]) -> dict[str, float]:
    return {
        f"{model}.{name}": value
        for model, metrics in offline.items()
        for name, value in metrics.items()
        if not math.isnan(value)
    }


def register(
    booster: lgb.Booster,
    example: pd.DataFrame,
    features: Sequence[str],
    *,
    params: dict[str, Any],
    offline_metrics: dict[str, dict[str, float]],
    build_card: Any,
    proposed: bool,
    reason: str,
    champion_version: str | None,
) -> Registered:
    """Log and register the booster with signature and input example, then its card, then the alias.

    ``build_card(version, run_id)`` returns the :class:`ModelCard`; it is called once the version exists.
    """
    import lightgbm
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.models import infer_signature

    x = feature_matrix(example, features).head(5)
    try:
        with mlflow.start_run(run_name="train-tip-scorer") as run:
            mlflow.log_params({k: str(v) for k, v in params.items()})
            mlflow.log_metrics(_flat_metrics(offline_metrics))
            info = mlflow.lightgbm.log_model(
                booster,
                name="model",
                signature=infer_signature(x, booster.predict(x)),
                input_example=x,
                registered_model_name=SCORER_MODEL,
                pip_requirements=[f"lightgbm=={lightgbm.__version__}"],
            )
            version = str(info.registered_model_version)
            card: ModelCard = build_card(version, run.info.run_id)
            mlflow.log_text(card_json(card), CARD_JSON)
            mlflow.log_text(render_markdown(card), CARD_MARKDOWN)
        client = mlflow.MlflowClient()
        card_uri = f"runs:/{run.info.run_id}/{CARD_JSON}"
        client.set_model_version_tag(SCORER_MODEL, version, "model_card", card_uri)
        client.set_model_version_tag(SCORER_MODEL, version, "gate", "proposed" if proposed else "rejected")
        client.set_model_version_tag(SCORER_MODEL, version, "gate_reason", reason)
        client.update_model_version(SCORER_MODEL, version, description=f"Model card: {card_uri}. Gate: {reason}.")
        if proposed:
            client.set_registered_model_alias(SCORER_MODEL, CHALLENGER_ALIAS, version)
        storage_uri = client.get_model_version_download_uri(SCORER_MODEL, version)
    except MlflowException as e:
        raise RegistryError(f"registering {SCORER_MODEL} failed: {e.message}") from e
    return Registered(
        version=version,
        run_id=run.info.run_id,
        proposed=proposed,
        reason=reason,
        storage_uri=storage_uri,
        champion_version=champion_version,
    )


def now() -> datetime:
    """Timestamps in cards are UTC."""
    return datetime.now(UTC)
