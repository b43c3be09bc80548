"""KFP v2 lightweight components of ``train-tip-scorer``: thin shells around :mod:`pipelines.steps.stages`.

KFP ships each function's source to the container and runs it there, so the bodies only import the
project (present in the project image, or in this environment under ``kfp.local``) and call one stage.
No ``from __future__ import annotations`` here: KFP reads these annotations at decoration time.
"""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output


def batch_features(
    event_log: str,
    state_root: str,
    label_window_hours: float,
    new_user_days: int,
    entities: Output[Dataset],
) -> NamedTuple("BatchOutputs", [("log_start", str), ("log_end", str), ("summary", str)]):  # type: ignore[valid-type]  # noqa: UP014, E501
    """Event log → point-in-time feature tables → Feast → online store; labelled impressions out."""
    import json
    from collections import namedtuple

    from contracts.runtime import apply_offline_switches

    apply_offline_switches()
    from pipelines.steps.stages import batch_features_stage

    summary = batch_features_stage(event_log, state_root, label_window_hours, new_user_days, entities.path)
    outputs = namedtuple("outputs", ["log_start", "log_end", "summary"])  # noqa: PYI024
    return outputs(summary["log_start"], summary["log_end"], json.dumps(summary, sort_keys=True))


def training_set(
    entities: Input[Dataset],
    state_root: str,
    test_fraction: float,
    historical_engine: str,
    train_set: Output[Dataset],
    test_set: Output[Dataset],
) -> str:
    """Point-in-time ``tip_scoring`` features per impression, then a split in time.

    ``historical_engine``: ``feast`` (``get_historical_features`` on the configured offline store, the
    choice for a warehouse) or ``duckdb`` (the same join over the local Parquet tables, for scale locally).
    """
    from contracts.runtime import apply_offline_switches

    apply_offline_switches()
    from pipelines.steps.stages import training_set_stage

    return training_set_stage(
        entities.path, state_root, test_fraction, train_set.path, test_set.path, historical_engine
    )


def train(train_set: Input[Dataset], seed: int, num_boost_round: int, model: Output[Model]) -> None:
    """Fit the seeded LightGBM scorer."""
    from pipelines.steps.stages import train_stage

    train_stage(train_set.path, seed, num_boost_round, model.path)
    model.metadata["framework"] = "lightgbm"


def evaluate(
    train_set: Input[Dataset],
    test_set: Input[Dataset],
    model: Input[Model],
    mlflow_tracking_uri: str,
    truth_path: str,
    seed: int,
    max_slice_auc_gap: float,
    min_slice_auc: float,
    min_slice_size: int,
    report: Output[Dataset],
    metrics: Output[Metrics],
) -> None:
    """Metrics against baselines, the champion and the oracle; fairness thresholds fail the run."""
    from contracts.runtime import apply_offline_switches

    apply_offline_switches()
    from pipelines.steps.fairness import FairnessThresholds
    from pipelines.steps.stages import evaluate_stage

    thresholds = FairnessThresholds(max_slice_auc_gap, min_slice_auc, min_slice_size)
    result = evaluate_stage(
        train_set.path,
        test_set.path,
        model.path,
        mlflow_tracking_uri,
        truth_path,
        seed,
        thresholds,
        report.path,
    )
    for scorer, values in result["models"].items():
        for name in ("auc", "ndcg_at_5", "log_loss", "ece"):
            if values[name] == values[name]:
                metrics.log_metric(f"{scorer}.{name}", values[name])


def register(
    model: Input[Model],
    train_set: Input[Dataset],
    report: Input[Dataset],
    mlflow_tracking_uri: str,
    mlflow_artifact_root: str,
    champion_tolerance: float,
    event_log: str,
    log_start: str,
    log_end: str,
    split_at: str,
    label_window_hours: float,
    seed: int,
    num_boost_round: int,
    pipeline_run: str,
) -> NamedTuple(  # type: ignore[valid-type]  # noqa: UP014
    "RegisterOutputs",
    [("version", str), ("proposed", bool), ("reason", str), ("storage_uri", str), ("champion_version", str)],
):
    """Champion gate, then MLflow: model + signature + input example, model card, alias ``challenger``."""
    from collections import namedtuple

    from contracts.runtime import apply_offline_switches

    apply_offline_switches()
    from feature_repo.names import FEATURE_SERVICE
    from pipelines.steps.stages import register_stage

    lineage = {
        "event_log": event_log,
        "feature_repo": f"feature_repo ({FEATURE_SERVICE})",
        "pipeline": "train-tip-scorer",
        "pipeline_run": pipeline_run,
        "seed": seed,
        "params": {
            "seed": seed,
            "num_boost_round": num_boost_round,
            "label_window_hours": label_window_hours,
        },
    }
    window = {
        "start": log_start,
        "end": log_end,
        "split_at": split_at,
        "label_window_hours": label_window_hours,
    }
    done = register_stage(
        model.path,
        train_set.path,
        report.path,
        mlflow_tracking_uri,
        mlflow_artifact_root,
        champion_tolerance,
        lineage,
        window,
    )
    outputs = namedtuple(  # noqa: PYI024
        "outputs", ["version", "proposed", "reason", "storage_uri", "champion_version"]
    )
    return outputs(done.version, done.proposed, done.reason, done.storage_uri, done.champion_version or "")


def rollout(proposed: bool, version: str, storage_uri: str, champion_version: str, manifest: Output[Dataset]) -> str:
    """Emit the ModelRollout manifest proposing the new version; a version the gate held back gets none.

    A parameter rather than ``dsl.If``: kfp.local cannot resolve a condition on a named task output.
    """
    from pipelines.steps.stages import rollout_stage

    if not proposed:
        with open(manifest.path, "w", encoding="utf-8") as f:
            f.write(f"# tip-scorer version {version} was not proposed (champion gate)\n")
        return ""
    return rollout_stage(version, storage_uri, champion_version, manifest.path)


COMPONENT_FUNCTIONS = (batch_features, training_set, train, evaluate, register, rollout)


def make_components(image: str) -> dict[str, dsl.base_component.BaseComponent]:
    """Every component on ``image`` (the project image: it holds the code these bodies import)."""
    return {fn.__name__: dsl.component(fn, base_image=image, install_kfp_package=False) for fn in COMPONENT_FUNCTIONS}
