"""A real single-node Kubernetes cluster on this machine: the control plane plus a node where Pods run.

etcd and kube-apiserver come from :mod:`tipsml.cluster.dev` (with nodes allowed), then containerd (Debian's,
with runc and the CNI plugins), kube-controller-manager, kube-scheduler, the kubelet, kube-proxy (iptables
mode), CoreDNS as a Deployment, a default StorageClass over local PersistentVolumes
(:mod:`tipsml.cluster.node_storage`), the Gateway API's CRDs (:mod:`tipsml.cluster.gateway_api`) and KServe's
controller in Standard mode (:mod:`tipsml.cluster.kserve`).
Every binary is built from the pinned Go modules by
``scripts/k8s-tools.sh``; every image by ``scripts/images.sh`` and imported here into containerd's
``k8s.io`` namespace, since no registry is reachable.

What it is not: one node, no cloud load balancer (``LoadBalancer`` Services stay pending), no Ingress
controller and no Gateway API controller (the dependencies chart brings Traefik when ``gateway.enabled``), no
dynamic storage provisioner (a fixed pool of volumes), no metrics API (HPAs exist but
do not scale), and every component authenticates with the cluster's admin token (the kubelet's
client certificate and bootstrap are left out). It needs root, and one such cluster per machine (the
bridge ``tipsml0``, ``10.244.0.0/24`` for Pods, ``10.96.0.0/16`` for Services).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import yaml

from tipsml.cluster import node_host
from tipsml.cluster.dev import ApiServerOptions, DevCluster
from tipsml.cluster.dev import start as start_control_plane
from tipsml.cluster.errors import NodeError, StartupError
from tipsml.cluster.gateway_api import install_crds as install_gateway_api_crds
from tipsml.cluster.kserve import MANAGER, KServe
from tipsml.cluster.node_files import (
    API_PORT,
    KUBERNETES_SERVICE_IP,
    NODE_IP,
    NODE_NAME,
    SERVICE_CIDR,
    NodeLayout,
    cni_conflist,
    containerd_config,
    coredns_manifests,
    kube_proxy_config,
    kubelet_config,
)
from tipsml.cluster.node_images import ImageStoreBrokenError, import_images
from tipsml.cluster.node_probe import dns_answers
from tipsml.cluster.node_storage import storage_manifests
from tipsml.cluster.process import free_ports, stop_pid, term_on_parent_death
from tipsml.cluster.tools import Binaries, ToolSettings, gateway_api_crd_dir, kserve_config_dir

NODE_TOOLS: Final = ("kubelet", "kube-scheduler", "kube-controller-manager", "kube-proxy", "kserve-manager")
RUNTIME_DIR: Final = Path("/run/tipsml-node")
CONTEXT: Final = "tipsml-node"


@dataclass
class NodeCluster:
    """A running single-node cluster: its control plane, the node's processes, and where its state is."""

    control: DevCluster
    layout: NodeLayout
    bin_dir: Path
    pids: dict[str, int] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list, repr=False)

    @property
    def kubeconfig(self) -> Path:
        """Admin kubeconfig of this cluster."""
        return self.control.kubeconfig

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run the pinned ``kubectl`` against this cluster."""
        return self.control.run("kubectl", *args, input=input, check=check, timeout=timeout)

    def save(self) -> None:
        """Record the node's PIDs beside the control plane's (``down`` and ``status`` read them)."""
        self.control.save()
        record = {"pids": self.pids, "bin_dir": str(self.bin_dir), "runtime_dir": str(self.layout.runtime_dir),
                  "image_root": str(self.layout.image_root)}
        (self.control.state_dir / "node.json").write_text(json.dumps(record, indent=2) + "\n")

    @classmethod
    def load(cls, state_dir: Path) -> NodeCluster:
        """The cluster :meth:`save` recorded in ``state_dir``."""
        control = DevCluster.load(state_dir)
        try:
            record = json.loads((state_dir / "node.json").read_text())
        except FileNotFoundError as e:
            raise NodeError(f"no node recorded in {state_dir}") from e
        layout = NodeLayout(state_dir, Path(record["runtime_dir"]), Path(record["image_root"]))
        return cls(control, layout, Path(record["bin_dir"]), {k: int(v) for k, v in record["pids"].items()})

    def node_ready(self) -> bool:
        """Whether the node reports ``Ready``."""
        out = self.kubectl("get", "node", NODE_NAME, "-o",
                           "jsonpath={.status.conditions[?(@.type=='Ready')].status}", check=False)
        return out.returncode == 0 and out.stdout.strip() == "True"

    @property
    def host_snapshot(self) -> Path:
        """What the host looked like before ``up`` (``down`` restores it)."""
        return self.control.state_dir / "host-before.json"

    @property
    def owned_dirs(self) -> list[Path]:
        """Folders under which every mount is the node's own."""
        return [self.layout.runtime_dir, self.layout.kubelet_dir, self.layout.image_root]

    def stop(self, say: Callable[[str], None] | None = None) -> list[str]:
        """Stop everything :func:`start` started and undo its changes to the host; returns what was removed."""
        note = say or (lambda _: None)
        for name in (MANAGER, "kube-scheduler", "kube-controller-manager"):
            self._stop(name)
        if self.control.is_ready() and "kubelet" in self.pids:
            note("deleting every Pod, so the kubelet tears their sandboxes and networks down")
            self.kubectl("delete", "pods", "--all", "--all-namespaces", "--grace-period=1", "--wait=false",
                         check=False)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                left = self.kubectl("get", "pods", "-A", "-o", "name", check=False)
                if left.returncode != 0 or not left.stdout.strip():
                    break
                time.sleep(1)
        for name in ("kube-proxy", "kubelet"):
            self._stop(name)
        if "containerd" in self.pids:
            _remove_containers(self.layout)
        self._stop("containerd")
        self.control.stop()
        removed = node_host.restore(self.host_snapshot, self.owned_dirs)
        shutil.rmtree(self.layout.runtime_dir, ignore_errors=True)
        (self.control.state_dir / "node.json").unlink(missing_ok=True)
        (self.control.state_dir / "cluster.json").unlink(missing_ok=True)
        return removed

    def _stop(self, name: str) -> None:
        pid = self.pids.get(name)
        if pid is None:
            return
        exe = Path(shutil.which("containerd") or "containerd") if name == "containerd" else self.bin_dir / name
        proc = next((p for p in self.processes if p.pid == pid), None)
        stop_pid(pid, exe, 30.0, proc)


