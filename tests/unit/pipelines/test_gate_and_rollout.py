from __future__ import annotations

from contracts.crds import API_VERSION, MODEL_ROLLOUT_KIND, ModelRolloutSpec
from pipelines.steps.evaluate import champion_gate
from pipelines.steps.rollout import rollout_manifest


def _report(challenger_auc: float, champion_auc: float | None) -> dict[str, object]:
    models = {"challenger": {"auc": challenger_auc}}
    if champion_auc is not None:
        models["champion"] = {"auc": champion_auc}
    return {"models": models, "champion_version": "3" if champion_auc is not None else None}


def test_first_model_is_proposed() -> None:
    assert champion_gate(_report(0.6, None), 0.005)[0]


def test_challenger_within_tolerance_is_proposed_and_worse_is_held_back() -> None:
    assert champion_gate(_report(0.698, 0.70), 0.005)[0]
    proposed, reason = champion_gate(_report(0.68, 0.70), 0.005)
    assert not proposed and "champion 3" in reason


def test_manifest_is_a_valid_model_rollout() -> None:
    manifest = rollout_manifest("7", "file:///models/7", "3", namespace="ml")
    assert manifest["apiVersion"] == API_VERSION and manifest["kind"] == MODEL_ROLLOUT_KIND
    assert manifest["metadata"] == {
        "name": "tip-scorer-v7",
        "namespace": "ml",
        "labels": {"app.kubernetes.io/part-of": "tipsml", "tipsml.io/model": "tip-scorer"},
    }
    spec = ModelRolloutSpec.model_validate(manifest["spec"])
    assert spec.candidate.version == "7" and spec.candidate.storage_uri == "file:///models/7"
    assert spec.baseline is not None and spec.baseline.version == "3"
    assert "storageUri" in manifest["spec"]["candidate"]


def test_manifest_without_champion_has_no_baseline() -> None:
    assert "baseline" not in rollout_manifest("1", None, None)["spec"]
