"""The model card's code version comes from the image's build settings, not from a bare environment read."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from pipelines.steps.card import BuildInfo, code_version


def test_code_version_carries_the_commit_when_the_build_recorded_one() -> None:
    assert code_version(BuildInfo(git_sha="abc123")) == f"{version('tipsml')}+abc123"
    assert code_version(BuildInfo(git_sha="")) == version("tipsml")


def test_build_info_reads_the_image_env_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIPSML_GIT_SHA", "def456")
    build = BuildInfo()
    monkeypatch.delenv("TIPSML_GIT_SHA")
    assert code_version(build).endswith("+def456")
