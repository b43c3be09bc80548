"""Where the dev cluster's tools are found: explicit folder, then ``TIPSML_K8S_BIN_DIR``, then the pinned cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from tipsml.cluster.tools import ToolSettings, find_bin_dir


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "k8s-versions.env").write_text('# pins\nK8S_VERSION="v1.34.4"\n')
    return tmp_path


def test_explicit_then_bin_dir_then_pinned_cache(checkout: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    tools = ToolSettings(k8s_cache=cache)
    assert find_bin_dir(start=checkout, tools=tools) == cache / "v1.34.4" / "bin"
    pinned = ToolSettings(k8s_cache=cache, k8s_bin_dir=tmp_path / "bin")
    assert find_bin_dir(start=checkout, tools=pinned) == tmp_path / "bin"
    assert find_bin_dir(tmp_path / "mine", start=checkout, tools=pinned) == tmp_path / "mine"


def test_settings_come_from_the_build_scripts_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TIPSML_K8S_CACHE", str(tmp_path / "c"))
    monkeypatch.setenv("TIPSML_K8S_BIN_DIR", "")  # set but empty counts as unset, as in the shell script
    tools = ToolSettings()
    assert tools.k8s_cache == tmp_path / "c" and tools.k8s_bin_dir is None
    monkeypatch.delenv("TIPSML_K8S_CACHE")
    assert ToolSettings().k8s_root == Path.home() / ".cache" / "tipsml" / "k8s"
