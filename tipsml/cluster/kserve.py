"""KServe on the single-node cluster: its controller built from the Go module, in Standard (RawDeployment) mode.

What a platform engineer's ``helm install kserve`` would set up, done from the files of the pinned release
(copied by ``scripts/k8s-tools.sh`` beside ``kserve-manager``):

* the ``serving.kserve.io`` CRDs, in KServe's *minimal* flavour (the full InferenceService schema is about
  2 MB, above etcd's default request limit; the minimal one keeps the kinds, printer columns and status
  subresource and leaves field validation to KServe's own webhooks);
* the ``inferenceservice-config`` ConfigMap of the release with two changes: ``Standard`` as the default
  deployment mode (plain Deployments, Services and HPAs, no Knative) and no Ingress objects (this cluster
  has no ingress controller, so a predictor is reached by its Service; the Gateway API's CRDs are installed
  and the dependencies chart brings its implementation, Traefik, with ``gateway.enabled``: the tipsml chart's
  own HTTPRoute, not one KServe makes, sends to the predictor through it);
* the ClusterServingRuntimes of the release (images named as the release's kustomization names them;
  tipsml's predictors are custom containers and do not use them);
* the manager itself, a host process beside kube-controller-manager (the control plane here is host
  processes too), serving its admission webhooks on ``127.0.0.1`` with a certificate signed by the
  cluster CA; the webhook configurations point at that URL with the CA as ``caBundle`` (no cert-manager).
"""

from __future__ import annotations

import base64
import copy
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Final, Protocol

import yaml

from tipsml.cluster.errors import StartupError
from tipsml.cluster.pki import write_serving_pair
from tipsml.cluster.process import free_ports, term_on_parent_death

NAMESPACE: Final = "kserve"
CONFIGMAP: Final = "inferenceservice-config"
MANAGER: Final = "kserve-manager"
DEPLOYMENT_MODE: Final = "Standard"
AGENT_IMAGE: Final = "tipsml/kserve-agent:dev"  # scripts/images.sh builds it from the pinned module
WEBHOOK_HOST: Final = "127.0.0.1"
CRD_FILES: Final = (
    "crd/minimal/serving.kserve.io_inferenceservices.yaml",
    "crd/minimal/serving.kserve.io_servingruntimes.yaml",
    "crd/minimal/serving.kserve.io_clusterservingruntimes.yaml",
    "crd/minimal/serving.kserve.io_trainedmodels.yaml",
    "crd/minimal/serving.kserve.io_inferencegraphs.yaml",
    "crd/minimal/clusterstoragecontainer/serving.kserve.io_clusterstoragecontainers.yaml",
)
RUNTIME_FILES: Final = ("kserve-lgbserver.yaml", "kserve-sklearnserver.yaml", "kserve-xgbserver.yaml",
                        "kserve-mlserver.yaml", "kserve-huggingfaceserver.yaml")


class Kubectl(Protocol):
    """The cluster's kubectl runner (:meth:`tipsml.cluster.node.NodeCluster.kubectl`); raises on failure."""

    def __call__(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``kubectl args`` with ``input`` on stdin."""
        ...


def config_map(config_dir: Path) -> dict[str, Any]:
    """The release's ``inferenceservice-config`` with Standard mode as the default and no Ingress objects."""
    doc = yaml.safe_load((config_dir / "configmap" / "inferenceservice.yaml").read_text())
    data: dict[str, str] = doc["data"]
    deploy = json.loads(data["deploy"])
    deploy["defaultDeploymentMode"] = DEPLOYMENT_MODE
    data["deploy"] = json.dumps(deploy)
    ingress = json.loads(data["ingress"])
    ingress["disableIngressCreation"] = True
    data["ingress"] = json.dumps(ingress)
    # The sidecars run the agent built here (no registry); the logger's requests are sized for one small node.
    for key in ("agent", "logger", "batcher"):
        sidecar = json.loads(data[key])
        sidecar["image"] = AGENT_IMAGE
        if key == "logger":
            sidecar.update(cpuRequest="20m", memoryRequest="32Mi", memoryLimit="256Mi")
        data[key] = json.dumps(sidecar)
    data.pop("_example", None)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CONFIGMAP, "namespace": NAMESPACE},
            "data": data}


def webhook_configurations(config_dir: Path, port: int, ca_bundle: bytes) -> list[dict[str, Any]]:
    """The release's webhook configurations, pointed at the manager on ``127.0.0.1:port``."""
    docs = [d for d in yaml.safe_load_all((config_dir / "webhook" / "manifests.yaml").read_text()) if d]
    out: list[dict[str, Any]] = []
    for doc in docs:
        doc = copy.deepcopy(doc)
        doc["metadata"].pop("creationTimestamp", None)
        for hook in doc.get("webhooks", []):
            path = hook["clientConfig"]["service"]["path"]
            hook["clientConfig"] = {"url": f"https://{WEBHOOK_HOST}:{port}{path}",
                                    "caBundle": base64.b64encode(ca_bundle).decode()}
        out.append(doc)
    return out


