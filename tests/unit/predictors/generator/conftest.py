from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.crds import ModelConfig, PromptVersionSpec
from contracts.prompt_registry import registry_document_text, registry_filename
from predictors.generator.registry import PromptRegistry, seed_prompts_dir
from predictors.generator.sandbox import PromptSandbox


def _publish(
    directory: Path,
    version: str,
    template: str = "Tip for {{ user_id }}",
    *,
    default: bool = False,
    model: ModelConfig | None = None,
) -> Path:
    spec = PromptVersionSpec(
        version=version, template=template, default=default, model=model or ModelConfig()
    )
    path = directory / registry_filename(version)
    path.write_text(registry_document_text(spec))
    return path


def _write_experiment(path: Path, active: dict[str, object] | None) -> None:
    path.write_text(json.dumps({"active": active}))


@pytest.fixture
def prompts_dir(tmp_path: Path) -> Path:
    d = tmp_path / "prompts"
    seed_prompts_dir(d)
    return d


@pytest.fixture
def registry(prompts_dir: Path) -> PromptRegistry:
    return PromptRegistry(prompts_dir, PromptSandbox(4000), reload_interval=0.0)


@pytest.fixture
def publish() -> object:
    """Write a registry file: ``publish(directory, version, template, default=..., model=...)``."""
    return _publish


@pytest.fixture
def write_experiment() -> object:
    """Write an experiment file: ``write_experiment(path, active)``."""
    return _write_experiment
