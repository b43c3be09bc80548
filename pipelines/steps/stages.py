"""One plain function per pipeline component: files in, files out, a small summary back.

The KFP components in :mod:`pipelines.components` are thin wrappers around these, so every stage runs
and is tested without KFP, and a cluster runs exactly this code from the project image.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import lightgbm as lgb
import pandas as pd
import yaml

from contracts.model_card import DataWindow, GateDecision
from contracts.names import SCORER_MODEL
from pipelines.steps import feature_store, registry
from pipelines.steps.card import build_card
from pipelines.steps.evaluate import champion_gate, evaluate
from pipelines.steps.events import load_events
from pipelines.steps.fairness import FairnessThresholds, enforce
from pipelines.steps.feature_tables import TIMESTAMP, build_feature_tables
from pipelines.steps.rollout import rollout_manifest
from pipelines.steps.train import LABEL, train_lightgbm
from pipelines.steps.training_set import add_slices, label_impressions, split_by_time

log = logging.getLogger(__name__)


def model_features() -> list[str]:
    """The model's inputs, in order, from the one definition serving also uses."""
    from feature_repo.names import MODEL_FEATURES

    return list(MODEL_FEATURES)


def batch_features_stage(
    event_log: str, state_root: str, label_window_hours: float, new_user_days: int, entities_out: str
) -> dict[str, Any]:
    """Event log → point-in-time feature tables → Feast sources → online store; labelled impressions out."""
    events = load_events(event_log)
    tables = build_feature_tables(events)
    root = Path(state_root)
    feature_store.write_tables(tables, root)
    store = feature_store.open_store(root)
    start = events["occurred_at"].min().to_pydatetime()
    feature_store.materialize(store, start, tables.end, list(tables.views()))
    labelled = label_impressions(events, tables.impressions, label_window_hours)
    entities = add_slices(labelled, events["occurred_at"].min(), new_user_days)
    entities.drop(columns=["first_seen_at"]).to_parquet(entities_out, index=False)
    summary = {
        "events": len(events),
        "impressions": len(tables.impressions),
        "labelled": len(entities),
        "positive_rate": float(entities[LABEL].mean()) if len(entities) else 0.0,
        "log_start": start.isoformat(),
        "log_end": tables.end.isoformat(),
        "rows": {k: len(v) for k, v in tables.views().items()},
    }
    log.info("batch features: %s", summary)
    return summary


def training_set_stage(
    entities: str, state_root: str, test_fraction: float, train_out: str, test_out: str, engine: str = "duckdb"
) -> str:
    """Feast historical retrieval (``tip_scoring``, point-in-time) per labelled impression, split by time."""
    frame = pd.read_parquet(entities)
    store = feature_store.open_store(Path(state_root))
    joined = feature_store.historical_features(store, frame, engine)
    split = split_by_time(joined.sort_values(TIMESTAMP, kind="stable"), test_fraction)
    split.train.to_parquet(train_out, index=False)
    split.test.to_parquet(test_out, index=False)
    return split.split_at.isoformat()


def train_stage(train_set: str, seed: int, num_boost_round: int, model_out: str) -> None:
    """Fit the LightGBM scorer on the training split and save the native booster."""
    booster = train_lightgbm(pd.read_parquet(train_set), model_features(), seed, num_boost_round)
    booster.save_model(model_out)


def evaluate_stage(
    train_set: str,
    test_set: str,
    model: str,
    tracking_uri: str,
    truth_path: str,
    seed: int,
    thresholds: FairnessThresholds,
    report_out: str,
) -> dict[str, Any]:
    """Metrics vs baselines, champion and oracle, plus fairness; a failed fairness threshold fails the run."""
    registry.configure(tracking_uri)
    truth = pd.read_parquet(truth_path) if truth_path else None
    report = evaluate(
        pd.read_parquet(train_set),
        pd.read_parquet(test_set),
        model_features(),
        lgb.Booster(model_file=model),
        seed=seed,
        thresholds=thresholds,
        champion=registry.load_champion(tracking_uri),
        truth=truth,
    )
    Path(report_out).write_text(json.dumps(report, indent=2, sort_keys=True, default=str) + "\n")
    enforce(report["fairness"])
    return report


def register_stage(
    model: str,
    train_set: str,
    report_path: str,
    tracking_uri: str,
    artifact_root: str,
    tolerance: float,
    lineage: dict[str, Any],
    window: dict[str, Any],
) -> registry.Registered:
    """Gate against the champion, register the version with its card, alias ``challenger`` if proposed."""
    registry.configure(tracking_uri)
    registry.use_experiment(artifact_root or None)
    report = json.loads(Path(report_path).read_text())
    proposed, reason = champion_gate(report, tolerance)
    train = pd.read_parquet(train_set)
    features = model_features()
    data_window = DataWindow(
        start=window["start"],
        end=window["end"],
        split_at=window["split_at"],
        label_window_hours=window["label_window_hours"],
        n_train=report["n_train"],
        n_test=report["n_test"],
        positive_rate_train=float(train[LABEL].mean()),
    )
    gate = GateDecision(proposed=proposed, reason=reason, champion_version=report.get("champion_version"))

    def card(version: str, run_id: str) -> Any:
        return build_card(
            model_name=SCORER_MODEL,
            model_version=version,
            run_id=run_id,
            created_at=registry.now(),
            features=features,
            report=report,
            window=data_window,
            lineage=lineage,
            gate=gate,
        )

    return registry.register(
        lgb.Booster(model_file=model),
        train,
        features,
        params=lineage["params"],
        offline_metrics=report["models"],
        build_card=card,
        proposed=proposed,
        reason=reason,
        champion_version=report.get("champion_version"),
    )


def rollout_stage(version: str, storage_uri: str, champion_version: str, manifest_out: str) -> str:
    """Write the ModelRollout manifest proposing ``version``; returns its name."""
    manifest = rollout_manifest(version, storage_uri, champion_version or None)
    Path(manifest_out).write_text(yaml.safe_dump(manifest, sort_keys=False))
    return str(manifest["metadata"]["name"])
