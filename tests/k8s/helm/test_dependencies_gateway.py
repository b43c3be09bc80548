"""The dependencies chart's gateway: Traefik for the release namespace, off by default, with RBAC that is exactly
what Traefik's kubernetesGateway provider reads and writes, cluster-scoped names that two namespaces do not share,
and a GatewayClass and Gateway the real Gateway API CRDs accept (server-side dry run).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.k8s.helm.chart_support import DEPS_CHART, REPO, documents, set_args
from tipsml.cluster.gateway_api import install_crds
from tipsml.cluster.tools import find_bin_dir, gateway_api_crd_dir

pytestmark = pytest.mark.k8s
ON = ("gateway.enabled=true",)
GATEWAY_KINDS = {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Service", "Deployment", "GatewayClass",
                 "Gateway"}


def render(helm: Any, *values: str, namespace: str) -> list[dict[str, Any]]:
    result = helm("template", "rel", DEPS_CHART, "--namespace", namespace, *set_args(list(values)))
    return documents(result.stdout)


def gateway_docs(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "gateway"]


def test_gateway_renders_only_when_enabled(helm: Any) -> None:
    assert not gateway_docs(render(helm, namespace="deps-ns"))
    docs = gateway_docs(render(helm, *ON, namespace="deps-ns"))
    assert {d["kind"] for d in docs} == GATEWAY_KINDS
    lint = helm("lint", DEPS_CHART, "--strict", *set_args(list(ON)))
    assert "1 chart(s) linted, 0 chart(s) failed" in lint.stdout.splitlines(), lint.stdout
    assert not [line for line in lint.stdout.splitlines() if line.startswith(("[WARNING]", "[ERROR]"))]


def test_traefik_serves_the_release_namespace_gateway(helm: Any) -> None:
    docs = {d["kind"]: d for d in gateway_docs(render(helm, *ON, namespace="deps-ns"))}
    gateway_class, gateway = docs["GatewayClass"], docs["Gateway"]
    assert gateway_class["metadata"]["name"] == "tipsml-deps-ns"
    assert gateway_class["spec"]["controllerName"] == "traefik.io/gateway-controller"
    assert (gateway["metadata"]["name"], gateway["metadata"]["namespace"]) == ("tipsml", "deps-ns")
    assert gateway["spec"]["gatewayClassName"] == "tipsml-deps-ns"
    [listener] = gateway["spec"]["listeners"]
    assert listener == {"name": "http", "protocol": "HTTP", "port": 8000,
                        "allowedRoutes": {"namespaces": {"from": "Same"}}}
    [container] = docs["Deployment"]["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    # Traefik serves a listener on the entryPoint with the listener's port, and only the class it selects.
    assert "--entryPoints.web.address=:8000" in args
    assert "--providers.kubernetesgateway.namespaces=deps-ns" in args
    label = next(a.split("=", 1)[1] for a in args if a.startswith("--providers.kubernetesgateway.labelselector="))
    key, value = label.split("=")
    assert gateway_class["metadata"]["labels"][key] == value == "deps-ns"
    assert container["readinessProbe"]["httpGet"] == container["livenessProbe"]["httpGet"] == {
        "path": "/ping", "port": "traefik"}
    assert {"containerPort": 8080, "name": "traefik"} in container["ports"]
    assert container["image"] == "tipsml/traefik:dev" and container["resources"]["limits"]["memory"]
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["serviceAccountName"] == "rel-gateway"
    [port] = docs["Service"]["spec"]["ports"]
    assert (docs["Service"]["metadata"]["name"], port["port"], port["targetPort"]) == ("gateway", 80, "web")


def test_cluster_rbac_is_traefiks_standard_channel_list_named_per_namespace(helm: Any) -> None:
    docs = {d["kind"]: d for d in gateway_docs(render(helm, *ON, namespace="deps-ns"))}
    role, binding = docs["ClusterRole"], docs["ClusterRoleBinding"]
    assert role["metadata"]["name"] == binding["metadata"]["name"] == "deps-ns-rel-gateway"
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "rel-gateway", "namespace": "deps-ns"}]
    routes = ("gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants", "backendtlspolicies")
    granted = {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
               for v in rule["verbs"]}
    assert granted == {
        *{("", "namespaces", v) for v in ("list", "watch")},
        *{("", r, v) for r in ("services", "secrets", "configmaps") for v in ("get", "list", "watch")},
        *{("discovery.k8s.io", "endpointslices", v) for v in ("list", "watch")},
        *{("gateway.networking.k8s.io", r, v) for r in routes for v in ("get", "list", "watch")},
        *{("gateway.networking.k8s.io", f"{r}/status", "update") for r in routes if r != "referencegrants"},
    }
    other = {d["kind"]: d["metadata"]["name"] for d in gateway_docs(render(helm, *ON, namespace="other-ns"))}
    assert {other[k] for k in ("ClusterRole", "ClusterRoleBinding", "GatewayClass")}.isdisjoint(
        {docs[k]["metadata"]["name"] for k in ("ClusterRole", "ClusterRoleBinding", "GatewayClass")})


def test_gateway_objects_pass_the_gateway_api_crds_dry_run(helm: Any, kubectl: Any, k8s_namespace: str) -> None:
    install_crds(gateway_api_crd_dir(find_bin_dir(start=REPO), start=REPO), kubectl)
    manifest = helm("template", "rel", DEPS_CHART, "--namespace", k8s_namespace, *set_args(list(ON))).stdout
    result = kubectl("apply", "--dry-run=server", "-n", k8s_namespace, "-f", "-", input=manifest)
    applied = [line for line in result.stdout.splitlines() if line.endswith("(server dry run)")]
    assert len(applied) == len(documents(manifest)), result.stdout
    assert any(line.startswith("gateway.gateway.networking.k8s.io/tipsml ") for line in applied), result.stdout
