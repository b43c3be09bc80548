"""What a rollout's actions do to KServe InferenceServices and the MLflow registry.

Canary uses KServe's own mechanism: changing the predictor (our scorer reads ``TIPSML_MODEL_URI`` and
``TIPSML_MODEL_VERSION``; a ``model:`` predictor gets ``storageUri``) creates a new revision, and
``canaryTrafficPercent`` splits traffic between it and the last fully rolled-out revision. Promotion drops
the split; rollback restores the baseline's settings, which were recorded in annotations on the first
change, so a restarted operator can still restore them.

KServe's Standard (RawDeployment) mode does not honour ``canaryTrafficPercent``: there is one Deployment per
component, so changing the predictor would roll every replica to the candidate at once (in KServe v0.20.0 only
the Knative reconciler reads it). There the canary is a replica-ratio split (:mod:`operators.canary_split`): a
canary Deployment serving the candidate behind the predictor's own Service, sized per step, while the
InferenceService keeps serving the champion until promotion. Steps the ratio cannot approximate are refused
before anything changes (:func:`traffic_mechanism`). A rollout that names an HTTPRoute
(``canary.trafficRouting.httpRoute``) is split by that route's weights instead (:mod:`operators.canary_route`).
KServe v0.20.0's Standard-mode ``spec.canary`` is no way out yet: it only accepts a predictor with ``model:``
or a ``storageUri`` (our scorer is a custom container loading from MLflow), needs the ``Standard`` annotation
on the InferenceService itself, and routes nothing by itself (no reconciler reads its ``trafficPercent``; it
sizes a second Deployment with its own Service).

Shadow: the champion's requests are mirrored to the challenger with KServe's inference logger. The
champion's ``spec.predictor.logger`` (mode ``all``: request and response CloudEvents) points at a second
InferenceService, ``<name>-shadow``, running the candidate with ``TIPSML_ROLE=shadow``. The logger is
fire-and-forget and off the response path, so the shadow's answers never reach users; in the shadow role
the scorer writes nothing (no events, no feature pushes) and only exports metrics: its own latency, errors
and score histogram, plus the rank agreement between its ranking and the champion's logged response.

In Standard mode KServe points the predictor Service at the agent's port (9081) as soon as the logger is set,
before the Pods without an agent are replaced; the scorer in such a Pod answers on that port too
(``ScorerSettings.kserve_agent``), so none of their connections is refused. Turning the logger off is safe
(agent Pods also serve on the container port).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any, Final

from operators.canary_route import (
    canary_service,
    own_pod_labels,
    route_canary_replicas,
    route_mechanism,
    set_weights,
)
from operators.canary_split import (
    PREDICTOR_SUFFIX,
    REPLICA_SPLIT,
    achieved_percent,
    canary_deployment_name,
    canary_of,
    canary_replicas,
    check_steps,
    predictor_deployment,
)
from operators.container_env import ENV_MODEL_URI, ENV_MODEL_VERSION, ENV_ROLE, set_env
from operators.errors import CanaryUnsupportedError, InferenceServiceMissingError
from operators.kube import Kube
from operators.model_registry import ChampionRegistry
from operators.rollout_machine import (
    Action,
    MoveChampion,
    PromoteModel,
    RestoreBaseline,
    SetCanary,
    StartShadow,
    StopShadow,
)
from operators.settings import OperatorSettings

ANNOTATION_VERSION: Final = "tipsml.io/model-version"
ANNOTATION_BASELINE_VERSION: Final = "tipsml.io/baseline-model-version"
ANNOTATION_BASELINE_URI: Final = "tipsml.io/baseline-model-uri"
SHADOW_SUFFIX: Final = "-shadow"
DEPLOYMENT_MODE_ANNOTATION: Final = "serving.kserve.io/deploymentMode"


STANDARD_MODES: Final = ("Standard", "RawDeployment")
KNATIVE_SPLIT: Final = "Serverless: Knative revisions, canaryTrafficPercent"


def deployment_mode(isvc: dict[str, Any]) -> str | None:
    """The KServe mode the controller reconciled ``isvc`` in (its status), else the one its annotation asks for."""
    mode = (isvc.get("status") or {}).get("deploymentMode") or _annotations(isvc).get(DEPLOYMENT_MODE_ANNOTATION)
    return str(mode) if mode else None


def traffic_mechanism(isvc: dict[str, Any], weights: list[int], route: str | None = None) -> str:
    """How the canary steps' ``weights`` reach users on ``isvc``; raises when its mode cannot split them.

    ``route``: the HTTPRoute the rollout names (``canary.trafficRouting.httpRoute``), for Standard mode only.
    """
    mode = deployment_mode(isvc)
    if route is not None:
        if mode not in STANDARD_MODES:
            raise CanaryUnsupportedError(
                f"InferenceService {isvc['metadata']['name']} runs in KServe {mode or 'Serverless'} mode, where "
                "Knative splits the canary by canaryTrafficPercent: drop canary.trafficRouting"
            )
        return route_mechanism(route)
    if mode in STANDARD_MODES:
        stable = int(isvc["spec"].get("predictor", {}).get("minReplicas") or 1)
        check_steps(isvc["metadata"]["name"], weights, stable)
        return REPLICA_SPLIT
    return KNATIVE_SPLIT if mode in (None, "Serverless") else f"{mode}: canaryTrafficPercent"


def model_uri(model_name: str, version: str, storage_uri: str | None) -> str:
    """Where the scorer loads ``version`` from: its storage URI, else the MLflow registry."""
    return storage_uri or f"models:/{model_name}/{version}"


def _annotations(obj: dict[str, Any]) -> dict[str, str]:
    annotations: dict[str, str] = obj["metadata"].setdefault("annotations", {})
    return annotations


def _containers(predictor: dict[str, Any]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = predictor.get("containers") or []
    return containers


def current_model(obj: dict[str, Any]) -> tuple[str | None, str | None]:
    """(version, uri) the predictor serves now, read from its first container's env or ``model``."""
    predictor = obj["spec"].get("predictor", {})
    version, uri = _annotations(obj).get(ANNOTATION_VERSION), None
    for container in _containers(predictor)[:1]:
        env = {e.get("name"): e.get("value") for e in container.get("env") or []}
        version, uri = env.get(ENV_MODEL_VERSION, version), env.get(ENV_MODEL_URI)
    if "model" in predictor:
        uri = predictor["model"].get("storageUri", uri)
    return version, uri


