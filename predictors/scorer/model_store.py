"""Load the scorer's model from the MLflow registry, an artifact store or a model directory, natively.

Going through ``mlflow.pyfunc`` per request costs a DataFrame and schema enforcement each call; the native
LightGBM Booster (or scikit-learn estimator) scores a small float matrix directly. MLflow is used only at
start-up: to resolve an alias to a version and to read the model directory.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from predictors.scorer.errors import ModelLoadError

log = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float64]
Scores = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A model ready to score rows laid out in the serving feature order."""

    version: str
    flavor: str
    feature_names: tuple[str, ...]
    """Columns the caller must provide, in this order (the serving feature list)."""
    _score: Callable[[Matrix], Scores]

    def score(self, rows: Matrix) -> Scores:
        """Probability of a positive reaction for each row."""
        return self._score(rows)


def parse_registry_uri(uri: str) -> tuple[str, str | None, str | None]:
    """``models:/name@alias`` → (name, alias, None); ``models:/name/3`` → (name, None, "3")."""
    body = uri.removeprefix("models:/").strip("/")
    if "@" in body:
        name, alias = body.split("@", 1)
        if name and alias:
            return name, alias, None
    elif "/" in body:
        name, version = body.split("/", 1)
        if name and version.isdigit():
            return name, None, version
    raise ModelLoadError(f"model URI {uri!r} is neither models:/<name>@<alias> nor models:/<name>/<version>")


def resolve_registry(uri: str, tracking_uri: str) -> tuple[Path, str]:
    """Download the version an alias points to NOW and return its directory and version number.

    The alias is resolved to a number first so that a concurrent alias move cannot mix two versions.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    name, alias, version = parse_registry_uri(uri)
    try:
        # Process-wide on purpose: models:/ downloads resolve through the default registry URI.
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
        client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        if alias is not None:
            version = str(client.get_model_version_by_alias(name, alias).version)
        local = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}")
    except MlflowException as e:
        raise ModelLoadError(f"cannot resolve {uri} in the MLflow registry: {e.message}") from e
    assert version is not None
    return Path(local), version


def _version_in_dir(model_dir: Path, mlmodel: dict[str, Any]) -> str:
    meta = model_dir / "registered_model_meta"
    if meta.is_file():
        version = (yaml.safe_load(meta.read_text(encoding="utf-8")) or {}).get("model_version")
        if version is not None:
            return str(version)
    return str(mlmodel.get("model_id") or mlmodel.get("run_id") or model_dir.name)


def _signature_inputs(mlmodel: dict[str, Any]) -> list[str]:
    import json

    raw = (mlmodel.get("signature") or {}).get("inputs")
    if not raw:
        return []
    return [str(col["name"]) for col in json.loads(raw) if "name" in col]


def _column_map(model_features: Sequence[str], serving: Sequence[str]) -> npt.NDArray[np.intp] | None:
    """Indices that reorder serving columns into the model's order (None when already equal)."""
    if list(model_features) == list(serving):
        return None
    missing = [f for f in model_features if f not in serving]
    if missing:
        raise ModelLoadError(f"model needs features the serving feature list lacks: {', '.join(missing)}")
    index = {f: i for i, f in enumerate(serving)}
    return np.array([index[f] for f in model_features], dtype=np.intp)


def load_model_dir(
    model_dir: Path, serving_features: Sequence[str], *, version: str | None = None, threads: int = 1
) -> LoadedModel:
    """Load an MLflow model directory (LightGBM or scikit-learn flavor) natively."""
    mlmodel_path = model_dir / "MLmodel"
    if not mlmodel_path.is_file():
        raise ModelLoadError(f"{model_dir} is not an MLflow model directory (no MLmodel file)")
    mlmodel: dict[str, Any] = yaml.safe_load(mlmodel_path.read_text(encoding="utf-8")) or {}
    flavors = mlmodel.get("flavors") or {}
    score: Callable[[Matrix], Scores]
    try:
        if "lightgbm" in flavors:
            import mlflow.lightgbm

            native = mlflow.lightgbm.load_model(str(model_dir))
            booster = getattr(native, "booster_", native)
            names = [str(n) for n in booster.feature_name()]
            if all(n.startswith("Column_") for n in names):
                names = _signature_inputs(mlmodel) or list(serving_features)
            flavor = "lightgbm"

            def score(rows: Matrix) -> Scores:
                return np.asarray(booster.predict(rows, num_threads=threads), dtype=np.float64)
        elif "sklearn" in flavors:
            import mlflow.sklearn

            est = mlflow.sklearn.load_model(str(model_dir))
            names = [str(n) for n in getattr(est, "feature_names_in_", [])] or _signature_inputs(mlmodel)
            names = names or list(serving_features)
            flavor = "sklearn"

            def score(rows: Matrix) -> Scores:
                return np.asarray(est.predict_proba(rows)[:, 1], dtype=np.float64)
        else:
            raise ModelLoadError(
                f"{model_dir}: unsupported flavors {sorted(flavors)}; need lightgbm or sklearn"
            )
    except ModelLoadError:
        raise
    except Exception as e:  # noqa: BLE001 - any loader failure means the model is unusable
        raise ModelLoadError(f"cannot load the model in {model_dir}: {type(e).__name__}: {e}") from e

    order = _column_map(names, serving_features)
    if order is not None:
        inner = score

        def score(rows: Matrix) -> Scores:
            return inner(rows[:, order])

    resolved = version or _version_in_dir(model_dir, mlmodel)
    log.warning("loaded %s model version %s from %s (%d features)", flavor, resolved, model_dir, len(names))
    return LoadedModel(version=resolved, flavor=flavor, feature_names=tuple(serving_features), _score=score)


REMOTE_PREFIXES = ("runs:/", "mlflow-artifacts:", "s3://", "gs://", "wasbs://", "abfss://", "hdfs://", "http://",
                   "https://")
"""Storage URIs MLflow downloads: what a pipeline-proposed rollout carries (the version's download URI)."""


def download_model(uri: str, tracking_uri: str) -> Path:
    """Fetch a model directory from wherever MLflow can read it (``mlflow-artifacts:``, ``runs:/``, ``s3://``...).

    ``mlflow-artifacts:`` resolves against ``tracking_uri`` (an MLflow server serving artifacts), so a cluster's
    scorer needs no bucket credentials of its own.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, tracking_uri=tracking_uri))
    except MlflowException as e:
        raise ModelLoadError(f"cannot download the model at {uri}: {e.message}") from e
    except Exception as e:  # noqa: BLE001 - a store's own client errors (boto, requests) mean the same
        raise ModelLoadError(f"cannot download the model at {uri}: {type(e).__name__}: {e}") from e


def load_model(
    uri: str,
    tracking_uri: str,
    serving_features: Sequence[str],
    *,
    version: str | None = None,
    threads: int = 1,
) -> LoadedModel:
    """Load from ``models:/...`` (registry), any URI MLflow downloads, or a local directory / ``file://`` URI."""
    if uri.startswith("models:/"):
        model_dir, registry_version = resolve_registry(uri, tracking_uri)
        return load_model_dir(
            model_dir, serving_features, version=version or registry_version, threads=threads
        )
    if uri.startswith(REMOTE_PREFIXES):
        return load_model_dir(download_model(uri, tracking_uri), serving_features, version=version, threads=threads)
    path = Path(uri.removeprefix("file://"))
    return load_model_dir(path, serving_features, version=version, threads=threads)
