"""`tipsml dev-cluster up|status|down` by hand: a usable cluster, and nothing left running after `down`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tipsml.cli.dev_cluster import app
from tipsml.cluster.dev import DevCluster

pytestmark = pytest.mark.k8s


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def test_up_status_down_leaves_no_process(
    k8s_cluster: DevCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    bin_dir = str(k8s_cluster.binaries.kubectl.parent)
    runner = CliRunner()

    up = runner.invoke(app, ["up", "--bin-dir", bin_dir])
    assert up.exit_code == 0, up.output
    state = tmp_path / ".tipsml" / "dev-cluster"
    cluster = DevCluster.load(state)
    try:
        assert "export KUBECONFIG=" in up.output
        assert runner.invoke(app, ["status"]).exit_code == 0
        again = runner.invoke(app, ["up", "--bin-dir", bin_dir])
        assert "already running" in again.output
        assert DevCluster.load(state).pids == cluster.pids

        env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
        got = subprocess.run(
            [bin_dir + "/kubectl", "get", "ns", "default", "-o", "json"],
            env=env, capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        assert json.loads(got.stdout)["metadata"]["name"] == "default"
    finally:
        down = runner.invoke(app, ["down"])
    assert down.exit_code == 0, down.output
    assert not any(_alive(pid) for pid in cluster.pids.values())
    assert runner.invoke(app, ["status"]).exit_code == 1


def test_down_never_signals_a_recycled_pid(tmp_path: Path) -> None:
    stranger = subprocess.Popen(["sleep", "30"])
    try:
        record = {
            "server": "https://127.0.0.1:1",
            "kubeconfig": str(tmp_path / "kubeconfig"),
            "ca_file": str(tmp_path / "ca.crt"),
            "bin_dir": str(tmp_path / "bin"),
            "pids": {"kube-apiserver": stranger.pid, "etcd": stranger.pid},
        }
        (tmp_path / "cluster.json").write_text(json.dumps(record))
        (tmp_path / "token").write_text("unused\n")
        result = CliRunner().invoke(app, ["down", "--state-dir", str(tmp_path)])
        assert result.exit_code == 0, result.output
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()
