"""The whole stack installed by Helm on the real single-node cluster, KServe's controller reconciling it.

One install serves the module (tests run in file order): the CRDs chart, the dependencies chart (NATS, Redis,
PostgreSQL, MLflow serving artifacts, Prometheus) and the tipsml chart with ``tests/cluster/values/``. A
``tip-scorer`` trained here by the project's pipeline is registered into the in-cluster MLflow and made
``@champion`` before the chart goes in, so the scorer Pods load it through MLflow at start. The host reaches
Services by their cluster IPs (kube-proxy's rules apply to it) and the Pods through ``kubectl port-forward``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts import serving_metrics as sm
from contracts.names import CHAMPION_ALIAS, SCORER_MODEL
from feature_repo.names import USER_ACTIVITY_DTYPES, USER_ACTIVITY_VIEW
from tests.cluster.stack_support import (
    REPO,
    VALUES,
    Stack,
    cluster_ip,
    exec_python,
    get_json,
    helm,
    install_stack,
    is_ready,
    nats_counts,
    pods,
    port_forward,
    wait_all_ready,
    wait_consumed,
    wait_events,
)
from tipsml.cluster.node import NodeCluster
from tipsml.simulate import simulate
from tipsml.simulate.publish import publish_events
from tipsml.simulate.wire import EventLog

NS = "tipsml-stack"
CONSUMERS = "app.kubernetes.io/component=consumers"


@dataclasses.dataclass
class InstalledStack(Stack):
    """The stack of this module, and users of the simulation published into it."""

    users: list[str] = dataclasses.field(default_factory=list)


@pytest.fixture(scope="module")
def stack(node_cluster: NodeCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InstalledStack]:
    """The stack installed with ``tests/cluster/values/``; its namespace deleted afterwards."""
    installed = install_stack(node_cluster, NS, tmp_path_factory.mktemp("stack-train"), [VALUES / "tipsml.yaml"], 11)
    sim = simulate(users=60, days=3, seed=11)
    users = sorted({json.loads(line)["user_id"] for line in sim.events.lines})
    yield InstalledStack(**{f.name: getattr(installed, f.name) for f in dataclasses.fields(installed)}, users=users)
    node_cluster.kubectl("delete", "namespace", NS, "--wait=false", check=False)


def test_every_pod_of_the_three_charts_becomes_ready(stack: InstalledStack) -> None:
    for phase, seconds in stack.timings.items():
        print(f"{phase}: {seconds:.1f}s")
    running = pods(stack.cluster, NS)
    names = sorted(p["metadata"]["name"].rsplit("-", 2)[0] for p in running)
    print("pods:", ", ".join(names))
    for component in ("nats", "redis", "postgres", "mlflow", "prometheus", "tip-scorer-predictor",
                      "tip-generator-predictor", "tipsml-consumers", "tipsml-operator"):  # fmt: skip
        assert component in names, f"no Pod of {component}: {names}"
    assert all(is_ready(p) for p in running)
    for name in ("tip-scorer", "tip-generator"):
        isvc = get_json(stack.cluster, "inferenceservice", name, "-n", NS)
        ready = [c for c in isvc["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True", isvc["status"]
        # KServe's controller made the Deployment and Service, in Standard mode.
        assert isvc["status"]["address"]["url"] == f"http://{name}-predictor.{NS}.svc.cluster.local"
        deployment = get_json(stack.cluster, "deployment", f"{name}-predictor", "-n", NS)
        assert deployment["metadata"]["ownerReferences"][0]["kind"] == "InferenceService"
    # The hook Job applied the registry and went away (hook-succeeded).
    assert not get_json(stack.cluster, "jobs", "-n", NS)["items"]


def test_the_scorer_loads_the_champion_through_mlflow(stack: InstalledStack) -> None:
    with port_forward(stack.cluster, NS, "svc/tip-scorer-predictor", 80) as url:
        body = {"instances": [{"user_id": stack.users[0], "request_id": "r1",
                               "candidates": [f"tip-{i:04d}" for i in range(1, 21)]}]}  # fmt: skip
        answer = httpx.post(f"{url}/v1/models/tip-scorer:predict", json=body, timeout=30).json()
    assert answer["predictions"][0]["model_version"] == stack.champion_version
    env = get_json(stack.cluster, "deployment", "tip-scorer-predictor", "-n", NS)
    container = env["spec"]["template"]["spec"]["containers"][0]
    uri = next(e["value"] for e in container["env"] if e["name"] == "TIPSML_MODEL_URI")
    assert uri == f"models:/{SCORER_MODEL}@{CHAMPION_ALIAS}"


def test_simulated_events_reach_redis_through_the_consumers(stack: InstalledStack) -> None:
    sim = simulate(users=60, days=3, seed=11)
    report = asyncio.run(publish_events(sim.events, stack.nats))
    assert report.total == len(sim.events)
    wait_consumed(stack.nats)
    features = [f"{USER_ACTIVITY_VIEW}:{name}" for name in USER_ACTIVITY_DTYPES]
    code = (
        "import json; from pathlib import Path; from feature_repo.config import open_store_from_yaml\n"
        "store = open_store_from_yaml(Path('/etc/tipsml/feast/feature_store.yaml'))\n"
        f"rows = [{{'user_id': u}} for u in {stack.users[:20]!r}]\n"
        f"print(json.dumps(store.get_online_features(features={features!r}, entity_rows=rows).to_dict()))"
    )
    # Read back through Feast from inside a Pod, as the scorer does (Redis online store, SQL registry).
    deadline = time.monotonic() + 60
    while True:
        values = json.loads(exec_python(stack.cluster, NS, "deploy/tip-scorer-predictor", code))
        filled = [v for v in values["user_active_days_30d"] if v is not None]
        if len(filled) >= 10 or time.monotonic() > deadline:
            break
        time.sleep(3)
    print(f"users with user_activity in Redis: {len(filled)} of 20")
    assert len(filled) >= 10, values
    assert all(v >= 1 for v in filled)


def test_the_recommender_client_in_node(stack: InstalledStack) -> None:
    node = shutil.which("node")
    assert node, "node is missing: scripts/node-runtime.sh installs Debian's nodejs"
    client = Path(__file__).with_name("recommender_client.mjs")
    with (port_forward(stack.cluster, NS, "svc/tip-scorer-predictor", 80) as scorer,
          port_forward(stack.cluster, NS, "svc/tip-generator-predictor", 80) as generator):  # fmt: skip
        out = subprocess.run(
            [node, str(client), "--scorer", scorer, "--generator", generator, "--calls", "1000",
             "--users", ",".join(stack.users[:20])],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    print(out.stdout.rsplit("RESULT", 1)[0])
    result: dict[str, Any] = json.loads(out.stdout.rsplit("RESULT ", 1)[1])
    assert result["failed"] == 0 and result["passed"] >= 10, out.stdout
    assert result["latency"]["calls"] == 1000


def test_prometheus_scrapes_the_predictors_and_the_consumers(stack: InstalledStack) -> None:
    prometheus = f"http://{cluster_ip(stack.cluster, NS, 'prometheus')}:9090"

    def query(promql: str) -> list[dict[str, Any]]:
        body = httpx.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=10).json()
        assert body["status"] == "success", body
        rows: list[dict[str, Any]] = body["data"]["result"]
        return rows

    # The scorer answered the Node client's 1,000 calls; the series carry the namespace the gates match on.
    wanted = {
        "scorer": f'sum({sm.REQUESTS_TOTAL}{{namespace="{NS}",role="champion"}})',
        "consumers": f'sum(tipsml_ingest_acked_total{{namespace="{NS}"}})',
    }
    deadline = time.monotonic() + 60
    found: dict[str, float] = {}
    while time.monotonic() < deadline and not (found.get("scorer", 0) >= 1000 and found.get("consumers", 0) > 0):
        time.sleep(2)  # the next scrape (every 5 s) sees the last calls
        for name, promql in wanted.items():
            rows = query(promql)
            if rows:
                found[name] = float(rows[0]["value"][1])
    up = {(r["metric"].get("inferenceservice") or r["metric"].get("component", "?")): r["value"][1]
          for r in query(f'up{{namespace="{NS}"}}')}  # fmt: skip
    print(f"Prometheus targets up: {up}; series: {found}")
    assert found.get("scorer", 0) >= 1000, found
    assert found.get("consumers", 0) > 0, found


def test_a_model_rollout_in_standard_mode_is_refused_before_anything_changes(stack: InstalledStack) -> None:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=stack.mlflow, registry_uri=stack.mlflow)
    champion = client.get_model_version(SCORER_MODEL, stack.champion_version)
    # A second version of the same logged model (MLflow 3 sources are "models:/<model id>").
    logged_model = champion.model_id or champion.source.removeprefix("models:/")
    candidate = client.create_model_version(SCORER_MODEL, champion.source, run_id=champion.run_id,
                                            model_id=logged_model).version
    before = get_json(stack.cluster, "inferenceservice", "tip-scorer", "-n", NS)
    rollout = {
        "apiVersion": "tipsml.io/v1alpha1", "kind": "ModelRollout",
        "metadata": {"name": "standard-mode", "namespace": NS},
        "spec": {"modelName": SCORER_MODEL, "inferenceService": "tip-scorer", "candidate": {"version": str(candidate)}},
    }  # fmt: skip
    started = time.monotonic()
    stack.cluster.kubectl("apply", "-f", "-", input=json.dumps(rollout))
    status: dict[str, Any] = {}
    while time.monotonic() - started < 120:
        status = get_json(stack.cluster, "modelrollout", "standard-mode", "-n", NS).get("status") or {}
        if status.get("phase") in ("Failed", "RolledBack", "Shadow"):
            break
        time.sleep(2)
    print(f"ModelRollout on a Standard-mode InferenceService: {status.get('phase')} after "
          f"{time.monotonic() - started:.1f}s: {status.get('message')}")  # fmt: skip
    assert status.get("phase") == "Failed", status
    # One scorer replica: a replica-ratio canary's first "10 %" step would be one Pod of two, 50 %.
    assert "a 10 % step would send 50 % of connections" in status["message"]
    after = get_json(stack.cluster, "inferenceservice", "tip-scorer", "-n", NS)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert not [i for i in get_json(stack.cluster, "inferenceservices", "-n", NS)["items"]
                if i["metadata"]["name"].endswith("-shadow")]  # fmt: skip
    assert client.get_model_version_by_alias(SCORER_MODEL, CHAMPION_ALIAS).version == stack.champion_version
    wait_events(stack.cluster, NS, "standard-mode", lambda e: "minReplicas >= 6" in e.get("message", ""))


PROMPT_VERSION = """
apiVersion: tipsml.io/v1alpha1
kind: PromptVersion
metadata: {{name: {name}, namespace: {ns}}}
spec:
  version: {name}
  description: A test version added after install.
  system: You write one short tip.
  template: "Tip for {{{{ weekday }}}}: take one small step."
  model: {{model: tipsml/offline}}