def set_model(obj: dict[str, Any], version: str, uri: str | None) -> None:
    """Point the predictor at ``version`` (and ``uri`` when known)."""
    predictor = obj["spec"].setdefault("predictor", {})
    for container in _containers(predictor)[:1]:
        set_env(container, ENV_MODEL_VERSION, version)
        if uri:
            set_env(container, ENV_MODEL_URI, uri)
    if "model" in predictor and uri:
        predictor["model"]["storageUri"] = uri
    _annotations(obj)[ANNOTATION_VERSION] = version


def remember_baseline(obj: dict[str, Any]) -> None:
    """Record what serves now, once per rollout, so a rollback (even after a restart) can restore it."""
    annotations = _annotations(obj)
    if ANNOTATION_BASELINE_VERSION in annotations:
        return
    version, uri = current_model(obj)
    annotations[ANNOTATION_BASELINE_VERSION] = version or ""
    annotations[ANNOTATION_BASELINE_URI] = uri or ""


def shadow_of(champion: dict[str, Any], version: str, uri: str) -> dict[str, Any]:
    """The shadow InferenceService: the champion's predictor with the candidate model and role shadow."""
    name = champion["metadata"]["name"] + SHADOW_SUFFIX
    predictor = copy.deepcopy(champion["spec"].get("predictor", {}))
    for key in ("logger", "canaryTrafficPercent"):
        predictor.pop(key, None)
    # One replica: the logger's request and response events for one id must reach the same process to pair
    # (predictors/scorer/shadow.py); a Service spreading them over replicas would leave most unpaired.
    predictor["minReplicas"] = predictor["maxReplicas"] = 1
    shadow = {
        "apiVersion": champion["apiVersion"],
        "kind": champion["kind"],
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/part-of": "tipsml", "tipsml.io/role": "shadow"},
            "annotations": {ANNOTATION_VERSION: version},
        },
        "spec": {"predictor": predictor},
    }
    set_model(shadow, version, uri)
    for container in _containers(predictor)[:1]:
        set_env(container, ENV_ROLE, "shadow")
    return shadow


