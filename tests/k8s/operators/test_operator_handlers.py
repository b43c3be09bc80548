"""``operators.handlers`` called directly against the real API server, outside kopf's runner.

Each handler's whole outcome is checked: the registry ConfigMap, the status patch, the Events it posts and the
error kopf gets (temporary or permanent). Events are collected from kopf's posting queue, which a running
operator drains to the API server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import kopf
import pytest
from kopf._cogs.aiokits.aioenums import AsyncFlagWaiter, FlagSetter
from kopf._core.engines.posting import K8sEvent, event_queue_loop_var, event_queue_var, settings_var
from kubernetes import client
from mlflow import MlflowClient

from contracts.crds import PromptVersionSpec
from contracts.prompt_registry import registry_document_text
from operators.handlers import (
    WATCH_SERVER_TIMEOUT_SECONDS,
    abort_after_end,
    close,
    configure,
    drive_rollout,
    peering_priority,
    reconcile_prompt,
    withdraw_prompt,
)
from operators.kube import Kube
from operators.metrics_sources import PrometheusProvider
from operators.model_registry import ChampionRegistry
from operators.rollout_driver import Runtime, metrics_provider
from operators.settings import OperatorSettings
from tests.k8s.operators.operator_support import MR
from tests.unit.operators.prometheus_double import PrometheusDouble

pytestmark = pytest.mark.k8s

LOG = logging.getLogger("test-operator-handlers")
REGISTRY = "tip-generator-prompts"


@contextlib.contextmanager
def posted_events() -> Iterator[list[K8sEvent]]:
    """Collect what the handlers post (kopf keeps its posting queue in context variables)."""
    queue: asyncio.Queue[K8sEvent] = asyncio.Queue()
    tokens = (
        settings_var.set(kopf.OperatorSettings()),
        event_queue_var.set(queue),
        event_queue_loop_var.set(asyncio.get_running_loop()),
    )
    events: list[K8sEvent] = []
    try:
        yield events
    finally:
        while not queue.empty():
            events.append(queue.get_nowait())
        event_queue_loop_var.reset(tokens[2])
        event_queue_var.reset(tokens[1])
        settings_var.reset(tokens[0])


def drain(events: list[K8sEvent]) -> list[tuple[str, str]]:
    """(type, reason) of what was posted so far, emptying the queue."""
    queue = event_queue_var.get()
    while not queue.empty():
        events.append(queue.get_nowait())
    seen = [(e.type, e.reason) for e in events]
    events.clear()
    return seen


@pytest.fixture
async def memo(
    k8s_cluster: Any, operator_crds: None, mlflow_db: tuple[str, str], prometheus: PrometheusDouble
) -> AsyncIterator[kopf.Memo]:
    settings = OperatorSettings(
        mlflow_tracking_uri=mlflow_db[0],
        prometheus_url=prometheus.url,
        retry_delay_seconds=3,
        analysis_interval_seconds=0.1,
        standalone=True,
    )
    runtime = Runtime(
        settings, Kube(k8s_cluster.api_client()), ChampionRegistry(mlflow_db[0]), metrics_provider(settings)
    )
    memo = kopf.Memo(runtime=runtime)
    yield memo
    await close(memo=memo)


def prompt(ns: str, version: str, template: str, *, default: bool = False) -> kopf.Body:
    return kopf.Body(
        {
            "apiVersion": "tipsml.io/v1alpha1",
            "kind": "PromptVersion",
            "metadata": {"name": version, "namespace": ns, "uid": f"uid-{version}", "generation": 1},
            "spec": {"version": version, "template": template, "default": default},
        }
    )


def registry(api: client.ApiClient, ns: str) -> dict[str, str]:
    try:
        return client.CoreV1Api(api).read_namespaced_config_map(REGISTRY, ns).data or {}
    except client.ApiException as e:
        assert e.status == 404
        return {}


async def reconcile(body: kopf.Body, ns: str | None, memo: kopf.Memo, patch: kopf.Patch | None = None) -> kopf.Patch:
    patch = kopf.Patch() if patch is None else patch
    await reconcile_prompt(
        spec=body.spec,
        status=body.status,
        meta=body.meta,
        body=body,
        namespace=ns,
        patch=patch,
        memo=memo,
        logger=LOG,
    )
    return patch


async def test_configure_wires_kopf_and_the_runtime_from_settings(
    k8s_cluster: Any,
    k8s_namespace: str,
    monkeypatch: pytest.MonkeyPatch,
    prometheus: PrometheusDouble,
    mlflow_db: tuple[str, str],
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(k8s_cluster.kubeconfig))
    settings = kopf.OperatorSettings()
    cfg = OperatorSettings(
        namespace=k8s_namespace,
        prometheus_url=prometheus.url,
        mlflow_tracking_uri=mlflow_db[0],  # MLflow's own default would be a database in the working directory
        priority=7,
        peering_name="p",
    )
    memo = kopf.Memo(settings=cfg)
    await configure(settings=settings, memo=memo, logger=LOG)
    try:
        assert (settings.peering.name, settings.peering.priority, settings.peering.mandatory) == ("p", 7, True)
        assert settings.watching.server_timeout == WATCH_SERVER_TIMEOUT_SECONDS
        assert isinstance(settings.persistence.progress_storage, kopf.AnnotationsProgressStorage)
        assert settings.persistence.finalizer == "tipsml.io/operator"
        runtime: Runtime = memo.runtime
        assert runtime.settings is cfg and isinstance(runtime.metrics, PrometheusProvider)
        namespace = await asyncio.to_thread(runtime.kube.core.read_namespace, k8s_namespace)
        assert namespace.metadata.name == k8s_namespace  # the client reaches the real API server
    finally:
        await close(memo=memo)


def test_peering_priority_is_the_setting_or_a_random_positive_one() -> None:
    assert peering_priority(OperatorSettings(priority=3)) == 3
    drawn = {peering_priority(OperatorSettings()) for _ in range(5)}
    assert all(1 <= p < 2**31 for p in drawn) and len(drawn) > 1


async def test_a_valid_prompt_is_published_once_and_reported_ready(
    memo: kopf.Memo, api: client.ApiClient, k8s_namespace: str
) -> None:
    body = prompt(k8s_namespace, "v1", "Hi {{ weekday }}")
    with posted_events() as events:
        patch = await reconcile(body, k8s_namespace, memo)
        assert patch["status"]["phase"] == "Ready" and patch["status"]["observedGeneration"] == 1
        spec = PromptVersionSpec.model_validate(dict(body.spec))
        assert registry(api, k8s_namespace) == {"v1.json": registry_document_text(spec)}
        assert drain(events) == [("Normal", "Published")]
        again = kopf.Body({**body, "status": dict(patch["status"])})
        await reconcile(again, k8s_namespace, memo)  # resumed with the same content: no second Event
        assert drain(events) == []


async def test_an_invalid_prompt_is_withdrawn_and_fails_permanently(
    memo: kopf.Memo, api: client.ApiClient, k8s_namespace: str
) -> None:
    with posted_events() as events:
        await reconcile(prompt(k8s_namespace, "v2", "Hi {{ weekday }}"), k8s_namespace, memo)
        assert "v2.json" in registry(api, k8s_namespace)
        patch = kopf.Patch()
        broken = prompt(k8s_namespace, "v2", "Hi {{ secret_thing }}")
        with pytest.raises(kopf.PermanentError, match="secret_thing"):
            await reconcile(broken, k8s_namespace, memo, patch)
        assert "v2.json" not in registry(api, k8s_namespace)
        assert patch["status"]["phase"] == "Invalid" and "secret_thing" in patch["status"]["message"]
        assert drain(events)[-1] == ("Warning", "Invalid")


async def test_the_default_version_is_held_until_it_is_not_the_default(
    memo: kopf.Memo, api: client.ApiClient, k8s_namespace: str
) -> None:
    default = prompt(k8s_namespace, "v1", "Hi {{ weekday }}", default=True)
    with posted_events() as events:
        await reconcile(default, k8s_namespace, memo)
        drain(events)
        with pytest.raises(kopf.TemporaryError) as held:
            await withdraw_prompt(
                spec=default.spec, meta=default.meta, body=default, namespace=k8s_namespace, memo=memo
            )
        assert held.value.delay == memo.runtime.settings.retry_delay_seconds
        assert drain(events) == [("Warning", "DeletionBlocked")]
        assert "v1.json" in registry(api, k8s_namespace)
        plain = prompt(k8s_namespace, "v1", "Hi {{ weekday }}")
        await withdraw_prompt(spec=plain.spec, meta=plain.meta, body=plain, namespace=k8s_namespace, memo=memo)
        assert registry(api, k8s_namespace) == {}


async def test_registry_write_failures_are_temporary_and_scope_errors_permanent(memo: kopf.Memo) -> None:
    body = prompt("no-such-namespace", "v1", "Hi {{ weekday }}")
    with posted_events(), pytest.raises(kopf.TemporaryError, match="registry ConfigMap update failed"):
        await reconcile(body, "no-such-namespace", memo)
    with posted_events(), pytest.raises(kopf.PermanentError, match="namespaced"):
        await reconcile(body, None, memo)


async def test_abort_after_the_end_says_how_to_go_back() -> None:
    def ended(status: dict[str, Any]) -> kopf.Body:
        kind = {"apiVersion": "tipsml.io/v1alpha1", "kind": "ModelRollout"}
        return kopf.Body({**kind, "metadata": {"name": "r", "uid": "u"}, "status": status})

    promoted, failed = ended({"phase": "Promoted", "previousChampion": "4"}), ended({"phase": "Failed"})
    with posted_events() as events:
        for body, new in ((promoted, True), (promoted, False), (failed, True)):  # False: abort cleared again
            abort_after_end(new=new, status=body.status, spec=body.spec, body=body, logger=LOG)
    assert [(e.type, e.reason) for e in events] == [("Warning", "AbortIgnored")] * 2
    assert "create a ModelRollout with candidate version 4 (the previous champion)" in events[0].message
    assert events[1].message.endswith("ended Failed; nothing to undo")


async def run_driver(memo: kopf.Memo, ns: str | None, name: str = "r", *, stop_after: float | None = None) -> None:
    setter: FlagSetter[Any] = FlagSetter()
    stopped = AsyncFlagWaiter(setter)
    if stop_after is not None:
        asyncio.get_running_loop().call_later(stop_after, setter.set)
    await drive_rollout(name=name, namespace=ns, stopped=stopped, memo=memo, logger=LOG)


async def test_the_driver_ends_with_the_rollout_and_posts_its_events(
    memo: kopf.Memo, api: client.ApiClient, k8s_namespace: str
) -> None:
    body = {
        "apiVersion": "tipsml.io/v1alpha1",
        "kind": "ModelRollout",
        "metadata": {"name": "r"},
        "spec": {"modelName": "tip-scorer", "candidate": {"version": "2"}, "abort": True},
    }
    client.CustomObjectsApi(api).create_namespaced_custom_object(**MR, namespace=k8s_namespace, body=body)
    with posted_events() as events:
        await asyncio.wait_for(run_driver(memo, k8s_namespace), timeout=30)
        assert ("Warning", "RolledBack") in drain(events)
    stored = client.CustomObjectsApi(api).get_namespaced_custom_object(**MR, namespace=k8s_namespace, name="r")
    assert stored["status"]["phase"] == "RolledBack"
    await asyncio.wait_for(run_driver(memo, k8s_namespace, "gone"), timeout=30)  # deleted: the daemon ends
    with pytest.raises(kopf.PermanentError):
        await run_driver(memo, None)


async def test_the_driver_retries_a_failing_pass_and_logs_each_error_once(
    memo: kopf.Memo,
    api: client.ApiClient,
    k8s_namespace: str,
    registered_model: tuple[str, MlflowClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    model, _ = registered_model
    body = {
        "apiVersion": "tipsml.io/v1alpha1",
        "kind": "ModelRollout",
        "metadata": {"name": "r"},
        "spec": {"modelName": model, "candidate": {"version": "2"}},
    }
    client.CustomObjectsApi(api).create_namespaced_custom_object(**MR, namespace=k8s_namespace, body=body)
    with posted_events(), caplog.at_level(logging.WARNING, logger=LOG.name):
        await asyncio.wait_for(run_driver(memo, k8s_namespace, stop_after=1.5), timeout=30)
    failures = [r.getMessage() for r in caplog.records if "pass failed" in r.getMessage()]
    assert len(failures) == 1 and "InferenceServiceMissingError" in failures[0]
    stored = client.CustomObjectsApi(api).get_namespaced_custom_object(**MR, namespace=k8s_namespace, name="r")
    assert "status" not in stored  # a failed pass never moves the rollout
