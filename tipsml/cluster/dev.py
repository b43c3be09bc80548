"""A throwaway Kubernetes control plane (etcd + kube-apiserver), alone or as the base of the real node.

The operator, the CRDs and the Helm charts are proven against a real API server rather than a mock,
so tests and developers start one here: generated certificates, a service-account signing key, a
static admin token, and a kubeconfig, all under one state directory. There is no controller-manager,
scheduler or kubelet: objects are stored, validated, admitted and watched, but nothing reconciles
them (Deployments get no Pods, deleted namespaces stay ``Terminating``). :mod:`tipsml.cluster.node` starts
the same control plane with :class:`ApiServerOptions` for a node, then the node itself.

The binaries come from ``scripts/k8s-tools.sh``, which builds them once per pinned release.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tipsml.cluster.errors import DevClusterError, StartupError, ToolError
from tipsml.cluster.process import free_ports, readyz, stop_pid, term_on_parent_death
from tipsml.cluster.tools import Binaries

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

CONTEXT = "tipsml-dev"
DEFAULT_SERVER_IPS = ("127.0.0.1", "10.0.0.1")


@dataclass
class DevCluster:
    """A running control plane: where to reach it, how to authenticate, and what to stop."""

    state_dir: Path
    server: str
    kubeconfig: Path
    ca_file: Path
    token: str = field(repr=False)
    binaries: Binaries
    pids: dict[str, int]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list, repr=False)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the API server, then etcd, and wait until both are gone."""
        for name in ("kube-apiserver", "etcd"):
            pid = self.pids.get(name)
            if pid is not None:
                stop_pid(pid, self._exe(name), timeout, self._popen(pid))
        self.processes.clear()

    def is_ready(self) -> bool:
        """Ask ``/readyz`` once; false while starting or after stopping."""
        return readyz(self.server, self.ca_file, self.token, timeout=2.0)

    def api_client(self) -> ApiClient:
        """A new Python client for this cluster (one per caller, so closing it breaks nobody else)."""
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig))

    def tool_env(self) -> dict[str, str]:
        """Environment for kubectl and helm: this cluster, the pinned tools first, helm state kept here."""
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        env["PATH"] = f"{self.binaries.kubectl.parent}{os.pathsep}{env.get('PATH', '')}"
        for kind in ("CACHE", "CONFIG", "DATA"):
            env[f"HELM_{kind}_HOME"] = str(self.state_dir / "helm" / kind.lower())
        return env

    def run(
        self, tool: str, *args: str | Path, input: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run ``kubectl`` or ``helm`` on this cluster; a failure raises :class:`ToolError` if ``check``."""
        binary = {"kubectl": self.binaries.kubectl, "helm": self.binaries.helm}[tool]
        argv = [str(binary), *map(str, args)]
        result = subprocess.run(
            argv,
            input=input,
            capture_output=True,
            text=True,
            env=self.tool_env(),
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise ToolError(f"{tool} {' '.join(argv[1:])} exited {result.returncode}:\n{result.stderr}")
        return result

    def _exe(self, name: str) -> Path:
        return self.binaries.kube_apiserver if name == "kube-apiserver" else self.binaries.etcd

    def _popen(self, pid: int) -> subprocess.Popen[bytes] | None:
        return next((p for p in self.processes if p.pid == pid), None)

    def save(self) -> None:
        """Record the PIDs and addresses so another process (``down``, ``status``) can find them."""
        record = {
            "server": self.server,
            "kubeconfig": str(self.kubeconfig),
            "ca_file": str(self.ca_file),
            "bin_dir": str(self.binaries.etcd.parent),
            "pids": self.pids,
        }
        from tipsml.cluster.pki import write_file

        write_file(self.state_dir / "cluster.json", json.dumps(record, indent=2) + "\n")

    @classmethod
    def load(cls, state_dir: Path) -> DevCluster:
        """Rebuild the handle written by :meth:`save`, failing if nothing was started there."""
        try:
            record = json.loads((state_dir / "cluster.json").read_text())
        except FileNotFoundError as e:
            raise DevClusterError(f"no dev cluster recorded in {state_dir}") from e
        token = (state_dir / "token").read_text().strip()
        return cls(
            state_dir=state_dir,
            server=record["server"],
            kubeconfig=Path(record["kubeconfig"]),
            ca_file=Path(record["ca_file"]),
            token=token,
            binaries=Binaries.at(Path(record["bin_dir"])),
            pids={k: int(v) for k, v in record["pids"].items()},
        )


@dataclass(frozen=True)
class ApiServerOptions:
    """How the API server listens, and whether a node will join (the real cluster) or none (API tests).

    Without nodes, admission of service accounts and the ``kubernetes`` endpoint reconciler are off (nothing
    would ever make a token or answer at that endpoint). With nodes both are on, the API server authenticates
    to the kubelet with a client certificate (``kubectl logs``/``exec``), and its certificate names
    ``server_ips`` (the bind address and the ``kubernetes`` Service's cluster IP, which Pods use).
    """

    bind_address: str = "127.0.0.1"
    port: int | None = None
    service_cidr: str = "10.0.0.0/24"
    server_ips: tuple[str, ...] = DEFAULT_SERVER_IPS
    with_nodes: bool = False
    context: str = CONTEXT


def start(
    state_dir: Path,
    binaries: Binaries,
    timeout: float = 90.0,
    *,
    die_with_parent: bool = False,
    options: ApiServerOptions | None = None,
) -> DevCluster:
    """Start etcd and kube-apiserver with fresh state in ``state_dir`` and wait for ``/readyz``.

    With ``die_with_parent`` (tests), the kernel stops both when the caller dies without tearing
    down, e.g. a test run ended by a time-out, so no control plane is ever orphaned.

    Processes run in their own sessions, so they outlive the caller (``up`` by hand) and a Ctrl-C in
    the caller's terminal does not reach them; stop them with :meth:`DevCluster.stop`. On any failure
    whatever was started is stopped again before the error is raised.
    """
    from tipsml.cluster.pki import write_client_pair, write_credentials, write_kubeconfig  # cryptography

    opts = options or ApiServerOptions()
    state_dir = state_dir.resolve()
    for stale in ("etcd-data", "cluster.json"):
        path = state_dir / stale
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    state_dir.mkdir(parents=True, exist_ok=True)
    token = write_credentials(state_dir, opts.server_ips)
    etcd_port, peer_port, free_api_port = free_ports(3)
    api_port = opts.port or free_api_port
    server = f"https://{opts.bind_address}:{api_port}"
    node_args = ["--disable-admission-plugins=ServiceAccount", "--endpoint-reconciler-type=none"]
    if opts.with_nodes:
        write_client_pair(state_dir, "kubelet-client", "kube-apiserver-kubelet-client", "system:masters")
        node_args = [
            f"--kubelet-client-certificate={state_dir / 'kubelet-client.crt'}",
            f"--kubelet-client-key={state_dir / 'kubelet-client.key'}",
            "--kubelet-preferred-address-types=InternalIP",
        ]
    kubeconfig, ca_file = state_dir / "kubeconfig", state_dir / "ca.crt"
    cluster = DevCluster(state_dir, server, kubeconfig, ca_file, token, binaries, {})
    try:
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        peer_url = f"http://127.0.0.1:{peer_port}"
        _spawn(cluster, die_with_parent, "etcd", [
            str(binaries.etcd), "--name=default", f"--data-dir={state_dir / 'etcd-data'}",
            f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=default={peer_url}", "--initial-cluster-state=new",
            "--unsafe-no-fsync", "--log-level=warn",
        ])  # fmt: skip
        _spawn(cluster, die_with_parent, "kube-apiserver", [
            str(binaries.kube_apiserver), f"--etcd-servers={etcd_url}",
            f"--bind-address={opts.bind_address}", f"--advertise-address={opts.bind_address}",
            f"--secure-port={api_port}",
            f"--tls-cert-file={state_dir / 'apiserver.crt'}",
            f"--tls-private-key-file={state_dir / 'apiserver.key'}",
            f"--client-ca-file={state_dir / 'ca.crt'}",
            f"--token-auth-file={state_dir / 'tokens.csv'}",
            f"--service-account-key-file={state_dir / 'sa.pub'}",
            f"--service-account-signing-key-file={state_dir / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--authorization-mode=RBAC", f"--service-cluster-ip-range={opts.service_cidr}",
            "--allow-privileged=true", "--enable-priority-and-fairness=false", "--profiling=false",
            *node_args,
        ])  # fmt: skip
        write_kubeconfig(cluster.kubeconfig, cluster.server, cluster.ca_file, cluster.token, opts.context)
        _wait_ready(cluster, timeout)
    except BaseException:
        cluster.stop()
        raise
    cluster.save()
    return cluster


@contextlib.contextmanager
def running(state_dir: Path, binaries: Binaries, timeout: float = 90.0) -> Iterator[DevCluster]:
    """Run a control plane for the duration of a ``with`` block (what the pytest fixture uses)."""
    cluster = start(state_dir, binaries, timeout, die_with_parent=True)
    try:
        yield cluster
    finally:
        cluster.stop()


def _spawn(cluster: DevCluster, die_with_parent: bool, name: str, argv: list[str]) -> None:
    log = (cluster.state_dir / f"{name}.log").open("wb")
    with log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=term_on_parent_death if die_with_parent and sys.platform == "linux" else None,
        )
    cluster.processes.append(proc)
    cluster.pids[name] = proc.pid


def _wait_ready(cluster: DevCluster, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, pid in cluster.pids.items():
            proc = cluster._popen(pid)
            if proc is not None and proc.poll() is not None:
                raise StartupError(f"{name} exited with {proc.returncode}:\n{_tail(cluster, name)}")
        if cluster.is_ready():
            return
        time.sleep(0.25)
    raise StartupError(f"kube-apiserver not ready after {timeout:.0f}s:\n{_tail(cluster, 'kube-apiserver')}")


def _tail(cluster: DevCluster, name: str, lines: int = 25) -> str:
    path = cluster.state_dir / f"{name}.log"
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:]) + f"\n(full log: {path})"