class RolloutEffects:
    """Applies :mod:`operators.rollout_machine` actions for one rollout."""

    def __init__(
        self,
        kube: Kube,
        champions: ChampionRegistry,
        settings: OperatorSettings,
        namespace: str,
        rollout: str,
        model_name: str,
        service: str,
        mechanism: str | None = None,
        owner: dict[str, Any] | None = None,
        route: str | None = None,
        percent: int = 0,
    ) -> None:
        self._kube, self._champions, self._settings = kube, champions, settings
        self._ns, self._rollout, self._model, self._service = namespace, rollout, model_name, service
        self._mechanism, self._owner = mechanism, owner
        self._route, self._percent = route, percent
        """``route``: the HTTPRoute whose weights split the canary (else none); ``percent``: the step's weight."""
        self.split: str | None = None
        """After a replica-ratio or route step: the split, e.g. "1 of 4 Pods (25 %)"."""

    async def apply(self, action: Action) -> None:
        """Apply one action; every action is idempotent."""
        if isinstance(action, StartShadow):
            await self._start_shadow(action)
        elif isinstance(action, StopShadow):
            await self._kube.delete_isvc(self._ns, self._service + SHADOW_SUFFIX)
            await self._edit(_drop_logger, action)
        elif isinstance(action, SetCanary) and self._route is not None:
            await self._set_route_canary(action)
        elif isinstance(action, SetCanary) and self._mechanism == REPLICA_SPLIT:
            await self._set_replica_canary(action)
        elif isinstance(action, SetCanary | PromoteModel):
            uri = model_uri(self._model, action.candidate_version, action.storage_uri)
            percent = action.percent if isinstance(action, SetCanary) else None
            await self._edit(lambda obj: _route(obj, action.candidate_version, uri, percent), action)
            if isinstance(action, PromoteModel):  # the predictor now serves the candidate everywhere
                await self._drop_canary()
        elif isinstance(action, RestoreBaseline):
            await self._edit(_restore, action)
            await self._drop_canary()
        elif isinstance(action, MoveChampion):
            await asyncio.to_thread(
                self._champions.move_champion,
                self._model,
                action.version,
                rollout=f"{self._ns}/{self._rollout}",
                reason=action.reason,
            )

    async def _edit(self, edit: Callable[[dict[str, Any]], bool], action: Action) -> None:
        """Edit the rollout's InferenceService; its absence is an error, never a silent no-op.

        A rollback that quietly found nothing to edit would leave the status saying "rolled back" while a
        canary split (recreated with the InferenceService) still sends users to the challenger.
        """
        if not await self._kube.edit_isvc(self._ns, self._service, edit):
            raise InferenceServiceMissingError(
                f"InferenceService {self._ns}/{self._service} not found: {type(action).__name__} not applied"
            )

    async def _start_shadow(self, action: StartShadow) -> None:
        uri = model_uri(self._model, action.candidate_version, action.storage_uri)
        champion = await self._kube.get_isvc(self._ns, self._service)
        if champion is None:
            raise InferenceServiceMissingError(f"InferenceService {self._ns}/{self._service} not found")
        await self._kube.put_isvc(self._ns, shadow_of(champion, action.candidate_version, uri))
        url = self._settings.shadow_url_template.format(
            service=self._service + SHADOW_SUFFIX, namespace=self._ns, model=self._model
        )

        def mirror(obj: dict[str, Any]) -> bool:
            before = copy.deepcopy(obj)
            remember_baseline(obj)
            obj["spec"].setdefault("predictor", {})["logger"] = {"mode": "all", "url": url}
            return obj != before

        await self._edit(mirror, action)


    async def canary_pending(self) -> str | None:
        """Why a replica-ratio or route step is not serving at its share yet, or None once it is.

        The share is ``k / (stable + k)`` only when every canary Pod is ready and the predictor's own
        Deployment is settled: right after the shadow phase its Pods roll (the logger sidecar goes), and
        while old and new ones are both ready the candidate's share is lower than the step's. A route step
        waits for the same, then sets the step's weights if they are not yet the route's (and waits one more pass).
        """
        pending = await self._pods_pending()
        if pending is None and self._route is not None and self._percent and await self._weigh(self._percent):
            # The window opens with the next pass: this one's samples came before the weights.
            return f"HTTPRoute {self._route} weighted {self._percent} % just now"
        return pending

    async def _pods_pending(self) -> str | None:
        name = canary_deployment_name(self._service)
        for what, deployment in (
            ("the canary Pods", await self._kube.get_deployment(self._ns, name)),
            ("the predictor's rollout", await self._kube.get_deployment(self._ns, predictor_deployment(self._service))),
        ):
            if deployment is None:
                return f"{what}: Deployment not found yet"
            if (pending := deployment_pending(deployment)) is not None:
                return f"waiting for {what}: {pending}"
        return None

    async def _canary_body(self, action: SetCanary, sizing: Callable[[int, int], int]) -> tuple[dict[str, Any], int]:
        """The canary Deployment for ``action``, sized ``sizing(weight, stable replicas)``; and that stable count."""
        name = predictor_deployment(self._service)
        stable = await self._kube.get_deployment(self._ns, name)
        if stable is None:
            raise InferenceServiceMissingError(
                f"Deployment {self._ns}/{name} not found: KServe has not reconciled {self._service} (yet)"
            )
        if self._owner is None:
            raise ValueError("a canary Deployment needs its ModelRollout as owner")
        serving = int(stable["spec"].get("replicas") or 1)
        uri = model_uri(self._model, action.candidate_version, action.storage_uri)
        replicas = sizing(action.percent, serving)
        body = canary_of(stable, version=action.candidate_version, uri=uri, replicas=replicas, owner=self._owner)
        return body, serving

    async def _set_replica_canary(self, action: SetCanary) -> None:
        body, serving = await self._canary_body(action, canary_replicas)
        await self._kube.put_deployment(self._ns, body)
        replicas = body["spec"]["replicas"]
        self.split = f"{replicas} of {replicas + serving} Pods ({achieved_percent(replicas, serving):.0f} %)"

    async def _set_route_canary(self, action: SetCanary) -> None:
        """Canary Pods and their Service; the route's weights move now if a canary Pod is ready already."""
        assert self._route is not None
        body, _ = await self._canary_body(action, route_canary_replicas)
        own_pod_labels(body)
        stable_service = await self._kube.get_service(self._ns, self._service + PREDICTOR_SUFFIX)
        if stable_service is None:
            raise InferenceServiceMissingError(
                f"Service {self._ns}/{self._service + PREDICTOR_SUFFIX} not found: KServe has not reconciled "
                f"{self._service} (yet)"
            )
        await self._kube.put_deployment(self._ns, body)
        owner = body["metadata"]["ownerReferences"][0]
        await self._kube.put_service(self._ns, canary_service(stable_service, body, owner))
        self._percent = action.percent
        current = await self._kube.get_deployment(self._ns, body["metadata"]["name"])
        if current is not None and int((current.get("status") or {}).get("readyReplicas") or 0) > 0:
            await self._weigh(action.percent)
        replicas = body["spec"]["replicas"]
        self.split = f"HTTPRoute {self._route}: {action.percent} % of requests to {replicas} canary Pod(s)"

    async def _weigh(self, percent: int | None) -> bool:
        """Set the route's canary weight (None: none); whether the route changed."""
        assert self._route is not None
        changed: list[bool] = []

        def edit(route: dict[str, Any]) -> bool:
            changed.append(set_weights(route, self._service, percent))
            return changed[-1]

        if not await self._kube.edit_route(self._ns, self._route, edit) and percent is not None:
            raise CanaryUnsupportedError(f"HTTPRoute {self._ns}/{self._route} is gone: the canary cannot be weighted")
        return any(changed)

    async def _drop_canary(self) -> None:
        """The predictor's Service gets all the route's traffic, then the canary's Pods and Service go."""
        if self._route is not None:
            await self._weigh(None)
            await self._kube.delete_service(self._ns, canary_deployment_name(self._service))
        await self._kube.delete_deployment(self._ns, canary_deployment_name(self._service))


