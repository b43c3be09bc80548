"""The real node runs the project image: Pods start, Services answer by DNS name, logs/exec/restarts work.

The Deployment serves the project's own ``tip-generator`` (the KServe predictor, offline LLM, no feature store)
from the image built by ``scripts/images.sh``; a second Pod calls it through a ClusterIP Service by its DNS name.
"""

from __future__ import annotations

import json
import time

import yaml

from tipsml.cluster.node import NodeCluster

APP = "tip-generator-smoke"
PROJECT_IMAGE = "docker.io/tipsml/tipsml:dev"
"""What ``scripts/images.sh`` builds from the Dockerfile and ``tipsml cluster up`` imports into containerd."""


def _deployment(namespace: str) -> dict[str, object]:
    labels = {"app": APP}
    writable = [("state", "/state"), ("tmp", "/tmp")]  # as the chart mounts them: the root is read-only
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": APP, "namespace": namespace},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    # One PID namespace for the Pod: the server is not PID 1 of its container, so a
                    # `kill -9` from inside reaches it (the kernel shields a namespace's init from it).
                    "shareProcessNamespace": True,
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "generator",
                        "image": PROJECT_IMAGE,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["python", "-m", "predictors.generator"],
                        "env": [
                            {"name": "TIPSML_GENERATOR_USE_FEATURE_STORE", "value": "false"},
                            {"name": "TIPSML_GENERATOR_STATE_DIR", "value": "/state"},
                            {"name": "TIPSML_GENERATOR_PROMPTS_DIR", "value": "/state/prompts"},
                            {"name": "TIPSML_GENERATOR_EXPERIMENT_FILE", "value": "/state/experiment.json"},
                            {"name": "TIPSML_GENERATOR_REWARD_DB", "value": "/state/rewards.db"},
                        ],
                        "ports": [{"containerPort": 8080, "name": "http"}],
                        "readinessProbe": {"httpGet": {"path": "/v1/models/tip-generator", "port": 8080},
                                           "periodSeconds": 2},
                        "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                                            "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": n, "mountPath": p} for n, p in writable],
                    }],  # fmt: skip
                    "volumes": [{"name": n, "emptyDir": {}} for n, _ in writable],
                },
            },
        },
    }


def _service(namespace: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": APP, "namespace": namespace},
        "spec": {"selector": {"app": APP}, "ports": [{"port": 80, "targetPort": "http"}]},
    }


CLIENT = """
import json, urllib.request
url = "http://{host}/v1/models/tip-generator:predict"
body = json.dumps({{"instances": [{{"user_id": "u-cluster", "request_id": "r-1"}}]}}).encode()
req = urllib.request.Request(url, body, {{"Content-Type": "application/json"}})
with urllib.request.urlopen(req, timeout=30) as resp:
    pred = json.load(resp)["predictions"][0]
print(json.dumps({{"status": resp.status, "prompt_version": pred["prompt_version"], "chars": len(pred["text"])}}))
"""


def _client_pod(namespace: str, host: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "caller", "namespace": namespace},
        "spec": {
            "restartPolicy": "Never",
            "securityContext": {"runAsNonRoot": True},
            "containers": [{
                "name": "caller", "image": PROJECT_IMAGE, "imagePullPolicy": "IfNotPresent",
                "command": ["python", "-c", CLIENT.format(host=host)],
                "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False},
            }],  # fmt: skip
        },
    }


def _apply(cluster: NodeCluster, *docs: dict[str, object]) -> None:
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))


def _wait_for(check: object, timeout: float, what: str) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1)
    raise AssertionError(f"{what} not within {timeout:.0f}s")


def test_node_is_ready(node_cluster: NodeCluster) -> None:
    node = json.loads(node_cluster.kubectl("get", "node", "tipsml-node", "-o", "json").stdout)
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert ready["Ready"] == "True", node["status"]["conditions"]
    assert node["status"]["nodeInfo"]["kubeletVersion"].startswith("v1.34.")
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")


def test_project_image_serves_through_a_service_by_dns_name(node_cluster: NodeCluster,
                                                            node_namespace: str) -> None:
    ns = node_namespace
    _apply(node_cluster, _deployment(ns), _service(ns))
    started = time.perf_counter()
    node_cluster.kubectl("rollout", "status", f"deployment/{APP}", "-n", ns, "--timeout=300s", timeout=320)
    print(f"\n{APP}: 2 replicas Available in {time.perf_counter() - started:.1f}s")

    host = f"{APP}.{ns}.svc.cluster.local"
    _apply(node_cluster, _client_pod(ns, host))

    def finished() -> bool:
        phase = node_cluster.kubectl("get", "pod", "caller", "-n", ns, "-o", "jsonpath={.status.phase}").stdout
        assert phase != "Failed", node_cluster.kubectl("logs", "caller", "-n", ns, check=False).stdout
        return phase == "Succeeded"

    _wait_for(finished, 120, "the caller Pod to finish")
    answer = json.loads(node_cluster.kubectl("logs", "caller", "-n", ns).stdout.strip().splitlines()[-1])
    assert answer["status"] == 200
    assert answer["prompt_version"] in ("v1", "v2")
    assert answer["chars"] > 0


def test_exec_runs_as_10001_on_a_read_only_root(node_cluster: NodeCluster, node_namespace: str) -> None:
    ns = node_namespace
    _apply(node_cluster, _deployment(ns))
    node_cluster.kubectl("rollout", "status", f"deployment/{APP}", "-n", ns, "--timeout=300s", timeout=320)
    probe = "import os; print(os.getuid(), os.getgid()); open('/probe', 'w')"
    result = node_cluster.kubectl("exec", f"deployment/{APP}", "-n", ns, "-c", "generator", "--",
                                  "python", "-c", probe, check=False)
    assert result.stdout.split()[:2] == ["10001", "10001"], result
    assert "Read-only file system" in result.stderr, result.stderr


def test_a_container_killed_inside_is_restarted(node_cluster: NodeCluster, node_namespace: str) -> None:
    ns = node_namespace
    _apply(node_cluster, _deployment(ns))
    node_cluster.kubectl("rollout", "status", f"deployment/{APP}", "-n", ns, "--timeout=300s", timeout=320)
    pod = node_cluster.kubectl("get", "pods", "-n", ns, "-l", f"app={APP}", "-o",
                               "jsonpath={.items[0].metadata.name}").stdout
    kill = ("import os, signal\n"
            "for p in filter(str.isdigit, os.listdir('/proc')):\n"
            "    cmd = open(f'/proc/{p}/cmdline', 'rb').read().split(b'\\0')\n"
            "    if cmd[1:3] == [b'-m', b'predictors.generator']:\n"
            "        os.kill(int(p), signal.SIGKILL)\n"
            "        print('killed', p)\n")
    # The exec session ends with its container, so its exit status says nothing; the restart count does.
    killed = node_cluster.kubectl("exec", pod, "-n", ns, "-c", "generator", "--", "python", "-c", kill, check=False)
    assert "killed" in killed.stdout, (killed.stdout, killed.stderr)

    def restarted() -> bool:
        out = node_cluster.kubectl("get", "pod", pod, "-n", ns, "-o", "json").stdout
        status = json.loads(out)["status"]["containerStatuses"][0]
        return bool(status["restartCount"] >= 1 and status["ready"])

    _wait_for(restarted, 180, "the killed container to be restarted and Ready again")
    logs = node_cluster.kubectl("logs", pod, "-n", ns, "-c", "generator", "--previous", check=False)
    assert logs.returncode == 0, logs.stderr
