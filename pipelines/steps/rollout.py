"""The ModelRollout manifest that proposes a registered version to the operator."""

from __future__ import annotations

import re
from typing import Any

from contracts.crds import API_VERSION, MODEL_ROLLOUT_KIND, ModelRef, ModelRolloutSpec


def rollout_manifest(
    version: str, storage_uri: str | None, champion_version: str | None, namespace: str | None = None
) -> dict[str, Any]:
    """A ``tipsml.io/v1alpha1`` ModelRollout for ``tip-scorer`` version ``version``."""
    spec = ModelRolloutSpec(
        candidate=ModelRef(version=version, storage_uri=storage_uri or None),
        baseline=ModelRef(version=champion_version) if champion_version else None,
    )
    name = re.sub(r"[^a-z0-9-]", "-", f"{spec.model_name}-v{version}".lower())
    metadata: dict[str, Any] = {
        "name": name,
        "labels": {"app.kubernetes.io/part-of": "tipsml", "tipsml.io/model": spec.model_name},
    }
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": API_VERSION,
        "kind": MODEL_ROLLOUT_KIND,
        "metadata": metadata,
        "spec": spec.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
