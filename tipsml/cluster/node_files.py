"""The configuration files of the single-node cluster: containerd, CNI, kubelet, kube-proxy and CoreDNS.

Plain functions of :class:`NodeLayout`, so the exact settings the node runs with can be read (and tested)
in one place. Why each unusual setting is there:

* cgroups v1 with the ``cgroupfs`` driver (no systemd here), ``failCgroupV1: false`` (kubelet 1.34 still
  runs on v1 when told so);
* containerd's CRI ``restrict_oom_score_adj``: this kind of VM withholds ``CAP_SYS_RESOURCE``, and without
  it every pod sandbox fails with ``can't get final child's PID from pipe: EOF``;
* the sandbox ("pause") image is ours, built from the Kubernetes module's C source, since no registry is
  reachable; the kubelet and containerd agree on its name;
* CoreDNS answers only ``cluster.local`` (no ``forward``): nothing in the cluster resolves or reaches an
  outside name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

BRIDGE: Final = "tipsml0"
POD_CIDR: Final = "10.244.0.0/24"
NODE_IP: Final = "10.244.0.1"
"""The bridge's address: the API server and the kubelet listen here, reachable from the host and the Pods."""
SERVICE_CIDR: Final = "10.96.0.0/16"
KUBERNETES_SERVICE_IP: Final = "10.96.0.1"
DNS_SERVICE_IP: Final = "10.96.0.10"
CLUSTER_DOMAIN: Final = "cluster.local"
API_PORT: Final = 6443
KUBELET_PORT: Final = 10250
NODE_NAME: Final = "tipsml-node"
PAUSE_IMAGE: Final = "registry.k8s.io/pause:3.10.1"
COREDNS_IMAGE: Final = "docker.io/tipsml/coredns:dev"
CNI_NETWORK: Final = "tipsml"
CNI_BIN_DIR: Final = Path("/usr/lib/cni")


@dataclass(frozen=True)
class NodeLayout:
    """Where the node's processes keep their state.

    ``state_dir`` holds what one cluster run owns (certificates, etcd, kubelet, logs); ``runtime_dir`` is a
    short path under ``/run`` for containerd's sockets (Unix socket paths are limited to 108 bytes);
    ``image_root`` is containerd's content store, kept across runs in the cache so images are imported once.
    """

    state_dir: Path
    runtime_dir: Path
    image_root: Path

    @property
    def containerd_socket(self) -> Path:
        """The gRPC socket of containerd (CRI for the kubelet, ``ctr`` for image imports)."""
        return self.runtime_dir / "containerd.sock"

    @property
    def kubelet_dir(self) -> Path:
        """The kubelet's ``--root-dir`` (pod volumes are mounted below it)."""
        return self.state_dir / "kubelet"

    @property
    def cni_conf_dir(self) -> Path:
        """CNI network configuration containerd reads."""
        return self.state_dir / "cni" / "net.d"

    @property
    def cni_data_dir(self) -> Path:
        """host-local IPAM's allocations (ours, not ``/var/lib/cni``, so ``down`` can drop them)."""
        return self.state_dir / "cni" / "ipam"


def containerd_config(layout: NodeLayout) -> str:
    """The ``config.toml`` (version 2) of containerd 1.6, as Debian bookworm ships it."""
    return f"""version = 2
root = "{layout.image_root}"
state = "{layout.runtime_dir}/state"
oom_score = 0

[grpc]
  address = "{layout.containerd_socket}"

[ttrpc]
  address = "{layout.runtime_dir}/containerd.sock.ttrpc"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  enable_selinux = false
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{layout.cni_conf_dir}"
"""