def deployment_pending(deployment: dict[str, Any]) -> str | None:
    """None when every Pod of ``deployment`` runs its current template and is ready (and no others are left)."""
    want = int(deployment["spec"].get("replicas") or 0)
    status = deployment.get("status") or {}
    ready, updated = int(status.get("readyReplicas") or 0), int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    current = int(status.get("observedGeneration") or 0) >= int(deployment["metadata"].get("generation") or 0)
    if current and ready >= want and updated >= want and total <= want:
        return None
    old = f", {total - want} old Pod(s) still serving" if total > want else ""
    return f"{min(ready, updated)}/{want} ready{old}"


def _drop_logger(obj: dict[str, Any]) -> bool:
    return obj["spec"].get("predictor", {}).pop("logger", None) is not None


def _route(obj: dict[str, Any], version: str, uri: str, percent: int | None) -> bool:
    before = copy.deepcopy(obj)
    remember_baseline(obj)
    set_model(obj, version, uri)
    predictor = obj["spec"]["predictor"]
    if percent is None:
        predictor.pop("canaryTrafficPercent", None)
        for key in (ANNOTATION_BASELINE_VERSION, ANNOTATION_BASELINE_URI):
            _annotations(obj).pop(key, None)
    else:
        predictor["canaryTrafficPercent"] = percent
    return obj != before


def _restore(obj: dict[str, Any]) -> bool:
    annotations = _annotations(obj)
    if ANNOTATION_BASELINE_VERSION not in annotations:
        return False  # never changed (rolled back from Pending or already restored)
    version = annotations.pop(ANNOTATION_BASELINE_VERSION)
    uri = annotations.pop(ANNOTATION_BASELINE_URI, "")
    if version:
        set_model(obj, version, uri or None)
    obj["spec"].get("predictor", {}).pop("canaryTrafficPercent", None)
    return True