def start(state_dir: Path, bin_dir: Path, *, timeout: float = 300.0, die_with_parent: bool = False,
          say: Callable[[str], None] | None = None, tools: ToolSettings | None = None) -> NodeCluster:
    """Start the whole cluster with fresh state in ``state_dir``; wait for the node Ready and DNS answering.

    On any failure what was started is stopped again, the host restored, and the error names the component
    and the tail of its log.
    """
    note = say or (lambda _: None)
    tools = tools or ToolSettings()
    if os.geteuid() != 0:
        raise NodeError("the node needs root (containerd, the kubelet and kube-proxy change the host)")
    missing = [t for t in (*NODE_TOOLS, "etcd", "kube-apiserver", "kubectl", "helm") if not (bin_dir / t).exists()]
    if missing or shutil.which("containerd") is None:
        raise NodeError(f"missing {', '.join(missing) or 'containerd'}: run `make cluster-tools` first")
    if _containerd_answers(RUNTIME_DIR / "containerd.sock"):
        raise NodeError(f"{RUNTIME_DIR} is in use: another node runs on this machine (`tipsml cluster down`)")
    shutil.rmtree(RUNTIME_DIR, ignore_errors=True)  # what a run that was killed left: nothing listens there
    state_dir = state_dir.resolve()
    if state_dir.exists():
        shutil.rmtree(state_dir)
    state_dir.mkdir(parents=True)
    layout = NodeLayout(state_dir, RUNTIME_DIR, tools.cache / "node" / "containerd")
    node_host.snapshot(state_dir / "host-before.json")
    node_host.prepare()
    options = ApiServerOptions(bind_address=NODE_IP, port=API_PORT, service_cidr=SERVICE_CIDR,
                               server_ips=(NODE_IP, KUBERNETES_SERVICE_IP, "127.0.0.1"), with_nodes=True,
                               context=CONTEXT)
    note("etcd and kube-apiserver")
    try:
        control = start_control_plane(state_dir, Binaries.in_dir(bin_dir), die_with_parent=die_with_parent,
                                      options=options)
    except BaseException:
        node_host.restore(state_dir / "host-before.json", [RUNTIME_DIR])
        raise
    cluster = NodeCluster(control, layout, bin_dir)
    try:
        _start_node(cluster, tools.image_archives, timeout, die_with_parent, note)
    except BaseException:
        cluster.stop()
        raise
    cluster.save()
    return cluster