def cni_conflist(layout: NodeLayout) -> dict[str, Any]:
    """One bridge network for every Pod: host-local addresses, the bridge as gateway, hostPorts by portmap."""
    return {
        "cniVersion": "0.4.0",
        "name": CNI_NETWORK,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(layout.cni_data_dir),
                    "ranges": [[{"subnet": POD_CIDR, "gateway": NODE_IP}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
            {"type": "loopback"},
        ],
    }


def kubelet_config(layout: NodeLayout, ca_file: Path) -> dict[str, Any]:
    """The kubelet's ``KubeletConfiguration`` (v1beta1)."""
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP,
        "port": KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(ca_file)},
        },
        "authorization": {"mode": "Webhook"},
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
        "clusterDNS": [DNS_SERVICE_IP],
        "clusterDomain": CLUSTER_DOMAIN,
        "resolvConf": "",
        "podCIDR": POD_CIDR,
        "maxPods": 110,
        "serializeImagePulls": False,
        # This VM's disk reports no filesystem stats for its device; keep eviction from acting on guesses.
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
        "imageGCHighThresholdPercent": 100,
        "localStorageCapacityIsolation": False,
        "protectKernelDefaults": False,
        "registerNode": True,
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        # How often the kubelet re-syncs a Pod, which bounds how late a changed ConfigMap reaches its volume
        # (the prompt registry the generator mounts). Stock clusters use 1m (so a new PromptVersion takes up
        # to about a minute and a half); 10s keeps the tests that wait on it short.
        "syncFrequency": "10s",
    }


def kube_proxy_config(kubeconfig: Path) -> dict[str, Any]:
    """kube-proxy in iptables mode, health and metrics on loopback only."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "clusterCIDR": POD_CIDR,
        "hostnameOverride": NODE_NAME,
        "bindAddress": "127.0.0.1",
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        # The kernel's conntrack limits are not ours to change on a shared machine.
        "conntrack": {"maxPerCore": 0, "min": 0},
    }


COREFILE: Final = f""".:1053 {{
    errors
    health :8080
    ready :8181
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }}
    cache 30
    reload
}}
"""


def coredns_manifests() -> str:
    """CoreDNS in ``kube-system`` behind the ``kube-dns`` Service at :data:`DNS_SERVICE_IP` (port 53 → 1053)."""
    labels = {"k8s-app": "kube-dns"}
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "coredns", "namespace": "kube-system"}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "system:coredns"},
            "rules": [
                {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"],
                 "verbs": ["list", "watch"]},
                {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "system:coredns"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:coredns"},
            "subjects": [{"kind": "ServiceAccount", "name": "coredns", "namespace": "kube-system"}],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "coredns", "namespace": "kube-system"},
            "data": {"Corefile": COREFILE},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "coredns", "namespace": "kube-system", "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": "coredns",
                        "dnsPolicy": "Default",
                        "priorityClassName": "system-cluster-critical",
                        "containers": [{
                            "name": "coredns",
                            "image": COREDNS_IMAGE,
                            "imagePullPolicy": "Never",
                            "args": ["-conf", "/etc/coredns/Corefile"],
                            "ports": [{"containerPort": 1053, "protocol": "UDP", "name": "dns"},
                                      {"containerPort": 1053, "protocol": "TCP", "name": "dns-tcp"}],
                            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}, "periodSeconds": 2},
                            "livenessProbe": {"httpGet": {"path": "/health", "port": 8080}},
                            "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True,
                                                "allowPrivilegeEscalation": False,
                                                "capabilities": {"drop": ["ALL"]}},
                            "volumeMounts": [{"name": "config", "mountPath": "/etc/coredns", "readOnly": True}],
                        }],  # fmt: skip
                        "volumes": [{"name": "config", "configMap": {"name": "coredns"}}],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": labels},
            "spec": {
                "selector": labels,
                "clusterIP": DNS_SERVICE_IP,
                "ports": [
                    {"name": "dns", "port": 53, "targetPort": 1053, "protocol": "UDP"},
                    {"name": "dns-tcp", "port": 53, "targetPort": 1053, "protocol": "TCP"},
                ],
            },
        },
    ]
    return yaml.safe_dump_all(docs, sort_keys=False)