"""


def test_a_new_prompt_version_reaches_the_running_generator(stack: InstalledStack) -> None:
    started = time.monotonic()
    stack.cluster.kubectl("apply", "-f", "-", input=PROMPT_VERSION.format(name="v7", ns=NS))
    body = {"instances": [{"user_id": stack.users[0], "request_id": "pin", "prompt_version": "v7"}]}
    status, text = 0, ""
    with port_forward(stack.cluster, NS, "svc/tip-generator-predictor", 80) as url:
        while time.monotonic() - started < 180:
            answer = httpx.post(f"{url}/v1/models/tip-generator:predict", json=body, timeout=30)
            status, text = answer.status_code, answer.text
            if status == 200:
                break
            time.sleep(2)
    took = time.monotonic() - started
    print(f"PromptVersion v7 applied → a pinned request answered by v7 after {took:.1f}s "
          "(operator publish + the kubelet's ConfigMap volume refresh, about a minute by default)")  # fmt: skip
    assert status == 200, text
    assert json.loads(text)["predictions"][0]["prompt_version"] == "v7"


def _slice(log: EventLog, start: int, stop: int) -> EventLog:
    return dataclasses.replace(log, t=log.t[start:stop], kind=log.kind[start:stop],
                               event_ids=log.event_ids[start:stop], lines=log.lines[start:stop])  # fmt: skip


async def _publish_poison(url: str, n: int) -> None:
    import nats

    nc = await nats.connect(url, connect_timeout=5)
    try:
        js = nc.jetstream()
        for i in range(n):
            await js.publish("signals.task_synced", b'{"type": "signals.task_synced", "broken": ' + str(i).encode(),
                             headers={"Nats-Msg-Id": f"poison-{i}-{time.time_ns()}"})  # fmt: skip
    finally:
        await nc.drain()


def test_a_consumer_pod_killed_mid_stream_loses_nothing(stack: InstalledStack) -> None:
    sim = simulate(users=150, days=4, seed=21)
    events, half, poison = sim.events, len(sim.events) // 2, 25
    before = nats_counts(stack.nats)
    asyncio.run(publish_events(_slice(events, 0, half), stack.nats))
    asyncio.run(_publish_poison(stack.nats, poison))
    victim = pods(stack.cluster, NS, CONSUMERS)[0]["metadata"]["name"]
    # SIGKILL, no grace: whatever the pod had fetched but not acked must come back to its successor.
    stack.cluster.kubectl("delete", "pod", victim, "-n", NS, "--grace-period=0", "--force")
    asyncio.run(publish_events(_slice(events, half, len(events)), stack.nats))
    after = wait_consumed(stack.nats, timeout=300)
    new = pods(stack.cluster, NS, CONSUMERS)
    assert [p["metadata"]["name"] for p in new] != [victim]
    code = (
        "import json; from pathlib import Path; from streams.event_log import read_event_log\n"
        "from contracts.local_state import LocalState\n"
        "t = read_event_log(LocalState(Path('/var/lib/tipsml')).event_log_dir)\n"
        "print(json.dumps(t.column('event_id').to_pylist()))"
    )
    written = json.loads(exec_python(stack.cluster, NS, "deploy/tipsml-consumers", code, timeout=300))
    ours = set(events.event_ids)
    in_log = [e for e in written if e in ours]
    dead = after["DEADLETTER"] - before["DEADLETTER"]
    print(f"events in: {len(events)} valid + {poison} malformed; written: {len(set(in_log))} "
          f"(duplicates in the log: {len(in_log) - len(set(in_log))}); dead-lettered: {dead}")  # fmt: skip
    assert set(in_log) == ours, f"{len(ours - set(in_log))} events lost"
    assert len(in_log) == len(set(in_log)), "an event was written twice"
    assert dead == poison


def test_helm_upgrade_with_a_changed_value_rolls_the_pods(stack: InstalledStack) -> None:
    cluster = stack.cluster
    before = {p["metadata"]["uid"] for p in pods(cluster, NS, CONSUMERS)}
    before_gen = {p["metadata"]["uid"] for p in pods(cluster, NS, "serving.kserve.io/inferenceservice=tip-generator")}
    started = time.monotonic()
    changed = ("--set", "consumers.batchSize=500", "--set", "generator.reloadIntervalSeconds=3")
    helm(cluster, "upgrade", "tipsml", str(REPO / "charts" / "tipsml"), "-n", NS, "-f", str(VALUES / "tipsml.yaml"),
         *changed, "--timeout", "10m")  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        now = {p["metadata"]["uid"] for p in pods(cluster, NS, CONSUMERS) if is_ready(p)}
        gen = {p["metadata"]["uid"] for p in pods(cluster, NS, "serving.kserve.io/inferenceservice=tip-generator")
               if is_ready(p)}  # fmt: skip
        if now and not now & before and len(gen) == 2 and not gen & before_gen:
            break
        time.sleep(2)
    print(f"helm upgrade: consumers and generator Pods replaced and Ready in {time.monotonic() - started:.1f}s")
    assert now and not now & before
    assert len(gen) == 2 and not gen & before_gen
    wait_all_ready(cluster, NS, 300, expect=11)
    deployment = get_json(cluster, "deployment", "tipsml-consumers", "-n", NS)
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "TIPSML_BATCH_SIZE", "value": "500"} in env


def test_helm_uninstall_removes_the_stack_and_keeps_crds_and_prompt_versions(stack: InstalledStack) -> None:
    cluster = stack.cluster
    helm(cluster, "uninstall", "tipsml", "-n", NS, "--wait", "--timeout", "5m")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        left = [p["metadata"]["name"] for p in pods(cluster, NS) if p["metadata"]["name"].startswith(("tip", "tipsml"))]
        if not left:
            break
        time.sleep(2)
    assert not left, left
    assert not get_json(cluster, "inferenceservices", "-n", NS)["items"]
    crds = {c["metadata"]["name"] for c in get_json(cluster, "crd")["items"]}
    assert {"promptversions.tipsml.io", "modelrollouts.tipsml.io"} <= crds
    kept = {p["metadata"]["name"] for p in get_json(cluster, "promptversions.tipsml.io", "-n", NS)["items"]}
    assert {"v1", "v7"} <= kept, kept
    # The dependencies are another release: still serving.
    assert httpx.get(f"{stack.mlflow}/health", timeout=10).status_code == 200
