"""Helpers of the stack-in-cluster tests: the install, Helm releases, waits on Pods, port-forwards, commands in Pods."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from contracts.names import CHAMPION_ALIAS, SCORER_MODEL
from contracts.streams import STREAM_SUBJECTS
from tipsml.cluster.node import NodeCluster

REPO = Path(__file__).resolve().parents[2]
VALUES = Path(__file__).resolve().parent / "values"
DURABLE_PREFIX = "tipsml-ingest"
"""The consumers' durable names' prefix (the chart's ``consumers.durablePrefix``)."""


def helm(cluster: NodeCluster, *args: str, timeout: float = 600) -> str:
    """Run the pinned helm against the cluster; a failure shows helm's own message."""
    out = cluster.control.run("helm", *args, check=False, timeout=timeout)
    assert out.returncode == 0, f"helm {' '.join(args[:2])} failed:\n{out.stderr}\n{out.stdout}"
    return out.stdout


def get_json(cluster: NodeCluster, *args: str) -> Any:
    """``kubectl get ... -o json``, parsed."""
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


def pods(cluster: NodeCluster, namespace: str, selector: str = "") -> list[dict[str, Any]]:
    """The Pods of ``namespace`` (matching ``selector``), not being deleted."""
    args = ["pods", "-n", namespace] + (["-l", selector] if selector else [])
    items: list[dict[str, Any]] = get_json(cluster, *args)["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def is_ready(pod: dict[str, Any]) -> bool:
    """Whether the Pod's Ready condition is True (a finished Job Pod counts as done, not ready)."""
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def wait_all_ready(cluster: NodeCluster, namespace: str, timeout: float, expect: int = 1) -> float:
    """Wait until at least ``expect`` Pods run in ``namespace`` and every running one is Ready; seconds taken."""
    started = time.monotonic()
    deadline = started + timeout
    last: list[str] = []
    while time.monotonic() < deadline:
        current = [p for p in pods(cluster, namespace) if p["status"].get("phase") != "Succeeded"]
        last = [f"{p['metadata']['name']} ({p['status'].get('phase')})" for p in current if not is_ready(p)]
        if len(current) >= expect and not last:
            return time.monotonic() - started
        time.sleep(1)
    events = cluster.kubectl("get", "events", "-n", namespace, "--sort-by=.lastTimestamp", check=False).stdout
    logs = [
        f"--- {name} ---\n" + cluster.kubectl("logs", "-n", namespace, name.split(" ")[0], "--all-containers",
                                               "--tail=15", check=False).stdout[-1500:]
        for name in last
    ]
    raise AssertionError(
        f"not Ready after {timeout:.0f}s: {', '.join(last)}\n{events[-3000:]}\n" + "\n".join(logs)
        + "\n" + operator_state(cluster, namespace) + prompt_state(cluster, namespace)
    )


def operator_state(cluster: NodeCluster, namespace: str) -> str:
    """Each operator Pod's log from its start (probe lines left out) and the peering record they share."""
    out = []
    for pod in pods(cluster, namespace, "app.kubernetes.io/component=operator"):
        name = pod["metadata"]["name"]
        log = cluster.kubectl("logs", "-n", namespace, name, "--tail=400", check=False).stdout.splitlines()
        kept = [line for line in log if "/healthz" not in line]
        out.append(f"--- {name} (operator, {len(kept)} of {len(log)} lines) ---\n" + "\n".join(kept[-60:])[-6000:])
    peering = cluster.kubectl("get", "kopfpeerings.kopf.dev", "-n", namespace, "-o",
                              "jsonpath={.items[*].status}", check=False)  # fmt: skip
    return "\n".join(out) + f"\n--- KopfPeering status ---\n{peering.stdout}{peering.stderr[-500:]}\n"


def prompt_state(cluster: NodeCluster, namespace: str) -> str:
    """PromptVersions' phases and the registry ConfigMap's keys: the generator is Ready only with a version."""
    versions = cluster.kubectl(
        "get", "promptversions.tipsml.io", "-n", namespace, "--ignore-not-found",
        "-o", "custom-columns=NAME:.metadata.name,PHASE:.status.phase,MESSAGE:.status.message", check=False,
    )  # fmt: skip
    handled = cluster.kubectl(
        "get", "promptversions.tipsml.io", "-n", namespace, "--ignore-not-found",
        "-o", "jsonpath={range .items[*]}{.metadata.name} {.metadata.annotations}{'\\n'}{end}", check=False,
    )  # fmt: skip
    keys = cluster.kubectl(
        "get", "configmap", "tip-generator-prompts", "-n", namespace, "--ignore-not-found",
        "-o", "go-template={{range $k, $v := .data}}{{$k}} {{end}}", check=False,
    )  # fmt: skip
    return (
        f"--- PromptVersions ---\n{versions.stdout}{versions.stderr[-500:]}"
        f"--- their annotations (the operator's progress) ---\n{handled.stdout}{handled.stderr[-500:]}\n"
        f"--- ConfigMap tip-generator-prompts keys ---\n{keys.stdout or '(none)'}{keys.stderr[-500:]}"
    )


def cluster_ip(cluster: NodeCluster, namespace: str, service: str) -> str:
    """A Service's cluster IP (kube-proxy routes it from the host too)."""
    return str(get_json(cluster, "service", service, "-n", namespace)["spec"]["clusterIP"])


@contextmanager
def port_forward(cluster: NodeCluster, namespace: str, target: str, port: int) -> Iterator[str]:
    """``kubectl port-forward`` to ``target`` (e.g. ``svc/tip-scorer-predictor``) on a free local port."""
    proc = subprocess.Popen(
        [str(cluster.bin_dir / "kubectl"), f"--kubeconfig={cluster.kubeconfig}", "-n", namespace, "port-forward",
         target, f":{port}", "--address=127.0.0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"127\.0\.0\.1:(\d+)", line)
        assert match, f"port-forward to {target} did not start: {line}{proc.stdout.read() if proc.poll() else ''}"
        yield f"http://127.0.0.1:{match.group(1)}"
    finally:
        proc.terminate()
        proc.wait(10)


def exec_python(cluster: NodeCluster, namespace: str, target: str, code: str, timeout: float = 120) -> str:
    """Run ``python -c code`` in the first container of ``target`` (``deploy/name`` or a Pod); its stdout."""
    out = cluster.kubectl("exec", "-n", namespace, target, "--", "python", "-c", code, check=False, timeout=timeout)
    assert out.returncode == 0, f"python in {target} failed:\n{out.stderr[-3000:]}"
    return out.stdout


@dataclasses.dataclass
class Stack:
    """An installed stack: its namespace, where its services answer and what was put in it."""

    cluster: NodeCluster
    namespace: str
    mlflow: str
    nats: str
    champion_version: str
    timings: dict[str, float]
    trained_version: str = ""
    """The version the pipeline trained at install (the champion unless ``install_stack`` was given another)."""


def run(argv: list[str], env: dict[str, str] | None = None, timeout: float = 600) -> str:
    """Run a command from the repository; a failure shows its output."""
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False, cwd=REPO)
    assert out.returncode == 0, f"{' '.join(argv[:3])} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout


@dataclasses.dataclass(frozen=True)
class World:
    """The simulated world the cluster's models are trained on (``tipsml play`` takes the same options).

    About 8,000 impressions: enough for the pipeline's LightGBM (``min_data_in_leaf`` 500) to split at all; on
    120 users it learned a constant, so every candidate scored the same and rankings could not be compared.
    """

    users: int = 1000
    days: int = 10
    seed: int = 3

    def options(self) -> list[str]:
        """As ``tipsml simulate`` / ``tipsml play`` options."""
        return ["--users", str(self.users), "--days", str(self.days), "--seed", str(self.seed)]


WORLD = World()


def simulate_world(work: Path) -> Path:
    """``tipsml simulate`` of :data:`WORLD` into ``work/sim``; the event log's path."""
    run([tipsml_bin(), "simulate", *WORLD.options(), "--out", str(work / "sim")])
    return work / "sim" / "events.jsonl"


def tipsml_bin() -> str:
    """The project's CLI beside this interpreter."""
    return str(Path(sys.executable).with_name("tipsml"))


def train_and_register(mlflow: str, event_log: Path, work: Path, settings: dict[str, str] | None = None) -> str:
    """Run the project's training pipeline on ``event_log`` against the in-cluster MLflow; the new version."""
    env = {**os.environ, "TIPSML_MLFLOW_TRACKING_URI": mlflow, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
           **(settings or {})}  # fmt: skip
    run([tipsml_bin(), "train", "--event-log", str(event_log), "--state-dir", str(work / "state")], env)
    import mlflow as mlflow_lib

    client = mlflow_lib.MlflowClient(tracking_uri=mlflow, registry_uri=mlflow)
    return str(max(int(v.version) for v in client.search_model_versions(f"name='{SCORER_MODEL}'")))


ChampionMaker = Callable[[str, Path, str], str]
"""(in-cluster MLflow URI, the training work directory, the version the pipeline registered) → the registered
version to make ``@champion``."""


def install_stack(cluster: NodeCluster, namespace: str, work: Path, values: list[Path], pods_expected: int,
                  champion: ChampionMaker | None = None, dependencies: Path | None = None) -> Stack:  # fmt: skip
    """CRDs chart, dependencies chart, a champion trained and registered, then the tipsml chart; all Ready.

    The champion is the version the pipeline trains on :data:`WORLD`, or the one ``champion`` registers after it
    (from the pipeline's own training set, which it finds under ``work``). ``dependencies``: values over
    ``values/dependencies.yaml`` (with ``gateway.enabled`` one Pod more: the Gateway).
    """
    timings: dict[str, float] = {}
    cluster.kubectl("create", "namespace", namespace)
    started = time.monotonic()
    helm(cluster, "upgrade", "--install", "tipsml-crds", str(REPO / "charts" / "tipsml-crds"), "--wait")
    extra = ["-f", str(dependencies)] if dependencies is not None else []
    helm(cluster, "install", "deps", str(REPO / "charts" / "tipsml-dependencies"), "-n", namespace,
         "-f", str(VALUES / "dependencies.yaml"), *extra, "--wait", "--timeout", "5m")  # fmt: skip
    gateway = dependencies is not None and "gateway:" in dependencies.read_text()
    ready = wait_all_ready(cluster, namespace, 300, expect=6 if gateway else 5)
    timings["dependencies Ready"] = ready + time.monotonic() - started
    mlflow = f"http://{cluster_ip(cluster, namespace, 'mlflow')}:5000"
    nats = f"nats://{cluster_ip(cluster, namespace, 'nats')}:4222"
    t0 = time.monotonic()
    trained = version = train_and_register(mlflow, simulate_world(work), work)
    if champion is not None:
        version = champion(mlflow, work, trained)
    import mlflow as mlflow_lib

    mlflow_lib.MlflowClient(tracking_uri=mlflow, registry_uri=mlflow).set_registered_model_alias(
        SCORER_MODEL, CHAMPION_ALIAS, version
    )
    timings["train and register"] = time.monotonic() - t0
    t0 = time.monotonic()
    files = [arg for path in values for arg in ("-f", str(path))]
    helm(cluster, "install", "tipsml", str(REPO / "charts" / "tipsml"), "-n", namespace, *files, "--timeout", "10m")
    ready = wait_all_ready(cluster, namespace, 420, expect=pods_expected)
    timings["tipsml chart Ready"] = ready + time.monotonic() - t0
    return Stack(cluster, namespace, mlflow, nats, version, timings, trained)


def nats_counts(url: str) -> dict[str, int]:
    """Messages per stream, and what each durable consumer still has to do."""
    import asyncio

    import nats

    async def read() -> dict[str, int]:
        nc = await nats.connect(url, connect_timeout=5, allow_reconnect=False)
        try:
            js = nc.jetstream()
            out: dict[str, int] = {}
            for stream in STREAM_SUBJECTS:
                out[stream] = int((await js.stream_info(stream)).state.messages)
                if stream != "DEADLETTER":
                    info = await js.consumer_info(stream, f"{DURABLE_PREFIX}-{stream.lower()}")
                    out[f"{stream} pending"] = int(info.num_pending) + int(info.num_ack_pending)
            return out
        finally:
            await nc.drain()

    return asyncio.run(read())


def wait_consumed(url: str, timeout: float = 240) -> dict[str, int]:
    """Wait until the consumers have nothing pending on either stream; the counts."""
    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        try:
            counts = nats_counts(url)
        except Exception:  # noqa: BLE001 - the consumers may be restarting; NATS itself stays up
            counts = {}
        if counts and not any(v for k, v in counts.items() if k.endswith("pending")):
            return counts
        time.sleep(2)
    raise AssertionError(f"consumers did not catch up in {timeout:.0f}s: {counts}")


def wait_events(cluster: NodeCluster, namespace: str, name: str, wanted: Any, timeout: float = 60) -> list[Any]:
    """The Events about object ``name`` once one satisfies ``wanted`` (kopf posts them after the status write)."""
    deadline = time.monotonic() + timeout
    items: list[Any] = []
    while time.monotonic() < deadline:
        items = get_json(cluster, "events", "-n", namespace, "--field-selector", f"involvedObject.name={name}")["items"]
        if any(wanted(e) for e in items):
            return items
        time.sleep(1)
    operator = cluster.kubectl("logs", "-n", namespace, "-l", "app.kubernetes.io/component=operator", "--tail", "60",
                               "--prefix", check=False)  # fmt: skip
    raise AssertionError(f"no matching Event about {namespace}/{name} within {timeout:.0f}s: {items}\n"
                         f"operator logs:\n{operator.stdout[-6000:]}{operator.stderr[-1000:]}")  # fmt: skip