def serving_runtimes(config_dir: Path) -> list[dict[str, Any]]:
    """A few of the release's ClusterServingRuntimes, images renamed as its kustomization does."""
    kustomization = yaml.safe_load((config_dir / "runtimes" / "kustomization.yaml").read_text())
    images = {i["name"]: f"{i['newName']}:{i['newTag']}" for i in kustomization.get("images", [])}
    out: list[dict[str, Any]] = []
    for name in RUNTIME_FILES:
        doc = yaml.safe_load((config_dir / "runtimes" / name).read_text())
        for container in doc["spec"]["containers"]:
            image = str(container["image"]).split(":", 1)[0]
            container["image"] = images.get(image, container["image"])
        out.append(doc)
    return out


def manifest(docs: list[dict[str, Any]]) -> str:
    """One multi-document YAML for ``kubectl apply -f -``."""
    return yaml.safe_dump_all(docs, sort_keys=False)


class KServe:
    """Installs KServe's objects and runs its manager against a cluster, through that cluster's ``kubectl``."""

    def __init__(self, state_dir: Path, bin_dir: Path, config_dir: Path, kubeconfig: Path, kubectl: Kubectl) -> None:
        self.state_dir = state_dir
        self.bin_dir = bin_dir
        self.config_dir = config_dir
        self.kubeconfig = kubeconfig
        self.kubectl = kubectl

    def install_objects(self) -> None:
        """Namespace, CRDs (waited on until Established) and the controller's ConfigMap."""
        self.kubectl("create", "namespace", NAMESPACE)
        names = []
        for rel in CRD_FILES:
            self.kubectl("apply", "--server-side", "-f", str(self.config_dir / rel))
            names.append("crd/" + yaml.safe_load((self.config_dir / rel).read_text())["metadata"]["name"])
        self.kubectl("wait", "--for=condition=Established", "--timeout=60s", *names)
        self.kubectl("apply", "-f", "-", input=manifest([config_map(self.config_dir)]))

    def start_manager(self, die_with_parent: bool) -> tuple[subprocess.Popen[bytes], int]:
        """Write the webhook certificate, start the manager, wait until its webhook server answers.

        Returns the process and the webhook port (for :meth:`install_webhooks`).
        """
        tmp = self.state_dir / "kserve-tmp"
        # controller-runtime reads the webhook pair from $TMPDIR/k8s-webhook-server/serving-certs.
        write_serving_pair(tmp / "k8s-webhook-server" / "serving-certs", "kserve-webhook-server",
                           (WEBHOOK_HOST,), ("localhost",), self.state_dir)
        webhook_port, metrics_port, probe_port = free_ports(3)
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), "POD_NAMESPACE": NAMESPACE, "TMPDIR": str(tmp)}
        log = (self.state_dir / f"{MANAGER}.log").open("wb")
        with log:
            proc = subprocess.Popen(
                [str(self.bin_dir / MANAGER), f"--webhook-port={webhook_port}",
                 f"--metrics-addr=127.0.0.1:{metrics_port}", f"--health-probe-addr=127.0.0.1:{probe_port}"],
                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=term_on_parent_death if die_with_parent and sys.platform == "linux" else None,
            )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StartupError(f"{MANAGER} exited with {proc.returncode}:\n{self.log_tail()}")
            if _answers(f"https://{WEBHOOK_HOST}:{webhook_port}/", self.state_dir / "ca.crt"):
                return proc, webhook_port
            time.sleep(0.5)
        raise StartupError(f"{MANAGER}'s webhook server did not answer in 90s:\n{self.log_tail()}")

    def install_webhooks(self, webhook_port: int) -> None:
        """Register the webhooks (now that the manager serves them) and the ClusterServingRuntimes they check."""
        ca = (self.state_dir / "ca.crt").read_bytes()
        self.kubectl("apply", "-f", "-", input=manifest(webhook_configurations(self.config_dir, webhook_port, ca)))
        self.kubectl("apply", "-f", "-", input=manifest(serving_runtimes(self.config_dir)))

    def log_tail(self, lines: int = 30) -> str:
        """The manager's last log lines and where its whole log is."""
        path = self.state_dir / f"{MANAGER}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:]) + f"\n(full log: {path})"


def _answers(url: str, ca_file: Path) -> bool:
    context = ssl.create_default_context(cafile=str(ca_file))
    try:
        urllib.request.urlopen(url, timeout=2, context=context)  # noqa: S310 - our own loopback URL
    except urllib.error.HTTPError:
        return True  # TLS worked and the server answered (404 on "/")
    except (urllib.error.URLError, OSError):
        return False
    return True
