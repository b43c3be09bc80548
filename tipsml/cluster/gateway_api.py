"""The Gateway API's CRDs on the single-node cluster, so a chart can bring its implementation.

Only the resource kinds are installed here (the standard channel of the pinned release, copied by
``scripts/k8s-tools.sh``): the controller that serves them, Traefik, is a Deployment of the dependencies chart
(``gateway.enabled``), the way a platform engineer installs the CRDs once per cluster and a controller per
release.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tipsml.cluster.kserve import Kubectl


def crd_names(crd_dir: Path) -> list[str]:
    """``crd/<name>`` of every CRD file in ``crd_dir``, in file name order."""
    return ["crd/" + yaml.safe_load(path.read_text())["metadata"]["name"] for path in sorted(crd_dir.glob("*.yaml"))]


def install_crds(crd_dir: Path, kubectl: Kubectl) -> list[str]:
    """Apply the CRDs server-side, as KServe's are (no last-applied copy of each schema); wait until Established."""
    names = crd_names(crd_dir)
    kubectl("apply", "--server-side", "-f", str(crd_dir))
    kubectl("wait", "--for=condition=Established", "--timeout=60s", *names)
    return names
