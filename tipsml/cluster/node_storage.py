"""Storage of the single-node cluster: a default StorageClass over a pool of local PersistentVolumes.

No dynamic provisioner is built; instead ``up`` creates :data:`POOL_SIZE` ``local`` volumes (the static
pattern of Kubernetes' local-volume docs), each a folder under the cluster's state directory, and the PV
controller of kube-controller-manager binds claims of the class to them when their Pod is scheduled
(``WaitForFirstConsumer``). The kubelet applies the Pod's ``fsGroup`` to them. Reclaim policy
``Retain``: a released volume keeps its data and is not reused (the pool is sized for the tests' installs
and reinstalls). Capacity is nominal: a local volume enforces no size.
"""

from __future__ import annotations

from typing import Any, Final

import yaml

from tipsml.cluster.node_files import NODE_NAME, NodeLayout

STORAGE_CLASS: Final = "tipsml-local"
POOL_SIZE: Final = 16
CAPACITY: Final = "100Gi"


def storage_manifests(layout: NodeLayout) -> str:
    """The StorageClass (the cluster default) and the pool's PersistentVolumes; creates their folders."""
    docs: list[dict[str, Any]] = [{
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS,
                     "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "kubernetes.io/no-provisioner", "reclaimPolicy": "Retain",
        "volumeBindingMode": "WaitForFirstConsumer",
    }]  # fmt: skip
    for i in range(POOL_SIZE):
        folder = layout.state_dir / "volumes" / f"pv-{i:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o777)
        docs.append({
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": f"{STORAGE_CLASS}-{i:02d}"},
            "spec": {
                "capacity": {"storage": CAPACITY}, "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain", "storageClassName": STORAGE_CLASS,
                "local": {"path": str(folder)},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [NODE_NAME]}]}]}},
            },
        })  # fmt: skip
    return yaml.safe_dump_all(docs, sort_keys=False)
