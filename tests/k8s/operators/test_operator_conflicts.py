"""Optimistic concurrency against the real API server: every 409 here is the server's own answer.

A second writer (its own client) changes the object between the operator's read and its write, so the write
carries a stale ``resourceVersion`` and the API server refuses it.
"""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from operators.errors import KubernetesConflictError
from operators.kube import Kube
from tests.k8s.operators.operator_support import MR

pytestmark = pytest.mark.k8s

REGISTRY = "tip-prompts"


class RacedCore(client.CoreV1Api):  # type: ignore[misc]
    """A CoreV1Api whose ConfigMap replaces lose a race: a rival writes first, ``races`` times."""

    def __init__(self, api: client.ApiClient, rival: client.CoreV1Api, races: int) -> None:
        super().__init__(api)
        self.rival = rival
        self.races = races
        self.replaces = 0
        self.conflicts = 0

    def replace_namespaced_config_map(self, name: str, namespace: str, body: Any, **kw: Any) -> Any:
        self.replaces += 1
        if self.races > 0:
            self.races -= 1
            rival_cm = self.rival.read_namespaced_config_map(name, namespace)
            rival_cm.data = {**(rival_cm.data or {}), f"rival-{self.replaces}": "x"}
            self.rival.replace_namespaced_config_map(name, namespace, rival_cm)
        try:
            return super().replace_namespaced_config_map(name, namespace, body, **kw)
        except ApiException as e:
            self.conflicts += e.status == 409
            raise


def _configmap(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(
        ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=REGISTRY), data={"v1.yaml": "one"})
    )


async def test_a_lost_race_on_the_registry_is_reread_and_keeps_both_writes(
    api: client.ApiClient, k8s_namespace: str
) -> None:
    rival = client.CoreV1Api(api)
    _configmap(rival, k8s_namespace)
    kube = Kube(api)
    kube.core = raced = RacedCore(api, rival, races=2)
    await kube.publish(k8s_namespace, REGISTRY, "v2.yaml", "two")
    assert raced.conflicts == 2 and raced.replaces == 3
    data = rival.read_namespaced_config_map(REGISTRY, k8s_namespace).data
    assert data == {"v1.yaml": "one", "rival-1": "x", "rival-2": "x", "v2.yaml": "two"}


async def test_a_registry_write_that_always_loses_fails_as_a_typed_conflict(
    api: client.ApiClient, k8s_namespace: str
) -> None:
    rival = client.CoreV1Api(api)
    _configmap(rival, k8s_namespace)
    kube = Kube(api)
    kube.core = raced = RacedCore(api, rival, races=100)
    with pytest.raises(KubernetesConflictError, match="still conflicting after 5 tries"):
        await kube.publish(k8s_namespace, REGISTRY, "v2.yaml", "two")
    assert raced.conflicts == 5
    assert "v2.yaml" not in (rival.read_namespaced_config_map(REGISTRY, k8s_namespace).data or {})


async def test_a_status_write_from_a_stale_read_is_refused(
    api: client.ApiClient, k8s_namespace: str, operator_crds: None
) -> None:
    objects = client.CustomObjectsApi(api)
    body = {
        "apiVersion": "tipsml.io/v1alpha1",
        "kind": "ModelRollout",
        "metadata": {"name": "r"},
        "spec": {"modelName": "tip-scorer", "candidate": {"version": "2", "storageUri": "s3://models/2"}},
    }
    objects.create_namespaced_custom_object(**MR, namespace=k8s_namespace, body=body)
    kube = Kube(api)
    stale = await kube.get_rollout(k8s_namespace, "r")
    # Someone else moves the rollout on (another replica, a person) after our read.
    objects.patch_namespaced_custom_object_status(
        **MR, namespace=k8s_namespace, name="r", body={"status": {"phase": "Failed", "message": "by hand"}}
    )
    with pytest.raises(ApiException) as refused:
        await kube.write_rollout_status(
            k8s_namespace, "r", {"phase": "Shadow"}, stale["metadata"]["resourceVersion"]
        )
    assert refused.value.status == 409
    status = (await kube.get_rollout(k8s_namespace, "r"))["status"]
    assert status["phase"] == "Failed" and status["message"] == "by hand"
