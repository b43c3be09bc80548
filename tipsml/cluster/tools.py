"""Where the clusters' tools are: binaries per pinned release, and the image archives.

``scripts/k8s-tools.sh`` builds the binaries, ``scripts/images.sh`` the images; both keep them under one cache
folder that outlives checkouts and runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from tipsml.cluster.errors import BinariesMissingError

BUILD_HINT = "run `bash scripts/k8s-tools.sh` (or `make k8s-tools`) from the repository root to build them"
TOOLS = ("etcd", "kube-apiserver", "kubectl", "helm")
VERSIONS_FILE = Path("scripts") / "k8s-versions.env"


@dataclass(frozen=True)
class Binaries:
    """Paths of the four tools, all from one pinned build so their versions agree."""

    etcd: Path
    kube_apiserver: Path
    kubectl: Path
    helm: Path

    @classmethod
    def in_dir(cls, bin_dir: Path) -> Binaries:
        """Check that every tool is in ``bin_dir``, failing with how to build them if not."""
        missing = [name for name in TOOLS if not os.access(bin_dir / name, os.X_OK)]
        if missing:
            raise BinariesMissingError(f"missing {', '.join(missing)} in {bin_dir}: {BUILD_HINT}")
        return cls.at(bin_dir)

    @classmethod
    def at(cls, bin_dir: Path) -> Binaries:
        """Name the tools in ``bin_dir`` without checking them (to stop what was started from there)."""
        return cls(bin_dir / "etcd", bin_dir / "kube-apiserver", bin_dir / "kubectl", bin_dir / "helm")


def read_versions(path: Path) -> dict[str, str]:
    """Parse the shell ``KEY=VALUE`` pin file shared with ``scripts/k8s-tools.sh``."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            pins[key.strip()] = value.strip().strip("\"'")
    return pins


class ToolSettings(BaseSettings):
    """Where the built tools are: one folder (``TIPSML_K8S_BIN_DIR``) or the build script's per-release cache."""

    model_config = SettingsConfigDict(env_prefix="TIPSML_", extra="ignore", env_ignore_empty=True)

    k8s_bin_dir: Path | None = None
    cache: Path = Field(default_factory=lambda: Path.home() / ".cache" / "tipsml")
    """Builds and images kept between runs (``TIPSML_CACHE``)."""
    k8s_cache: Path | None = None
    """The Kubernetes tools' cache (``TIPSML_K8S_CACHE``); default ``<cache>/k8s``."""
    image_cache: Path | None = None
    """``scripts/images.sh``'s storage and archives (``TIPSML_IMAGE_CACHE``); default ``<cache>/images``."""

    @property
    def k8s_root(self) -> Path:
        """Where ``scripts/k8s-tools.sh`` keeps one folder per pinned release."""
        return self.k8s_cache or self.cache / "k8s"

    @property
    def image_archives(self) -> Path:
        """The docker-archive tars ``scripts/images.sh`` writes for ``tipsml cluster up`` to import."""
        return (self.image_cache or self.cache / "images") / "archives"


def cache_bin_dir(k8s_version: str, tools: ToolSettings) -> Path:
    """Where ``scripts/k8s-tools.sh`` puts the tools of one Kubernetes release."""
    return tools.k8s_root / k8s_version / "bin"


def find_bin_dir(explicit: Path | None = None, start: Path | None = None, tools: ToolSettings | None = None) -> Path:
    """Pick the tool folder: an explicit one, ``$TIPSML_K8S_BIN_DIR``, or the pinned release's cache.

    The pin is read from the repository that contains ``start`` (default: the working directory), or
    else from the checkout this module runs from, so a checkout always uses the release it pins, never
    whichever happens to be cached.
    """
    if explicit is not None:
        return explicit
    tools = tools or ToolSettings()
    if tools.k8s_bin_dir is not None:
        return tools.k8s_bin_dir
    pins, pin_file = pinned_versions(start)
    version = pins.get("K8S_VERSION")
    if not version:
        raise BinariesMissingError(f"{pin_file} has no K8S_VERSION")
    return cache_bin_dir(version, tools)


def pinned_versions(start: Path | None = None) -> tuple[dict[str, str], Path]:
    """The pins of the repository containing ``start`` (default: the working directory), and their file.

    Falls back to the checkout this module runs from.
    """
    here = (start or Path.cwd()).resolve()
    checkout = Path(__file__).resolve().parents[2]  # an editable install runs from its checkout
    for folder in (here, *here.parents, checkout):
        pin_file = folder / VERSIONS_FILE
        if pin_file.is_file():
            return read_versions(pin_file), pin_file
    raise BinariesMissingError(
        f"no {VERSIONS_FILE} above {here} and TIPSML_K8S_BIN_DIR is unset: {BUILD_HINT}, "
        "then run from inside the repository or export TIPSML_K8S_BIN_DIR"
    )


def kserve_config_dir(bin_dir: Path, start: Path | None = None) -> Path:
    """The KServe release's config files ``scripts/k8s-tools.sh`` copied beside the tools of ``bin_dir``."""
    return _pinned_dir(bin_dir, start, "KSERVE_VERSION", "KServe {version} config", "kserve", "config")


def gateway_api_crd_dir(bin_dir: Path, start: Path | None = None) -> Path:
    """The Gateway API's standard-channel CRDs ``scripts/k8s-tools.sh`` copied beside the tools of ``bin_dir``."""
    return _pinned_dir(bin_dir, start, "GATEWAY_API_VERSION", "Gateway API {version} CRDs", "gateway-api", "crds")


def _pinned_dir(bin_dir: Path, start: Path | None, pin: str, what: str, folder: str, leaf: str) -> Path:
    """``<bin_dir>/../<folder>/<pinned version>/<leaf>``, which must hold files; else a build hint naming ``what``."""
    pins, pin_file = pinned_versions(start)
    version = pins.get(pin)
    if not version:
        raise BinariesMissingError(f"{pin_file} has no {pin}")
    found = bin_dir.parent / folder / version / leaf
    if not found.is_dir() or not any(found.iterdir()):
        raise BinariesMissingError(f"no {what.format(version=version)} in {found}: {BUILD_HINT}")
    return found
