"""The CRDs in manifests/crds/ are exactly what contracts/crds.py generates, and they are structural."""

from __future__ import annotations

from typing import Any

import yaml

from operators import crdgen


def _walk(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found.extend(_walk(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_walk(value))
    return found


def test_committed_crds_match_the_contracts() -> None:
    for name, text in crdgen.rendered().items():
        path = crdgen.CRD_DIR / name
        assert path.is_file(), f"{path} missing: run python -m operators.crdgen"
        assert path.read_text() == text, f"{name} drifted: run python -m operators.crdgen"


def test_schemas_are_structural() -> None:
    for text in crdgen.rendered().values():
        schema = yaml.safe_load(text)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        for node in _walk(schema):
            assert "$ref" not in node and "anyOf" not in node and "$defs" not in node
            assert "title" not in node or not isinstance(node["title"], str) or "properties" in node
            if "properties" in node and isinstance(node["properties"], dict) and "type" in node:
                assert node["type"] == "object"
            if "exclusiveMinimum" in node:
                assert node["exclusiveMinimum"] is True


def test_prompt_version_is_immutable_and_named_after_its_version() -> None:
    crd = crdgen.prompt_version_crd()
    version = crd["spec"]["versions"][0]
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert spec["template"]["x-kubernetes-validations"][0]["rule"] == "self == oldSelf"
    assert spec["version"]["x-kubernetes-validations"][0]["rule"] == "self == oldSelf"
    # Not "pv": kubectl resolves that to PersistentVolumes first and warns on every use.
    assert crd["spec"]["names"]["shortNames"] == ["pver"]
    assert version["subresources"] == {"status": {}}
    assert [c["name"] for c in version["additionalPrinterColumns"]][:3] == ["Version", "Default", "Phase"]


def test_model_rollout_nullable_fields_and_short_name() -> None:
    crd = crdgen.model_rollout_crd()
    assert crd["spec"]["names"]["shortNames"] == ["mr"]
    root = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    baseline = root["properties"]["spec"]["properties"]["baseline"]
    assert baseline["nullable"] is True and baseline["type"] == "object"
    phase = root["properties"]["status"]["properties"]["phase"]
    assert phase["enum"] == ["Pending", "Shadow", "Canary", "Promoted", "RolledBack", "Failed"]
    assert "default" not in phase
