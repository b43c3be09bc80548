"""The Gateway API CRDs the node cluster installs: found beside the tools of the pinned release, applied, waited on."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tipsml.cluster import gateway_api
from tipsml.cluster.errors import BinariesMissingError
from tipsml.cluster.tools import gateway_api_crd_dir


def crd(name: str) -> str:
    return f"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {name}\n"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "k8s-versions.env").write_text("K8S_VERSION=v1.34.4\nGATEWAY_API_VERSION=v1.4.0\n")
    return tmp_path


def test_crd_folder_is_the_pinned_release_beside_the_tools(checkout: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "k8s" / "v1.34.4" / "bin"
    with pytest.raises(BinariesMissingError, match="no Gateway API v1.4.0 CRDs in .*k8s-tools.sh"):
        gateway_api_crd_dir(bin_dir, start=checkout)
    folder = bin_dir.parent / "gateway-api" / "v1.4.0" / "crds"
    folder.mkdir(parents=True)
    (folder / "gateway.networking.k8s.io_gateways.yaml").write_text(crd("gateways.gateway.networking.k8s.io"))
    assert gateway_api_crd_dir(bin_dir, start=checkout) == folder


def test_a_checkout_without_the_pin_says_so(checkout: Path, tmp_path: Path) -> None:
    (checkout / "scripts" / "k8s-versions.env").write_text("K8S_VERSION=v1.34.4\n")
    with pytest.raises(BinariesMissingError, match="has no GATEWAY_API_VERSION"):
        gateway_api_crd_dir(tmp_path / "bin", start=checkout)


def test_install_applies_the_folder_server_side_and_waits_for_every_crd(tmp_path: Path) -> None:
    for name in ("httproutes", "gatewayclasses"):
        (tmp_path / f"gateway.networking.k8s.io_{name}.yaml").write_text(crd(f"{name}.gateway.networking.k8s.io"))
    calls: list[tuple[str, ...]] = []

    def kubectl(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        return subprocess.CompletedProcess(args, 0, "", "")

    names = gateway_api.install_crds(tmp_path, kubectl)
    assert names == ["crd/gatewayclasses.gateway.networking.k8s.io", "crd/httproutes.gateway.networking.k8s.io"]
    assert calls == [
        ("apply", "--server-side", "-f", str(tmp_path)),
        ("wait", "--for=condition=Established", "--timeout=60s", *names),
    ]
