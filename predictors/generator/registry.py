"""The prompt registry: prompt versions read from a directory and re-read when it changes.

In a cluster the directory is a mounted ConfigMap the operator publishes (one ``<version>.json`` per version,
format in :mod:`contracts.prompt_registry`); Kubernetes updates it by swapping the ``..data`` symlink, which
changes every entry's resolved file at once. Locally it is ``.tipsml/prompts``. The registry is checked at
most every ``reload_interval`` seconds, on use: a handful of ``stat`` calls, so adding a version or editing
one needs neither a restart nor a caller change.

A file that fails validation (bad JSON, hash mismatch, a template the sandbox refuses) is skipped with a
warning naming the file; if that version was loaded before, the last good copy stays in service.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from contracts.crds import PromptVersionSpec
from contracts.prompt_registry import PromptRegistryEntry, parse_registry_document, version_from_filename
from predictors.generator.errors import GeneratorError
from predictors.generator.sandbox import PromptSandbox

log = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, int, int, int], ...]


@dataclass(frozen=True, slots=True)
class LoadedPrompt:
    """A validated prompt version."""

    spec: PromptVersionSpec
    content_hash: str


class PromptRegistry:
    """Prompt versions by name, hot-reloaded from ``directory``."""

    def __init__(
        self,
        directory: Path,
        sandbox: PromptSandbox,
        reload_interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self.sandbox = sandbox
        self.reload_interval = reload_interval
        self._clock = clock
        self._checked_at: float | None = None
        self._fingerprint: Fingerprint | None = None
        self._prompts: dict[str, LoadedPrompt] = {}
        self.reloads = 0

    def refresh(self, force: bool = False) -> bool:
        """Re-read the directory if it may have changed; True when the set of prompts was reloaded."""
        now = self._clock()
        if not force and self._checked_at is not None and now - self._checked_at < self.reload_interval:
            return False
        self._checked_at = now
        fingerprint = self._scan()
        if fingerprint == self._fingerprint:
            return False
        self._fingerprint = fingerprint
        self._prompts = self._load(fingerprint)
        self.reloads += 1
        log.info("prompt registry loaded: versions=%s", ",".join(sorted(self._prompts)))
        return True

    def get(self, version: str) -> LoadedPrompt | None:
        """The prompt version, or None when it is not (or no longer) published."""
        self.refresh()
        return self._prompts.get(version)

    def versions(self) -> list[str]:
        """Known versions, sorted."""
        self.refresh()
        return sorted(self._prompts)

    def marked_default(self) -> str | None:
        """The version whose spec says ``default: true`` (the lowest name if several do)."""
        self.refresh()
        marked = sorted(v for v, p in self._prompts.items() if p.spec.default)
        return marked[0] if marked else None

    def _scan(self) -> Fingerprint:
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return ()
        rows: list[tuple[str, int, int, int]] = []
        for entry in entries:
            if version_from_filename(entry.name) is None:
                continue
            try:
                st = os.stat(entry.path)  # follows the ConfigMap's symlinks into the current ..data
            except FileNotFoundError:
                continue
            rows.append((entry.name, st.st_mtime_ns, st.st_size, st.st_ino))
        return tuple(sorted(rows))

    def _load(self, fingerprint: Fingerprint) -> dict[str, LoadedPrompt]:
        loaded: dict[str, LoadedPrompt] = {}
        for name, *_ in fingerprint:
            version = version_from_filename(name)
            assert version is not None
            try:
                loaded[version] = self._load_file(self.directory / name, version)
            except (OSError, ValueError, ValidationError, GeneratorError) as e:
                log.warning("prompt registry: skipping %s: %s", name, type(e).__name__)
                if version in self._prompts:
                    loaded[version] = self._prompts[version]
        return loaded

    def _load_file(self, path: Path, version: str) -> LoadedPrompt:
        entry: PromptRegistryEntry = parse_registry_document(json.loads(path.read_text(encoding="utf-8")))
        if entry.version != version:
            raise ValueError(f"file {path.name} holds version {entry.version!r}")
        spec = PromptVersionSpec.model_validate(entry.model_dump(exclude={"content_hash"}))
        self.sandbox.check(spec.template)
        if spec.system:
            self.sandbox.check(spec.system)
        return LoadedPrompt(spec, entry.content_hash)


def default_prompt_files() -> list[Path]:
    """The shipped registry files (``v1.json``, ``v2.json``)."""
    root = resources.files("predictors.generator") / "defaults"
    return sorted(Path(str(p)) for p in root.iterdir() if version_from_filename(p.name) is not None)


def seed_prompts_dir(directory: Path) -> list[str]:
    """Copy the shipped versions into ``directory`` if it holds no version yet; returns what was written."""
    directory.mkdir(parents=True, exist_ok=True)
    if any(version_from_filename(p.name) for p in directory.iterdir()):
        return []
    written = []
    for src in default_prompt_files():
        shutil.copyfile(src, directory / src.name)
        written.append(src.name)
    return written
