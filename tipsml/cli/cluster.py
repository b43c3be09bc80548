"""``tipsml cluster up | down | status``: the real single-node Kubernetes cluster (Pods run on it).

``up`` needs root and the tools of ``make cluster-tools`` (binaries built from the pinned Go modules, Debian's
containerd, and the images built offline). ``tipsml dev-cluster`` is the lighter API-server-only cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from tipsml.cluster.node import NodeCluster

app = typer.Typer(
    help="A real single-node Kubernetes cluster on this machine: control plane, containerd, kubelet, kube-proxy, "
    "CoreDNS, a default StorageClass and KServe's controller (Standard mode). Needs root; build its tools first "
    "with `make cluster-tools`.",
    no_args_is_help=True,
)
console = Console()
STATE_DIR = Path(".tipsml") / "cluster"
StateDir = Annotated[Path, typer.Option(help="Where certificates, etcd data, the kubelet's state and logs go.")]


@app.command()
def up(
    state_dir: StateDir = STATE_DIR,
    bin_dir: Annotated[Path | None, typer.Option(help="Folder with the Kubernetes binaries (default: the pinned "
                                                      "release's cache).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the node Ready and DNS.")] = 300.0,
) -> None:
    """Start etcd, the control plane, containerd and the node; wait until the node is Ready and CoreDNS answers.

    Then install the local-volume StorageClass, the Gateway API CRDs and KServe (CRDs, inferenceservice-config,
    webhooks, manager), so `helm install` of the tipsml charts works as on a real cluster.
    """
    from tipsml.cluster.errors import DevClusterError
    from tipsml.cluster.node import NodeCluster, start
    from tipsml.cluster.tools import find_bin_dir

    try:
        current = NodeCluster.load(state_dir)
        if current.control.is_ready() and current.node_ready():
            _usage(current, "already running")
            return
    except DevClusterError:
        pass
    try:
        cluster = start(state_dir, find_bin_dir(bin_dir), timeout=timeout,
                        say=lambda m: console.print(f"[green]•[/green] {m}"))
    except (DevClusterError, OSError) as e:
        console.print(f"[red]cluster:[/red] {e}")
        raise typer.Exit(1) from e
    _usage(cluster, "ready")


@app.command()
def down(state_dir: StateDir = STATE_DIR) -> None:
    """Stop exactly what `up` started; remove its bridge, iptables chains, mounts and network namespaces."""
    from tipsml.cluster.errors import DevClusterError
    from tipsml.cluster.node import NodeCluster

    try:
        cluster = NodeCluster.load(state_dir)
    except DevClusterError:
        console.print("cluster: nothing to stop")
        return
    removed = cluster.stop(say=lambda m: console.print(f"[yellow]■[/yellow] {m}"))
    console.print(f"cluster: stopped; removed {len(removed)} host changes (logs stay in {state_dir})")


@app.command()
def status(state_dir: StateDir = STATE_DIR) -> None:
    """Say whether the cluster is up and the node Ready; exit 1 when not."""
    from tipsml.cluster.errors import DevClusterError
    from tipsml.cluster.node import NodeCluster

    try:
        cluster = NodeCluster.load(state_dir)
    except DevClusterError as e:
        console.print(f"cluster: not running ({e})")
        raise typer.Exit(1) from e
    if not (cluster.control.is_ready() and cluster.node_ready()):
        console.print(f"cluster: not ready (PIDs {cluster.pids}; logs in {state_dir})")
        raise typer.Exit(1)
    _usage(cluster, "ready")
    console.print(cluster.kubectl("get", "pods", "-A", "-o", "wide").stdout)


def _usage(cluster: NodeCluster, state: str) -> None:
    console.print(f"cluster: {state}; API server {cluster.control.server}, node tipsml-node")
    typer.echo(f"export KUBECONFIG={cluster.kubeconfig.resolve()}")
    typer.echo(f"export PATH={cluster.bin_dir}:$PATH  # the pinned kubectl and helm")
