"""The operator's Kubernetes writes: the prompt registry ConfigMap, rollout status and Events' targets.

Every write is safe to repeat. Read-modify-write updates carry the ``resourceVersion`` they read, so a
concurrent writer makes the API server answer 409 and the update is re-read and re-applied
(:func:`retry_conflicts`) instead of silently overwriting the other writer. The official client is
synchronous; every call here runs in a worker thread so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any, Final, TypeVar

from kubernetes import client, config
from kubernetes.client.rest import ApiException

from contracts import crds
from operators.errors import KubernetesConflictError

T = TypeVar("T")
CONFLICT_ATTEMPTS: Final = 5
CONFLICT_FIRST_DELAY_SECONDS: Final = 0.05
"""Wait before the first re-read after a 409; doubles per attempt (0.05 .. 0.4 s over five attempts)."""
ISVC: Final = {"group": "serving.kserve.io", "version": "v1beta1", "plural": "inferenceservices"}
ROLLOUTS: Final = {"group": crds.GROUP, "version": crds.VERSION, "plural": crds.MODEL_ROLLOUT_PLURAL}
HTTP_ROUTES: Final = {"group": "gateway.networking.k8s.io", "version": "v1", "plural": "httproutes"}


def api_client() -> client.ApiClient:
    """In a Pod the service account; elsewhere ``$KUBECONFIG`` / ``~/.kube/config``."""
    try:
        config.load_incluster_config()
        return client.ApiClient()
    except config.ConfigException:
        # The library reads $KUBECONFIG once at its import; read it now so a late setting counts.
        return config.new_client_from_config(config_file=os.environ.get("KUBECONFIG"))


async def retry_conflicts(update: Callable[[], T], what: str, attempts: int = CONFLICT_ATTEMPTS) -> T:
    """Run the read-modify-write ``update`` in a thread, again from the read when it hits a 409."""
    for attempt in range(attempts):
        try:
            return await asyncio.to_thread(update)
        except ApiException as e:
            if e.status != 409 or attempt == attempts - 1:
                if e.status == 409:
                    raise KubernetesConflictError(f"{what}: still conflicting after {attempts} tries") from e
                raise
            await asyncio.sleep(CONFLICT_FIRST_DELAY_SECONDS * 2**attempt)
    raise AssertionError("unreachable")


class Kube:
    """Typed access to the handful of objects the operator touches."""

    def __init__(self, api: client.ApiClient) -> None:
        self.api = api
        self.core = client.CoreV1Api(api)
        self.objects = client.CustomObjectsApi(api)
        self.apps = client.AppsV1Api(api)

    # --- prompt registry ConfigMap ---------------------------------------------------------------

    async def publish(self, namespace: str, name: str, key: str, value: str | None) -> None:
        """Set (or with None remove) one registry key, creating the ConfigMap when missing."""

        def update() -> None:
            try:
                cm = self.core.read_namespaced_config_map(name, namespace)
            except ApiException as e:
                if e.status != 404 or value is None:
                    if e.status == 404:
                        return
                    raise
                body = client.V1ConfigMap(
                    metadata=client.V1ObjectMeta(
                        name=name, labels={"app.kubernetes.io/managed-by": "tipsml-operator"}
                    ),
                    data={key: value},
                )
                self.core.create_namespaced_config_map(namespace, body)  # a racing creator → 409 → retry
                return
            data = dict(cm.data or {})
            if data.get(key) == value or (value is None and key not in data):
                return
            if value is None:
                del data[key]
            else:
                data[key] = value
            cm.data = data
            self.core.replace_namespaced_config_map(name, namespace, cm)  # carries resourceVersion

        await retry_conflicts(update, f"configmap {namespace}/{name}")

    # --- ModelRollout ----------------------------------------------------------------------------

    async def get_rollout(self, namespace: str, name: str) -> dict[str, Any]:
        """The rollout as stored now."""
        body: dict[str, Any] = await asyncio.to_thread(
            self.objects.get_namespaced_custom_object, **ROLLOUTS, namespace=namespace, name=name
        )
        return body

    async def write_rollout_status(
        self, namespace: str, name: str, status: dict[str, Any], resource_version: str
    ) -> None:
        """Replace the status, only if nobody changed the object since it was read (else 409)."""
        body = {"metadata": {"resourceVersion": resource_version}, "status": status}
        await asyncio.to_thread(
            self.objects.patch_namespaced_custom_object_status,
            **ROLLOUTS,
            namespace=namespace,
            name=name,
            body=body,
        )

    # --- InferenceServices -----------------------------------------------------------------------

    async def get_isvc(self, namespace: str, name: str) -> dict[str, Any] | None:
        """An InferenceService, or None when it does not exist."""
        return await self._get_custom(ISVC, namespace, name)

    async def edit_isvc(self, namespace: str, name: str, edit: Callable[[dict[str, Any]], bool]) -> bool:
        """Read, let ``edit`` change the object in place (returning whether it did), write back on change.

        Returns False when the InferenceService does not exist.
        """
        return await self._edit_custom(ISVC, namespace, name, edit, "inferenceservice")

    async def put_isvc(self, namespace: str, body: dict[str, Any]) -> None:
        """Create the InferenceService ``body``, or replace its spec when it exists."""
        name = body["metadata"]["name"]

        def update() -> None:
            try:
                current = self.objects.get_namespaced_custom_object(**ISVC, namespace=namespace, name=name)
            except ApiException as e:
                if e.status != 404:
                    raise
                self.objects.create_namespaced_custom_object(**ISVC, namespace=namespace, body=body)
                return
            if current.get("spec") == body["spec"] and _sub(current, body, "labels"):
                return
            current["spec"] = body["spec"]
            current["metadata"].setdefault("labels", {}).update(body["metadata"].get("labels", {}))
            current["metadata"].setdefault("annotations", {}).update(body["metadata"].get("annotations", {}))
            self.objects.replace_namespaced_custom_object(
                **ISVC, namespace=namespace, name=name, body=current
            )

        await retry_conflicts(update, f"inferenceservice {namespace}/{name}")

    async def delete_isvc(self, namespace: str, name: str) -> None:
        """Delete an InferenceService; already gone is fine."""
        try:
            await asyncio.to_thread(
                self.objects.delete_namespaced_custom_object, **ISVC, namespace=namespace, name=name
            )
        except ApiException as e:
            if e.status != 404:
                raise


    # --- Deployments (Standard mode's canary) ----------------------------------------------------

    async def get_deployment(self, namespace: str, name: str) -> dict[str, Any] | None:
        """A Deployment as its JSON body (camelCase keys), or None when it does not exist."""
        try:
            obj = await asyncio.to_thread(self.apps.read_namespaced_deployment, name, namespace)
        except ApiException as e:
            if e.status == 404:
                return None
            raise
        body: dict[str, Any] = self.api.sanitize_for_serialization(obj)
        return body

    async def put_deployment(self, namespace: str, body: dict[str, Any]) -> None:
        """Create the Deployment ``body``, or replace it when its replicas or metadata differ.

        The caller puts a digest of the spec it wants in an annotation, so a changed template shows there.
        """
        name = body["metadata"]["name"]

        def update() -> None:
            try:
                current = self.api.sanitize_for_serialization(self.apps.read_namespaced_deployment(name, namespace))
            except ApiException as e:
                if e.status != 404:
                    raise
                self.apps.create_namespaced_deployment(namespace, body)
                return
            # The API server defaults fields of the spec it stores, so "unchanged" is read from what we wrote.
            wanted_meta = {k: body["metadata"].get(k) for k in ("labels", "annotations", "ownerReferences")}
            if current["spec"].get("replicas") == body["spec"].get("replicas") and all(
                current["metadata"].get(k) == v for k, v in wanted_meta.items()
            ):
                return
            current["spec"] = body["spec"]
            current["metadata"].update(wanted_meta)
            self.apps.replace_namespaced_deployment(name, namespace, current)  # carries resourceVersion

        await retry_conflicts(update, f"deployment {namespace}/{name}")

    async def delete_deployment(self, namespace: str, name: str) -> None:
        """Delete a Deployment (its ReplicaSets and Pods follow in the background); already gone is fine."""
        try:
            await asyncio.to_thread(
                self.apps.delete_namespaced_deployment, name, namespace, propagation_policy="Background"
            )
        except ApiException as e:
            if e.status != 404:
                raise

    # --- Gateway API route and Service (Standard mode's weighted canary) -------------------------

    async def get_route(self, namespace: str, name: str) -> dict[str, Any] | None:
        """An HTTPRoute, or None when it (or the Gateway API) does not exist."""
        return await self._get_custom(HTTP_ROUTES, namespace, name)

    async def _get_custom(self, kind: dict[str, str], namespace: str, name: str) -> dict[str, Any] | None:
        """One custom object (``kind``: group, version, plural), or None when it does not exist."""
        try:
            body: dict[str, Any] = await asyncio.to_thread(
                self.objects.get_namespaced_custom_object, **kind, namespace=namespace, name=name
            )
        except ApiException as e:
            if e.status == 404:
                return None
            raise
        return body

    async def edit_route(self, namespace: str, name: str, edit: Callable[[dict[str, Any]], bool]) -> bool:
        """Read the HTTPRoute, let ``edit`` change it in place, write back on change; False when it is missing."""
        return await self._edit_custom(HTTP_ROUTES, namespace, name, edit, "httproute")

    async def _edit_custom(
        self, kind: dict[str, str], namespace: str, name: str, edit: Callable[[dict[str, Any]], bool], what: str
    ) -> bool:
        """Read-modify-write one custom object (``kind``: group, version, plural); False when it does not exist."""

        def update() -> bool:
            try:
                obj = self.objects.get_namespaced_custom_object(**kind, namespace=namespace, name=name)
            except ApiException as e:
                if e.status == 404:
                    return False
                raise
            if edit(obj):
                self.objects.replace_namespaced_custom_object(**kind, namespace=namespace, name=name, body=obj)
            return True

        return await retry_conflicts(update, f"{what} {namespace}/{name}")

    async def get_service(self, namespace: str, name: str) -> dict[str, Any] | None:
        """A Service as its JSON body, or None when it does not exist."""
        try:
            obj = await asyncio.to_thread(self.core.read_namespaced_service, name, namespace)
        except ApiException as e:
            if e.status == 404:
                return None
            raise
        body: dict[str, Any] = self.api.sanitize_for_serialization(obj)
        return body

    async def put_service(self, namespace: str, body: dict[str, Any]) -> None:
        """Create the Service ``body``, or set its selector and ports when they differ."""
        name = body["metadata"]["name"]

        def update() -> None:
            try:
                current = self.api.sanitize_for_serialization(self.core.read_namespaced_service(name, namespace))
            except ApiException as e:
                if e.status != 404:
                    raise
                self.core.create_namespaced_service(namespace, body)
                return
            if current["spec"].get("selector") == body["spec"]["selector"] and _ports(current) == _ports(body):
                return
            current["spec"]["selector"], current["spec"]["ports"] = body["spec"]["selector"], body["spec"]["ports"]
            self.core.replace_namespaced_service(name, namespace, current)  # carries resourceVersion

        await retry_conflicts(update, f"service {namespace}/{name}")

    async def delete_service(self, namespace: str, name: str) -> None:
        """Delete a Service; already gone is fine."""
        try:
            await asyncio.to_thread(self.core.delete_namespaced_service, name, namespace)
        except ApiException as e:
            if e.status != 404:
                raise


def _ports(service: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: p.get(k) for k in ("name", "port", "protocol", "targetPort")} for p in service["spec"]["ports"]]


def _sub(current: dict[str, Any], wanted: dict[str, Any], field: str) -> bool:
    have = current["metadata"].get(field) or {}
    return all(have.get(k) == v for k, v in (wanted["metadata"].get(field) or {}).items())
