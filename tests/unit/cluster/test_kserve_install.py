"""What the real cluster installs for KServe and its storage, read from files shaped like the release's."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import yaml

from tipsml.cluster import kserve
from tipsml.cluster.node_files import NODE_NAME, NodeLayout
from tipsml.cluster.node_storage import POOL_SIZE, STORAGE_CLASS, storage_manifests

CONFIG = Path(__file__).resolve().parent / "fixtures" / "kserve"


def test_config_map_defaults_to_standard_mode_without_ingress_objects() -> None:
    cm = kserve.config_map(CONFIG)
    assert cm["metadata"] == {"name": "inferenceservice-config", "namespace": "kserve"}
    assert json.loads(cm["data"]["deploy"]) == {"defaultDeploymentMode": "Standard"}
    ingress = json.loads(cm["data"]["ingress"])
    assert ingress["disableIngressCreation"] is True
    assert ingress["ingressDomain"] == "example.com"  # the rest of the release's settings are kept
    # Every sidecar runs the agent built here; the logger's request fits one small node, its target stays.
    assert {json.loads(cm["data"][k])["image"] for k in ("agent", "logger", "batcher")} == {kserve.AGENT_IMAGE}
    logger = json.loads(cm["data"]["logger"])
    assert logger["cpuRequest"] == "20m" and logger["defaultUrl"] == "http://default-broker"
    assert json.loads(cm["data"]["batcher"])["maxBatchSize"] == "32"
    assert "_example" not in cm["data"]


def test_webhooks_point_at_the_manager_on_loopback_with_the_cluster_ca() -> None:
    [doc] = kserve.webhook_configurations(CONFIG, 9443, b"CA PEM")
    assert "creationTimestamp" not in doc["metadata"]
    [hook] = doc["webhooks"]
    assert hook["clientConfig"] == {
        "url": "https://127.0.0.1:9443/mutate-serving-kserve-io-v1beta1-inferenceservice",
        "caBundle": base64.b64encode(b"CA PEM").decode(),
    }
    assert hook["failurePolicy"] == "Fail"


def test_serving_runtimes_get_the_images_the_release_names() -> None:
    runtimes = {r["metadata"]["name"]: r for r in kserve.serving_runtimes(CONFIG)}
    assert runtimes["kserve-lgbserver"]["spec"]["containers"][0]["image"] == "kserve/lgbserver:v0.20.0"
    # A name the kustomization does not map stays as the release wrote it.
    assert runtimes["kserve-mlserver"]["spec"]["containers"][0]["image"] == "kserve-mlserver:replace"
    applied = yaml.safe_load_all(kserve.manifest(list(runtimes.values())))
    assert [d["metadata"]["name"] for d in applied] == list(runtimes)


def test_storage_is_a_default_class_over_local_volumes_on_the_node(tmp_path: Path) -> None:
    layout = NodeLayout(tmp_path / "state", tmp_path / "run", tmp_path / "images")
    docs = list(yaml.safe_load_all(storage_manifests(layout)))
    [storage_class] = [d for d in docs if d["kind"] == "StorageClass"]
    assert storage_class["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert storage_class["volumeBindingMode"] == "WaitForFirstConsumer"
    volumes = [d for d in docs if d["kind"] == "PersistentVolume"]
    assert len(volumes) == POOL_SIZE
    for pv in volumes:
        folder = Path(pv["spec"]["local"]["path"])
        assert folder.is_dir() and folder.parent == layout.state_dir / "volumes"
        assert pv["spec"]["storageClassName"] == STORAGE_CLASS
        terms = pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
        assert terms[0]["matchExpressions"][0]["values"] == [NODE_NAME]
