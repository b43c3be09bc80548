"""The ``train-tip-scorer`` pipeline: batch features → training set → train → evaluate → register → rollout.

Built by a factory so the project image comes from settings at start-up, never at import. Caching is off:
the same parameters over a grown event log must not reuse yesterday's features. No
``from __future__ import annotations``: KFP reads the pipeline's parameter annotations.
"""

from typing import Any, Final

from kfp import dsl

from contracts.gates import CHAMPION_AUC_TOLERANCE, MAX_SLICE_AUC_GAP, MIN_SLICE_AUC, MIN_SLICE_SIZE
from pipelines.components import make_components

PIPELINE_NAME: Final = "train-tip-scorer"


def build_pipeline(image: str) -> Any:
    """The pipeline (a KFP ``GraphComponent``) whose components run on ``image``."""
    c = make_components(image)

    @dsl.pipeline(  # type: ignore[untyped-decorator]
        name=PIPELINE_NAME, description="Train, evaluate, gate and propose the tip-scorer model."
    )
    def train_tip_scorer(
        event_log: str,
        state_root: str,
        mlflow_tracking_uri: str,
        mlflow_artifact_root: str = "",
        truth_path: str = "",
        label_window_hours: float = 24.0,
        new_user_days: int = 14,
        test_fraction: float = 0.2,
        historical_engine: str = "duckdb",
        seed: int = 7,
        num_boost_round: int = 400,
        champion_tolerance: float = CHAMPION_AUC_TOLERANCE,
        max_slice_auc_gap: float = MAX_SLICE_AUC_GAP,
        min_slice_auc: float = MIN_SLICE_AUC,
        min_slice_size: int = MIN_SLICE_SIZE,
    ) -> None:
        batch = c["batch_features"](
            event_log=event_log,
            state_root=state_root,
            label_window_hours=label_window_hours,
            new_user_days=new_user_days,
        ).set_display_name("batch features")
        tset = c["training_set"](
            entities=batch.outputs["entities"],
            state_root=state_root,
            test_fraction=test_fraction,
            historical_engine=historical_engine,
        ).set_display_name("training set")
        model = c["train"](
            train_set=tset.outputs["train_set"], seed=seed, num_boost_round=num_boost_round
        ).set_display_name("train")
        evaluation = c["evaluate"](
            train_set=tset.outputs["train_set"],
            test_set=tset.outputs["test_set"],
            model=model.outputs["model"],
            mlflow_tracking_uri=mlflow_tracking_uri,
            truth_path=truth_path,
            seed=seed,
            max_slice_auc_gap=max_slice_auc_gap,
            min_slice_auc=min_slice_auc,
            min_slice_size=min_slice_size,
        ).set_display_name("evaluate")
        registered = c["register"](
            model=model.outputs["model"],
            train_set=tset.outputs["train_set"],
            report=evaluation.outputs["report"],
            mlflow_tracking_uri=mlflow_tracking_uri,
            mlflow_artifact_root=mlflow_artifact_root,
            champion_tolerance=champion_tolerance,
            event_log=event_log,
            log_start=batch.outputs["log_start"],
            log_end=batch.outputs["log_end"],
            split_at=tset.outputs["Output"],
            label_window_hours=label_window_hours,
            seed=seed,
            num_boost_round=num_boost_round,
            pipeline_run=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
        ).set_display_name("register")
        c["rollout"](
            proposed=registered.outputs["proposed"],
            version=registered.outputs["version"],
            storage_uri=registered.outputs["storage_uri"],
            champion_version=registered.outputs["champion_version"],
        ).set_display_name("rollout manifest")
        for task in (batch, tset, model, evaluation, registered):
            task.set_caching_options(False)

    return train_tip_scorer


def compile_pipeline(image: str, path: str) -> None:
    """Write the pipeline's IR YAML for a KFP cluster."""
    from kfp import compiler

    compiler.Compiler().compile(build_pipeline(image), package_path=path)
