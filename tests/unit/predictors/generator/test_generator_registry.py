import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contracts.crds import PromptVersionSpec
from contracts.prompt_registry import parse_registry_document
from predictors.generator.registry import PromptRegistry, default_prompt_files
from predictors.generator.sandbox import PromptSandbox


def test_shipped_defaults_are_valid_registry_files() -> None:
    files = default_prompt_files()
    assert [f.name for f in files] == ["v1.json", "v2.json"]
    for f in files:
        entry = parse_registry_document(json.loads(f.read_text()))
        PromptSandbox(4000).check(entry.template)


def test_hot_reload_adds_changes_and_removes_versions(
    registry: PromptRegistry, prompts_dir: Path, publish: Callable[..., Any]
) -> None:
    assert registry.versions() == ["v1", "v2"]
    publish(prompts_dir, "v3", "three {{ user_id }}")
    assert registry.versions() == ["v1", "v2", "v3"]
    before = registry.get("v3")
    assert before is not None
    publish(prompts_dir, "v3", "three again {{ weekday }}")
    os.utime(prompts_dir / "v3.json", ns=(1, 1))  # same-second rewrites still differ in size or inode
    after = registry.get("v3")
    assert after is not None and after.spec.template == "three again {{ weekday }}"
    (prompts_dir / "v3.json").unlink()
    assert registry.get("v3") is None


def test_reload_is_rate_limited(prompts_dir: Path, publish: Callable[..., Any]) -> None:
    now = [0.0]
    reg = PromptRegistry(prompts_dir, PromptSandbox(4000), reload_interval=5.0, clock=lambda: now[0])
    assert reg.versions() == ["v1", "v2"]
    publish(prompts_dir, "v3")
    now[0] = 4.0
    assert "v3" not in reg.versions()
    now[0] = 5.5
    assert "v3" in reg.versions()


def test_configmap_symlink_swap_is_picked_up(tmp_path: Path, publish: Callable[..., Any]) -> None:
    """Kubernetes mounts keys as symlinks into ``..data``, itself a symlink swapped atomically on update."""
    mount = tmp_path / "mount"
    mount.mkdir()
    first = mount / "..2024_01_01"
    first.mkdir()
    publish(first, "v1")
    (mount / "..data").symlink_to(first.name)
    (mount / "v1.json").symlink_to("..data/v1.json")
    reg = PromptRegistry(mount, PromptSandbox(4000), reload_interval=0.0)
    assert reg.versions() == ["v1"]
    second = mount / "..2024_01_02"
    second.mkdir()
    publish(second, "v1", "changed {{ user_id }} and more")
    publish(second, "v2")
    tmp_link = mount / "..data_tmp"
    tmp_link.symlink_to(second.name)
    os.replace(tmp_link, mount / "..data")
    (mount / "v2.json").symlink_to("..data/v2.json")
    assert reg.versions() == ["v1", "v2"]
    v1 = reg.get("v1")
    assert v1 is not None and v1.spec.template.startswith("changed")


def test_invalid_file_keeps_last_good_copy(
    registry: PromptRegistry, prompts_dir: Path, publish: Callable[..., Any]
) -> None:
    good = registry.get("v2")
    assert good is not None
    bad = {"version": "v2", "template": "broken", "contentHash": "0" * 64}
    (prompts_dir / "v2.json").write_text(json.dumps(bad))
    assert registry.get("v2") == good
    publish(prompts_dir, "evil", "{{ ''.__class__.__mro__ }}")
    assert registry.get("evil") is None


def test_marked_default(registry: PromptRegistry) -> None:
    assert registry.marked_default() == "v1"
    assert PromptVersionSpec(version="v9", template="x").default is False
