"""One reconcile pass of a ModelRollout on KServe: read it fresh, reconcile, record the status.

The middle is :func:`operators.effects.reconcile`, the same measure-decide-act core the local demo runs.

Reading the object from the API server on every pass (not a cached body) is what makes restarts and
replica hand-overs safe: the status is the only memory. The status write carries the ``resourceVersion``
that was read, so if anything changed the object meanwhile the write is refused (409) and the next pass
decides again from the new state; actions are idempotent, so repeating them is harmless.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.crds import ModelRolloutSpec, ModelRolloutStatus, RolloutPhase
from operators.canary_route import check_route
from operators.canary_split import REPLICA_SPLIT
from operators.effects import act, reconcile
from operators.errors import CanaryUnsupportedError, ModelVersionMissingError
from operators.kube import Kube
from operators.metrics import MetricsProvider
from operators.metrics_sources import LocalProvider, PrometheusProvider
from operators.model_registry import ChampionRegistry
from operators.rollout_effects import RolloutEffects, traffic_mechanism
from operators.rollout_machine import Decision, fail
from operators.settings import MetricsSource, OperatorSettings


@dataclass
class Runtime:
    """Long-lived collaborators, built once at start-up and kept in kopf's memo."""

    settings: OperatorSettings
    kube: Kube
    champions: ChampionRegistry
    metrics: MetricsProvider


def metrics_provider(settings: OperatorSettings) -> MetricsProvider:
    """The metrics source the settings name."""
    if settings.metrics_source is MetricsSource.LOCAL:
        return LocalProvider(
            settings.local_metrics_urls, settings.reward_log_path, settings.http_timeout_seconds
        )
    return PrometheusProvider(
        settings.prometheus_url, settings.prometheus_selector, settings.http_timeout_seconds
    )


@dataclass
class Pass:
    """What a pass did: the object as read (Events attach to it) and the decision."""

    body: dict[str, Any]
    decision: Decision
    written: bool


async def drive_once(rt: Runtime, namespace: str, name: str) -> Pass:
    """Advance the rollout ``namespace/name`` by at most one transition."""
    body = await rt.kube.get_rollout(namespace, name)
    spec = ModelRolloutSpec.model_validate(body["spec"])
    status = ModelRolloutStatus.model_validate(body.get("status") or {})
    generation = body["metadata"].get("generation")
    now = datetime.now(UTC)
    baseline: str | None = None
    decision: Decision | None = None
    if status.phase is RolloutPhase.PENDING and not spec.abort and not spec.paused:
        try:
            await asyncio.to_thread(rt.champions.require_version, spec.model_name, spec.candidate.version)
        except ModelVersionMissingError as e:
            decision = fail(
                spec, status, now=now, generation=generation, reason="CandidateMissing", message=str(e)
            )
        if spec.baseline is None:
            baseline = await asyncio.to_thread(rt.champions.champion, spec.model_name)
            if decision is None and baseline == spec.candidate.version:  # the CRD checks only a given baseline
                decision = fail(
                    spec,
                    status,
                    now=now,
                    generation=generation,
                    reason="CandidateIsChampion",
                    message=f"candidate {baseline} is already the champion: nothing to roll out",
                )
    mechanism: str | None = None
    route = spec.canary.traffic_routing.http_route if spec.canary.traffic_routing else None
    if decision is None and status.phase is RolloutPhase.PENDING and not spec.abort and not spec.paused:
        # Before anything changes: a mode that cannot split would turn the first canary step into 100 %.
        isvc = await rt.kube.get_isvc(namespace, spec.inference_service)
        if isvc is not None:
            try:
                mechanism = traffic_mechanism(isvc, [step.weight for step in spec.canary.steps], route)
                if route is not None:
                    check_route(await rt.kube.get_route(namespace, route), namespace, route, spec.inference_service)
            except CanaryUnsupportedError as e:
                decision = fail(
                    spec, status, now=now, generation=generation, reason="CanaryUnsupported", message=str(e)
                )
    if decision is None and status.phase is RolloutPhase.CANARY and status.current_step >= len(spec.canary.steps):
        # Only a spec edited before the CRD froze it can get here; indexing the steps would fail every pass.
        message = f"canary step {status.current_step} no longer exists: the spec changed under a running rollout"
        decision = fail(spec, status, now=now, generation=generation, reason="SpecChanged", message=message)
    if mechanism is None:
        mechanism = status.traffic_mechanism
    owner = {
        "apiVersion": body["apiVersion"],
        "kind": body["kind"],
        "name": name,
        "uid": body["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": False,
    }
    effects = RolloutEffects(
        rt.kube,
        rt.champions,
        rt.settings,
        namespace,
        name,
        spec.model_name,
        spec.inference_service,
        mechanism=mechanism,
        owner=owner,
        route=route,
        percent=status.traffic_percent if status.phase is RolloutPhase.CANARY else 0,
    )
    if decision is None:
        lags = mechanism == REPLICA_SPLIT or route is not None  # the split waits for canary Pods
        try:
            done = await reconcile(spec, status, effects, rt.metrics, namespace=namespace, now=now,
                                   generation=generation, baseline_version=baseline, split_may_lag=lags)  # fmt: skip
            decision = done.decision
        except CanaryUnsupportedError as e:
            # The split became impossible under a running rollout (its HTTPRoute deleted): retrying cannot
            # bring it back, so the rollout fails and undoes what it changed instead of failing every pass.
            decision = fail(spec, status, now=now, generation=generation, reason="CanaryUnsupported", message=str(e))
            await act(decision, effects)
    else:
        await act(decision, effects)
    if mechanism is not None and decision.status.phase is not RolloutPhase.PENDING:
        decision.status.traffic_mechanism = mechanism
    new = decision.status.model_dump(by_alias=True, mode="json")
    written = new != status.model_dump(by_alias=True, mode="json") or not body.get("status")
    if written:
        await rt.kube.write_rollout_status(namespace, name, new, body["metadata"]["resourceVersion"])
    return Pass(body, decision, written)
