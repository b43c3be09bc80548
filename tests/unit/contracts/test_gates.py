"""The training gates' defaults have one owner: the pipeline's settings and its fairness check read them."""

from __future__ import annotations

from contracts import gates
from pipelines.settings import PipelineSettings
from pipelines.steps.fairness import FairnessThresholds


def test_settings_and_fairness_check_default_to_the_contract() -> None:
    settings = PipelineSettings()
    assert settings.champion_tolerance == gates.CHAMPION_AUC_TOLERANCE
    assert settings.max_slice_auc_gap == gates.MAX_SLICE_AUC_GAP
    assert settings.min_slice_auc == gates.MIN_SLICE_AUC
    assert settings.min_slice_size == gates.MIN_SLICE_SIZE
    assert FairnessThresholds() == FairnessThresholds(
        gates.MAX_SLICE_AUC_GAP, gates.MIN_SLICE_AUC, gates.MIN_SLICE_SIZE
    )
