"""File format of the prompt registry the operator publishes and the generator reads.

The registry is a directory (a mounted ConfigMap in a cluster, ``LocalState().prompts_dir`` locally) holding
one file per prompt version, named ``<version>.json`` (:func:`registry_filename`). Each file is the
``PromptVersionSpec`` as ``model_dump(by_alias=True, mode="json")`` plus a ``contentHash`` key
(:func:`content_hash` of that spec), so a reader can tell a torn or hand-edited file from a published one.

Names starting with ``.`` are never registry entries: Kubernetes mounts a ConfigMap as ``..data`` (a symlink
it swaps atomically on update) and ``..<timestamp>`` directories, with ``<key>`` symlinks pointing into them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

from pydantic import Field

from contracts.crds import PromptVersionSpec

REGISTRY_SUFFIX: Final = ".json"
CONTENT_HASH_KEY: Final = "contentHash"


class PromptRegistryEntry(PromptVersionSpec):
    """One registry file: the spec plus the hash of its content."""

    content_hash: str = Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")


def registry_filename(version: str) -> str:
    """File name of a version's entry (also the ConfigMap key)."""
    return f"{version}{REGISTRY_SUFFIX}"


def version_from_filename(name: str) -> str | None:
    """The version a file name holds, or None when the name is not a registry entry."""
    if name.startswith(".") or not name.endswith(REGISTRY_SUFFIX):
        return None
    version = name[: -len(REGISTRY_SUFFIX)]
    return version or None


def content_hash(spec: PromptVersionSpec) -> str:
    """SHA-256 of the spec's canonical JSON (camelCase keys, sorted, no whitespace)."""
    payload = spec.model_dump(by_alias=True, mode="json")
    payload.pop(CONTENT_HASH_KEY, None)
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _plain_spec(spec: PromptVersionSpec) -> PromptVersionSpec:
    """The spec without registry-only fields (an entry passed in is reduced to its spec)."""
    return PromptVersionSpec.model_validate(
        spec.model_dump(by_alias=True, mode="json", exclude={"content_hash"})
    )


def registry_document(spec: PromptVersionSpec) -> dict[str, Any]:
    """The JSON document to publish for ``spec`` (write it to :func:`registry_filename`)."""
    plain = _plain_spec(spec)
    document = plain.model_dump(by_alias=True, mode="json")
    document[CONTENT_HASH_KEY] = content_hash(plain)
    return document


def registry_document_text(spec: PromptVersionSpec) -> str:
    """:func:`registry_document` as stable, pretty JSON text."""
    return json.dumps(registry_document(spec), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def parse_registry_document(data: dict[str, Any]) -> PromptRegistryEntry:
    """Validate one registry document; a content hash that does not match its spec is a ``ValueError``."""
    entry = PromptRegistryEntry.model_validate(data)
    expected = content_hash(_plain_spec(entry))
    if entry.content_hash != expected:
        raise ValueError(f"contentHash does not match the spec of version {entry.version!r}")
    return entry