def _start_node(cluster: NodeCluster, archives: Path, timeout: float, die_with_parent: bool,
                note: Callable[[str], None]) -> None:
    layout, state, bins = cluster.layout, cluster.control.state_dir, cluster.bin_dir
    kubeconfig = str(cluster.kubeconfig)
    for folder in (layout.runtime_dir, layout.image_root, layout.cni_conf_dir, layout.cni_data_dir,
                   layout.kubelet_dir):
        folder.mkdir(parents=True, exist_ok=True)
    (state / "containerd.toml").write_text(containerd_config(layout))
    (layout.cni_conf_dir / "10-tipsml.conflist").write_text(json.dumps(cni_conflist(layout), indent=2))
    (state / "kubelet.yaml").write_text(yaml.safe_dump(kubelet_config(layout, cluster.control.ca_file)))
    (state / "kube-proxy.yaml").write_text(yaml.safe_dump(kube_proxy_config(cluster.kubeconfig)))

    def start_containerd() -> None:
        note("containerd")
        _spawn(cluster, die_with_parent, "containerd", [shutil.which("containerd") or "containerd",
                                                         "--config", str(state / "containerd.toml")])
        _wait(cluster, "containerd", lambda: layout.containerd_socket.is_socket(), 30)

    start_containerd()
    try:
        imported = import_images(archives, layout, note)
    except ImageStoreBrokenError as e:
        # The store is only a cache of the archives: drop it and import everything again.
        note(f"containerd's image store is inconsistent ({e}); emptying it and importing every image again")
        cluster._stop("containerd")
        layout.containerd_socket.unlink(missing_ok=True)
        shutil.rmtree(layout.image_root)
        layout.image_root.mkdir(parents=True)
        start_containerd()
        imported = import_images(archives, layout, note)
    note(f"images in containerd: {imported} imported, the rest already there")

    note("kube-controller-manager and kube-scheduler")
    cm_port, sched_port = free_ports(2)
    _spawn(cluster, die_with_parent, "kube-controller-manager", [
        str(bins / "kube-controller-manager"), f"--kubeconfig={kubeconfig}", "--leader-elect=false",
        "--bind-address=127.0.0.1", f"--secure-port={cm_port}", f"--root-ca-file={cluster.control.ca_file}",
        f"--service-account-private-key-file={state / 'sa.key'}", "--use-service-account-credentials=false",
        f"--service-cluster-ip-range={SERVICE_CIDR}", "--allocate-node-cidrs=false",
    ])  # fmt: skip
    _spawn(cluster, die_with_parent, "kube-scheduler", [
        str(bins / "kube-scheduler"), f"--kubeconfig={kubeconfig}", "--leader-elect=false",
        "--bind-address=127.0.0.1", f"--secure-port={sched_port}",
    ])  # fmt: skip

    note("kubelet")
    _spawn(cluster, die_with_parent, "kubelet", [
        str(bins / "kubelet"), f"--config={state / 'kubelet.yaml'}", f"--kubeconfig={kubeconfig}",
        f"--root-dir={layout.kubelet_dir}", f"--node-ip={NODE_IP}", f"--hostname-override={NODE_NAME}",
        f"--cert-dir={state / 'kubelet-pki'}", "--v=1",
    ])  # fmt: skip
    _wait(cluster, "kubelet", cluster.node_ready, timeout)
    note("node Ready; kube-proxy")
    _spawn(cluster, die_with_parent, "kube-proxy", [str(bins / "kube-proxy"), f"--config={state / 'kube-proxy.yaml'}"])

    note("CoreDNS")
    cluster.kubectl("apply", "-f", "-", input=coredns_manifests())
    _wait(cluster, "kube-proxy", lambda: dns_answers("kubernetes.default.svc.cluster.local"), timeout)

    note("storage: a default StorageClass over local PersistentVolumes")
    cluster.kubectl("apply", "-f", "-", input=storage_manifests(layout))

    crd_dir = gateway_api_crd_dir(bins)
    note(f"Gateway API CRDs ({crd_dir.parent.name}, standard channel)")
    install_gateway_api_crds(crd_dir, cluster.kubectl)

    note("KServe (Standard mode): CRDs, inferenceservice-config, manager, webhooks, serving runtimes")
    kserve = KServe(state, bins, kserve_config_dir(bins), cluster.kubeconfig, cluster.kubectl)
    kserve.install_objects()
    proc, webhook_port = kserve.start_manager(die_with_parent)
    cluster.processes.append(proc)
    cluster.pids[MANAGER] = proc.pid
    kserve.install_webhooks(webhook_port)


