"""kopf handlers: thin wrappers that call the plain logic in this package and report through status + Events.

Handler ids are part of the stored progress (annotations) and must never change. Error semantics are
chosen per cause: an invalid PromptVersion is a ``PermanentError`` (retrying cannot fix what the user wrote);
API hiccups, a default version being deleted, and unreachable metrics are ``TemporaryError``s with a delay.

Run with ``python -m operators`` (reads :class:`~operators.settings.OperatorSettings`) or
``kopf run -m operators.handlers``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import UTC, datetime
from typing import Any, cast

import kopf
from kubernetes.client.rest import ApiException

from contracts import crds
from contracts.prompt_registry import registry_document_text, registry_filename
from contracts.runtime import apply_offline_switches
from operators.errors import InvalidPromptError, OperatorError
from operators.kube import Kube, api_client
from operators.model_registry import ChampionRegistry
from operators.prompts import invalid_status, ready_status, validate_prompt
from operators.rollout_driver import Runtime, drive_once, metrics_provider
from operators.settings import OperatorSettings

PV = (crds.GROUP, crds.VERSION, crds.PROMPT_VERSION_PLURAL)
MR = (crds.GROUP, crds.VERSION, crds.MODEL_ROLLOUT_PLURAL)
TERMINAL = {phase.value for phase in crds.RolloutPhase if phase.is_terminal}
WATCH_SERVER_TIMEOUT_SECONDS = 300
"""How long the API server keeps one watch open before kopf re-lists: a watch silently lost (a proxy or load
balancer dropping an idle connection) is noticed within this time, at the cost of one list per interval."""


@kopf.on.startup(id="configure")
async def configure(settings: kopf.OperatorSettings, memo: Any, logger: kopf.Logger, **_: Any) -> None:
    """Read settings once, build the collaborators, and keep kopf's own state in annotations.

    Progress and diff-base live in annotations (not ``status``): the CRD schemas are structural, so the
    API server would prune anything kopf wrote into status fields it does not know.
    """
    apply_offline_switches()
    cfg: OperatorSettings = memo.get("settings") or OperatorSettings()
    settings.peering.name = cfg.peering_name
    settings.peering.priority = peering_priority(cfg)
    settings.peering.lifetime = cfg.peering_lifetime_seconds
    settings.peering.mandatory = not cfg.standalone
    settings.persistence.finalizer = f"{crds.GROUP}/operator"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=crds.GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=crds.GROUP, key="last-handled-configuration"
    )
    settings.posting.level = logging.INFO
    # The liveness endpoint's access lines (one per probe, every replica) would bury what the operator did.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    settings.watching.server_timeout = WATCH_SERVER_TIMEOUT_SECONDS
    memo.runtime = Runtime(
        settings=cfg,
        kube=Kube(api_client()),
        champions=ChampionRegistry(cfg.mlflow_tracking_uri, cfg.model_card_artifact),
        metrics=metrics_provider(cfg),
    )
    logger.info(
        "operator configured: metrics from %s, registry ConfigMap %s, peering %s",
        cfg.metrics_source.value,
        cfg.registry_configmap,
        "off" if cfg.standalone else f"{cfg.peering_name} at priority {settings.peering.priority}",
    )


def peering_priority(cfg: OperatorSettings) -> int:
    """The configured priority, else a random one (1..2^31-1), so replicas of one Deployment differ."""
    return cfg.priority if cfg.priority is not None else secrets.randbelow(2**31 - 1) + 1


@kopf.on.login(id="login")
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """The Pod's service account in a cluster, else ``$KUBECONFIG`` as it is now (not at import time)."""
    return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)


@kopf.on.cleanup(id="close")
async def close(memo: Any, **_: Any) -> None:
    """Release HTTP connections."""
    runtime: Runtime | None = memo.get("runtime")
    if runtime is not None:
        await runtime.metrics.aclose()
        await asyncio.to_thread(runtime.kube.api.close)


# --- PromptVersion ---------------------------------------------------------------------------------


@kopf.on.resume(*PV, id="prompt-resume")
@kopf.on.create(*PV, id="prompt-create")
@kopf.on.update(*PV, id="prompt-update")
async def reconcile_prompt(
    spec: kopf.Spec,
    status: kopf.Status,
    meta: kopf.Meta,
    body: kopf.Body,
    namespace: str | None,
    patch: kopf.Patch,
    memo: Any,
    logger: kopf.Logger,
    **_: Any,
) -> None:
    """Validate, then publish to (or withdraw from) the registry ConfigMap, and report in status."""
    rt: Runtime = memo.runtime
    old = crds.PromptVersionStatus.model_validate(dict(status) if status else {})
    generation = meta.get("generation")
    now = datetime.now(UTC)
    key = registry_filename(str(spec.get("version") or meta["name"]))
    try:
        parsed = validate_prompt(dict(spec))
    except InvalidPromptError as e:
        await _publish(rt, namespace, key, None)
        patch.status.update(invalid_status(e, old, now, generation).model_dump(by_alias=True, mode="json"))
        kopf.warn(body, reason="Invalid", message=str(e))
        raise kopf.PermanentError(str(e)) from e
    await _publish(rt, namespace, key, registry_document_text(parsed))
    new = ready_status(parsed, old, now, generation)
    patch.status.update(new.model_dump(by_alias=True, mode="json"))
    if old.content_hash != new.content_hash or old.phase is not crds.PromptPhase.READY:
        kopf.info(body, reason="Published", message=f"{key} in ConfigMap {rt.settings.registry_configmap}")
    logger.info("prompt version %s ready (hash %s)", meta["name"], new.content_hash)


