"""``tipsml dev-cluster up | down | status``: etcd + kube-apiserver on loopback, for ``kubectl`` and ``helm`` by hand.

No node runs Pods there; ``tipsml cluster`` is the real single-node cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tipsml.cluster.dev import DevCluster, start
from tipsml.cluster.errors import DevClusterError
from tipsml.cluster.tools import Binaries, find_bin_dir

HAND_STATE_DIR = Path(".tipsml") / "dev-cluster"

app = typer.Typer(
    help="A local etcd + kube-apiserver for `kubectl apply` and `helm install` by hand (no nodes run Pods).",
    no_args_is_help=True,
)


@app.command()
def up(
    bin_dir: Annotated[
        Path | None, typer.Option(help="Folder with etcd, kube-apiserver, kubectl, helm.")
    ] = None,
    state_dir: Annotated[
        Path, typer.Option(help="Where certificates, data, logs and PIDs go.")
    ] = HAND_STATE_DIR,
) -> None:
    """Start the control plane in the background and print how to use it."""
    try:
        current = DevCluster.load(state_dir)
        if current.is_ready():
            _print_usage(current, "already running")
            return
        current.stop()
    except DevClusterError:
        pass
    try:
        cluster = start(state_dir, Binaries.in_dir(find_bin_dir(bin_dir)))
    except DevClusterError as e:
        typer.echo(f"dev-cluster: {e}", err=True)
        raise typer.Exit(1) from e
    _print_usage(cluster, "ready")


StateDirOption = Annotated[Path, typer.Option(help="The folder given to `up`.")]


@app.command()
def down(state_dir: StateDirOption = HAND_STATE_DIR) -> None:
    """Stop exactly the processes that `up` started (data and logs stay for a look)."""
    try:
        cluster = DevCluster.load(state_dir)
    except DevClusterError:
        typer.echo("dev-cluster: nothing to stop")
        return
    cluster.stop()
    (state_dir / "cluster.json").unlink(missing_ok=True)
    typer.echo(f"dev-cluster: stopped (logs in {state_dir})")


@app.command()
def status(state_dir: StateDirOption = HAND_STATE_DIR) -> None:
    """Say whether the control plane is up; exit 1 when it is not."""
    try:
        cluster = DevCluster.load(state_dir)
    except DevClusterError as e:
        typer.echo(f"dev-cluster: not running ({e})")
        raise typer.Exit(1) from e
    if not cluster.is_ready():
        typer.echo(f"dev-cluster: not ready (PIDs {cluster.pids}, logs in {state_dir})")
        raise typer.Exit(1)
    _print_usage(cluster, "ready")


def _print_usage(cluster: DevCluster, state: str) -> None:
    typer.echo(f"dev-cluster: {state} at {cluster.server}")
    typer.echo(f"export KUBECONFIG={cluster.kubeconfig}")
    typer.echo(f"export PATH={cluster.binaries.kubectl.parent}:$PATH  # the pinned kubectl and helm")