def _containerd_answers(sock: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(sock))
        except OSError:
            return False
    return True


def _spawn(cluster: NodeCluster, die_with_parent: bool, name: str, argv: list[str]) -> None:
    log = (cluster.control.state_dir / f"{name}.log").open("wb")
    with log:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=term_on_parent_death if die_with_parent and sys.platform == "linux" else None,
        )  # fmt: skip
    cluster.processes.append(proc)
    cluster.pids[name] = proc.pid


def _wait(cluster: NodeCluster, name: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc_name, pid in cluster.pids.items():
            proc = next((p for p in cluster.processes if p.pid == pid), None)
            if proc is not None and proc.poll() is not None:
                raise StartupError(f"{proc_name} exited with {proc.returncode}:\n{tail(cluster, proc_name)}")
        if check():
            return
        time.sleep(0.5)
    raise StartupError(f"{name} not ready after {timeout:.0f}s:\n{tail(cluster, name)}")


def tail(cluster: NodeCluster, name: str, lines: int = 30) -> str:
    """The last lines of a component's log, and where the whole log is."""
    path = cluster.control.state_dir / f"{name}.log"
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:]) + f"\n(full log: {path})"


def _remove_containers(layout: NodeLayout) -> None:
    """Kill and delete whatever containers the kubelet left in containerd (a Pod it did not get to)."""
    ctr = [shutil.which("ctr") or "ctr", "--address", str(layout.containerd_socket), "--namespace", "k8s.io"]
    tasks = subprocess.run([*ctr, "tasks", "list", "--quiet"], capture_output=True, text=True, check=False)
    for task in tasks.stdout.split():
        subprocess.run([*ctr, "tasks", "kill", "--signal", "SIGKILL", task], capture_output=True, check=False)
        subprocess.run([*ctr, "tasks", "delete", "--force", task], capture_output=True, check=False)
    containers = subprocess.run([*ctr, "containers", "list", "--quiet"], capture_output=True, text=True,
                                check=False)
    for container in containers.stdout.split():
        subprocess.run([*ctr, "containers", "delete", container], capture_output=True, check=False)