@kopf.on.delete(*PV, id="prompt-delete")
async def withdraw_prompt(
    spec: kopf.Spec, meta: kopf.Meta, body: kopf.Body, namespace: str | None, memo: Any, **_: Any
) -> None:
    """Take the version out of the registry; hold the deletion while it is still the default."""
    rt: Runtime = memo.runtime
    if spec.get("default"):
        message = f"{meta['name']} is the default prompt version: set spec.default=false first"
        kopf.warn(body, reason="DeletionBlocked", message=message)
        raise kopf.TemporaryError(message, delay=rt.settings.retry_delay_seconds)
    await _publish(rt, namespace, registry_filename(str(spec.get("version") or meta["name"])), None)


async def _publish(rt: Runtime, namespace: str | None, key: str, value: str | None) -> None:
    if namespace is None:
        raise kopf.PermanentError("PromptVersion is namespaced; got a cluster-scoped event")
    try:
        await rt.kube.publish(namespace, rt.settings.registry_configmap, key, value)
    except (ApiException, OperatorError) as e:
        raise kopf.TemporaryError(
            f"registry ConfigMap update failed: {e}", delay=rt.settings.retry_delay_seconds
        ) from e


# --- ModelRollout ----------------------------------------------------------------------------------


def _running(status: kopf.Status, **_: Any) -> bool:
    return status.get("phase") not in TERMINAL


def _ended(status: kopf.Status, **_: Any) -> bool:
    return status.get("phase") in TERMINAL


@kopf.on.field(*MR, id="abort-after-end", field="spec.abort", when=_ended)
def abort_after_end(
    new: Any, status: kopf.Status, spec: kopf.Spec, body: kopf.Body, logger: kopf.Logger, **_: Any
) -> None:
    """``spec.abort`` on a rollout that already ended changes nothing; say so, and how to go back.

    As in Argo Rollouts, abort only stops a rollout in flight. Undoing a promotion is a new rollout whose
    candidate is the previous champion, which goes through the same gates.
    """
    if not new:
        return
    phase = status.get("phase")
    previous = status.get("previousChampion")
    how = (
        f"create a ModelRollout with candidate version {previous} (the previous champion) to go back"
        if phase == crds.RolloutPhase.PROMOTED.value and previous
        else "nothing to undo"
    )
    message = f"spec.abort ignored: the rollout already ended {phase}; {how}"
    kopf.warn(body, reason="AbortIgnored", message=message)
    logger.info(message)


DRIVER_EXIT_GRACE_SECONDS = 15.0
"""How long a rollout's daemon, once told to stop, may finish its pass before kopf cancels it.

The pass that ends a rollout is itself what stops the daemon: its status write makes ``_running`` false, and
kopf, given no grace, cancels a mismatching daemon at once, often before the pass posted its Events (seen
on the real cluster: a Failed or RolledBack rollout with no Event). A pass's longest wait is one HTTP call
(``httpTimeoutSeconds``, 10 s by default); grace plus the cancellation timeout stays under the Pod's 30 s
termination grace, so an operator shutting down ends its passes the same way."""


@kopf.daemon(
    *MR,
    id="rollout-driver",
    cancellation_backoff=DRIVER_EXIT_GRACE_SECONDS,
    cancellation_timeout=10.0,
    when=_running,
)
async def drive_rollout(
    name: str, namespace: str | None, stopped: kopf.DaemonStopped, memo: Any, logger: kopf.Logger, **_: Any
) -> None:
    """Drive one rollout until it ends: a pass every ``analysisIntervalSeconds``, resuming from status.

    A daemon (not a timer) so pause/abort edits are seen on the next pass, and so kopf stops it when
    this replica loses peering or the object is deleted. Transient failures (API, metrics, MLflow) are
    logged and retried on the next pass; the rollout never moves on a failed measurement.
    """
    rt: Runtime = memo.runtime
    if namespace is None:
        raise kopf.PermanentError("ModelRollout is namespaced; got a cluster-scoped event")
    last_error = ""
    while not stopped:
        try:
            result = await drive_once(rt, namespace, name)
        except ApiException as e:
            if e.status == 404:
                return
            error = f"Kubernetes API {e.status}: {e.reason}"
        except OperatorError as e:
            error = f"{type(e).__name__}: {e}"
        else:
            last_error = ""
            for event in result.decision.events:
                kopf.event(
                    kopf.Body(cast(kopf.RawBody, result.body)),
                    type=event.type,
                    reason=event.reason,
                    message=event.message,
                )
            if result.decision.status.phase.is_terminal:
                logger.info("rollout %s/%s ended %s", namespace, name, result.decision.status.phase.value)
                return
            await stopped.wait(rt.settings.analysis_interval_seconds)
            continue
        if error != last_error:
            logger.warning("rollout %s/%s pass failed, retrying: %s", namespace, name, error)
            last_error = error
        await stopped.wait(rt.settings.analysis_interval_seconds)
