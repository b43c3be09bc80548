"""The charts lint clean, carry the one source of truth for CRDs, Feast config and the default prompt, are
least-privilege and restricted, and every rendered object passes a real API server's dry run.

Rendering needs no cluster, but `kubectl apply --dry-run=server` runs the API server's whole admission and
validation path (CRD schemas and CEL rules included) without storing anything.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.k8s.helm.chart_support import (
    CRDS_CHART,
    DEPS_CHART,
    EVERYTHING_ON,
    REPO,
    STACK,
    documents,
    set_args,
)
from tipsml.cluster.errors import ToolError

pytestmark = pytest.mark.k8s
SECRET_WORDS = ("PASSWORD", "TOKEN", "CONNECTION", "REGISTRY_URL", "KEY")


def render(helm: Any, chart: Path, *values: str, namespace: str = "tipsml") -> list[dict[str, Any]]:
    result = helm("template", "rel", chart, "--namespace", namespace, *set_args(list(values)))
    return documents(result.stdout)


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Containers of a Deployment or an InferenceService predictor."""
    if doc["kind"] == "Deployment":
        found: list[dict[str, Any]] = doc["spec"]["template"]["spec"]["containers"]
        return found
    if doc["kind"] == "InferenceService":
        found = doc["spec"]["predictor"]["containers"]
        return found
    return []


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = doc["spec"]["template"]["spec"] if doc["kind"] == "Deployment" else doc["spec"]["predictor"]
    return spec


def test_helm_lint_is_clean_for_both_charts(helm: Any) -> None:
    for chart, extra in ((CRDS_CHART, []), (STACK, []), (STACK, set_args(EVERYTHING_ON)), (DEPS_CHART, [])):
        result = helm("lint", chart, "--strict", *extra)
        lines = result.stdout.splitlines()
        assert "1 chart(s) linted, 0 chart(s) failed" in lines, result.stdout
        assert not [line for line in lines if line.startswith(("[WARNING]", "[ERROR]"))], result.stdout


def test_values_schema_rejects_bad_values(helm: Any) -> None:
    bad_values = (
        "operator.replicas=-1",
        "unknownKey=1",
        "scorer.featureTransform=gpu",
        "image.pullPolicy=Often",
    )
    for bad in bad_values:
        result = helm("template", "rel", STACK, "--set", bad, check=False)
        assert result.returncode != 0, bad
        assert "schema" in result.stderr, result.stderr
    two_without_peering = helm("template", "rel", STACK, "--set", "operator.peering.enabled=false", check=False)
    assert "needs operator.peering.enabled" in two_without_peering.stderr
    # KServe's webhook would refuse it at install; the chart says why first.
    hpa_concurrency = helm("template", "rel", STACK, "--set", "kserve.deploymentMode=Standard", check=False)
    assert hpa_concurrency.returncode != 0
    assert "scorer.scaleMetric concurrency needs Knative (Serverless mode)" in hpa_concurrency.stderr


def test_feast_apply_runs_as_a_hook_before_the_pods_that_read_the_registry(helm: Any) -> None:
    docs = render(helm, STACK)
    hooks = [d for d in docs if d["metadata"].get("annotations", {}).get("helm.sh/hook")]
    assert {(d["kind"], d["metadata"]["annotations"]["helm.sh/hook"]) for d in hooks} == {
        ("ConfigMap", "pre-install,pre-upgrade"), ("Job", "pre-install,pre-upgrade")}
    job = next(d for d in hooks if d["kind"] == "Job")
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:4] == ["python", "-m", "feature_repo", "apply"]
    feast = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-feast"))
    hook_config = next(d for d in hooks if d["kind"] == "ConfigMap")
    assert hook_config["data"] == feast["data"]
    off = render(helm, STACK, "feast.applyJob.enabled=false")
    assert not [d for d in off if d["metadata"].get("annotations", {}).get("helm.sh/hook")]


def test_dependencies_chart_wires_the_feast_secret_to_its_own_services(helm: Any) -> None:
    docs = render(helm, DEPS_CHART, namespace="deps-ns")
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for name in ("nats", "redis", "postgres", "mlflow", "prometheus"):
        assert ("Deployment", name) in kinds and ("Service", name) in kinds and ("PersistentVolumeClaim", name) in kinds
    secret = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == "tipsml-feast")
    password = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == "rel-postgres")
    assert secret["stringData"]["redis-connection"] == "redis.deps-ns.svc.cluster.local:6379"
    assert secret["stringData"]["registry-url"] == (
        f"postgresql+psycopg://postgres:{password['stringData']['password']}@postgres.deps-ns.svc.cluster.local:5432/feast")
    assert len(password["stringData"]["password"]) == 24
    # JetStream may use the claim, not 75 % of whatever the node's disk has free.
    claim = next(d for d in docs if d["kind"] == "PersistentVolumeClaim" and d["metadata"]["name"] == "nats")
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "nats-config")
    assert f"max_file_store: {claim['spec']['resources']['requests']['storage']}" in config["data"]["nats.conf"]


def test_crds_chart_carries_exactly_the_generated_crds(helm: Any) -> None:
    generated = sorted((REPO / "manifests" / "crds").glob("*.yaml"))
    copies = sorted((CRDS_CHART / "files" / "crds").glob("*.yaml"))
    assert [p.name for p in copies] == [p.name for p in generated]
    for source, copy in zip(generated, copies, strict=True):
        assert copy.read_text() == source.read_text(), (
            f"{copy} drifted from {source}: cp manifests/crds/*.yaml charts/tipsml-crds/files/crds/"
        )
    rendered = {d["metadata"]["name"]: d for d in render(helm, CRDS_CHART) if d["spec"]["group"] == "tipsml.io"}
    for source in generated:
        crd = yaml.safe_load(source.read_text())
        assert rendered[crd["metadata"]["name"]]["spec"] == crd["spec"]
        assert rendered[crd["metadata"]["name"]]["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
    peering = [d["metadata"]["name"] for d in render(helm, CRDS_CHART) if d["spec"]["group"] == "kopf.dev"]
    assert sorted(peering) == ["clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"]
    assert all(d["spec"]["group"] == "tipsml.io" for d in render(helm, CRDS_CHART, "kopfPeering.enabled=false"))


def test_feast_config_and_default_prompt_match_their_sources(helm: Any) -> None:
    production = REPO / "feature_repo" / "feature_store.production.yaml"
    assert (STACK / "files" / "feature_store.yaml").read_text() == production.read_text(), (
        "cp feature_repo/feature_store.production.yaml charts/tipsml/files/feature_store.yaml"
    )
    docs = render(helm, STACK)
    feast = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-feast"))
    assert yaml.safe_load(feast["data"]["feature_store.yaml"]) == yaml.safe_load(production.read_text())
    # The cluster's default v1 is the generator's shipped v1, so local and cluster rewards compare.
    shipped = json.loads((REPO / "predictors" / "generator" / "defaults" / "v1.json").read_text())
    shipped.pop("contentHash")
    shipped["model"] = {k: v for k, v in shipped["model"].items() if v is not None}
    v1 = next(d for d in docs if d["kind"] == "PromptVersion")
    assert v1["metadata"]["name"] == "v1"
    assert v1["spec"] == shipped


def test_operator_rbac_is_exactly_what_it_uses(helm: Any) -> None:
    docs = render(helm, STACK)
    role = next(d for d in docs if d["kind"] == "Role")
    rules = {
        (tuple(r["apiGroups"]), tuple(r["resources"]), tuple(r.get("resourceNames", ())), tuple(r["verbs"]))
        for r in role["rules"]
    }
    assert rules == {
        (("tipsml.io",), ("promptversions", "modelrollouts"), (), ("get", "list", "watch", "patch")),
        (("tipsml.io",), ("promptversions/status", "modelrollouts/status"), (), ("get", "patch")),
        (("",), ("configmaps",), ("tip-generator-prompts",), ("get", "update")),
        (("",), ("configmaps",), (), ("create",)),
        (("serving.kserve.io",), ("inferenceservices",), (), ("get", "create", "update", "delete")),
        (("apps",), ("deployments",), (), ("get", "create", "update", "delete")),  # Standard mode's canary
        (("",), ("services",), (), ("get", "create", "update", "delete")),  # its weighted form: the canary Service
        (("gateway.networking.k8s.io",), ("httproutes",), (), ("get", "update")),  # and the route's weights
        (("",), ("events",), (), ("create",)),
        (("kopf.dev",), ("kopfpeerings",), (), ("get", "list", "watch", "patch")),
    }
    cluster_roles = [d for d in docs if d["kind"] == "ClusterRole"]
    assert [r["rules"] for r in cluster_roles] == [
        [
            {
                "apiGroups": ["apiextensions.k8s.io"],
                "resources": ["customresourcedefinitions"],
                "verbs": ["list", "watch"],
            },
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]},
        ]
    ]
    assert not [d for d in render(helm, STACK, "operator.rbac.clusterScan=false") if d["kind"] == "ClusterRole"]


def test_every_workload_is_restricted_and_secrets_are_only_referenced(helm: Any) -> None:
    docs = render(helm, STACK, *EVERYTHING_ON)
    assert not [d for d in docs if d["kind"] == "Secret"]
    workloads = [d for d in docs if d["kind"] in ("Deployment", "InferenceService")]
    assert {d["metadata"]["name"] for d in workloads} == {
        "rel-tipsml-operator", "rel-tipsml-consumers", "tip-scorer", "tip-generator",
    }  # fmt: skip
    for doc in workloads:
        pod = pod_spec(doc)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert any(v.get("emptyDir") is not None and v["name"] == "tmp" for v in pod["volumes"])
        for container in containers(doc):
            sc = container["securityContext"]
            assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"], doc["metadata"]["name"]
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"] == {"drop": ["ALL"]}
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
            assert container["resources"]["limits"]
            for env in container.get("env", []):
                # A credential never sits in a value: it comes from a Secret (or a mounted file).
                secret_like = any(word in env["name"] for word in SECRET_WORDS)
                if secret_like and not env["name"].endswith("_FILE"):
                    assert "valueFrom" in env, env
    operator = next(d for d in workloads if d["metadata"]["name"] == "rel-tipsml-operator")
    (container,) = containers(operator)
    assert {"livenessProbe", "readinessProbe", "startupProbe"} <= set(container)
    assert [d for d in docs if d["kind"] == "PodDisruptionBudget"]


def test_scorer_env_is_what_the_operator_edits(helm: Any) -> None:
    """The operator reads and rewrites these exact env names in the first container during a rollout."""
    from operators.rollout_effects import ENV_MODEL_URI, ENV_MODEL_VERSION, ENV_ROLE, current_model

    scorer = next(d for d in render(helm, STACK) if d["metadata"]["name"] == "tip-scorer")
    env = {e["name"]: e.get("value") for e in containers(scorer)[0]["env"]}
    assert env[ENV_MODEL_URI] == "models:/tip-scorer@champion"
    assert env[ENV_ROLE] == "serving" and ENV_MODEL_VERSION in env
    assert current_model(scorer) == ("", "models:/tip-scorer@champion")
    generator = next(d for d in render(helm, STACK) if d["metadata"]["name"] == "tip-generator")
    mounts = {v["name"]: v for v in pod_spec(generator)["volumes"]}
    assert mounts["prompts"]["configMap"]["name"] == "tip-generator-prompts"


def test_every_rendered_object_passes_server_side_dry_run(
    helm: Any, kubectl: Any, cluster_prereqs: None, k8s_namespace: str
) -> None:
    for chart, values in ((STACK, ()), (STACK, EVERYTHING_ON), (DEPS_CHART, ())):
        manifest = helm("template", "rel", chart, "--namespace", k8s_namespace, *set_args(list(values))).stdout
        result = kubectl("apply", "--dry-run=server", "-n", k8s_namespace, "-f", "-", input=manifest)
        applied = [line for line in result.stdout.splitlines() if line.endswith("(server dry run)")]
        assert len(applied) == len(documents(manifest)), result.stdout
    # The dry run is real validation: a PromptVersion the CRD schema rejects fails it.
    bad = helm(
        "template",
        "rel",
        STACK,
        "--namespace",
        k8s_namespace,
        "--set",
        "prompts.versions.v1.maxOutputChars=10",
    ).stdout
    with pytest.raises(ToolError, match="maxOutputChars"):
        kubectl("apply", "--dry-run=server", "-n", k8s_namespace, "-f", "-", input=bad)


def grants(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) triples a list of RBAC rules grants."""
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_chart_rbac_never_grants_more_than_the_operator_manifests(helm: Any) -> None:
    """manifests/rbac/operator.yaml is the operator's own statement of what it calls; the chart stays inside it."""
    declared = yaml.safe_load_all((REPO / "manifests" / "rbac" / "operator.yaml").read_text())
    by_kind: dict[str, set[tuple[str, str, str]]] = {"Role": set(), "ClusterRole": set()}
    for doc in declared:
        if doc and doc["kind"] in by_kind:
            by_kind[doc["kind"]] |= grants(doc["rules"])
    docs = render(helm, STACK)
    for kind, allowed in by_kind.items():
        chart = grants([rule for d in docs if d["kind"] == kind for rule in d["rules"]])
        assert chart <= allowed, f"{kind} grants more than manifests/rbac: {sorted(chart - allowed)}"
        # ...and nothing the operator declares is missing, except events.k8s.io (kopf posts core v1 Events).
        assert allowed - chart <= {("events.k8s.io", "events", "create")}, sorted(allowed - chart)


def test_every_tipsml_env_is_a_setting_its_deployable_reads(helm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each container's TIPSML_* env names a field of its settings class, and the values parse there."""
    from operators.settings import OperatorSettings
    from predictors.generator.settings import GeneratorSettings
    from predictors.scorer.settings import ScorerSettings
    from streams.settings import ConsumerSettings

    # Read by Feast's ${VAR} expansion of feature_store.yaml, not by a settings class.
    feast_vars = {"TIPSML_FEAST_REDIS_CONNECTION", "TIPSML_FEAST_REGISTRY_URL"}
    classes: dict[str, tuple[type[Any], str]] = {
        "rel-tipsml-operator": (OperatorSettings, "TIPSML_"),
        "tip-scorer": (ScorerSettings, "TIPSML_"),
        "tip-generator": (GeneratorSettings, "TIPSML_GENERATOR_"),
        "rel-tipsml-consumers": (ConsumerSettings, "TIPSML_"),
    }
    docs = render(helm, STACK, *EVERYTHING_ON)
    for doc in docs:
        if doc["kind"] not in ("Deployment", "InferenceService"):
            continue
        cls, prefix = classes[doc["metadata"]["name"]]
        env = containers(doc)[0]["env"]
        names = {e["name"] for e in env if e["name"].startswith("TIPSML_")} - feast_vars
        fields = {prefix + field.upper() for field in cls.model_fields}
        assert names <= fields, (doc["metadata"]["name"], sorted(names - fields))
        for key in list(os.environ):
            if key.startswith("TIPSML_") or key == "DEFAULT_PROMPT_VERSION":
                monkeypatch.delenv(key)
        for item in env:
            if "value" in item:
                monkeypatch.setenv(item["name"], item["value"])
        settings = cls()
        if cls is ConsumerSettings:
            assert settings.backoff_seconds == [30.0, 60.0, 120.0]
            assert str(settings.nats_creds_file).startswith("/var/run/secrets/tipsml/")
            assert str(settings.feast_config) == "/etc/tipsml/feast/feature_store.yaml"  # Redis, not local SQLite
            assert settings.stream_limits.max_bytes == 4 * 1024**3  # production's, from values
        if cls is GeneratorSettings:
            assert settings.default_prompt_version == "v1" and not settings.seed_default_prompts
            assert str(settings.prompts_dir) == "/etc/tipsml/prompts"
            # Each replica follows FEEDBACK into a reward log of its own (no shared disk in a cluster).
            assert settings.nats_url and str(settings.nats_creds_file).startswith("/var/run/secrets/tipsml/")
            assert settings.reward_db is not None and str(settings.reward_db).startswith("/tmp/")
            assert settings.allowed_api_bases == ("https://api.openai.com/v1",)
        if cls is OperatorSettings:
            assert settings.registry_configmap == "tip-generator-prompts" and not settings.standalone
            assert settings.priority is None  # identical replicas draw distinct priorities at start


def test_generator_egress_is_cut_once_an_external_provider_is_allowed(helm: Any) -> None:
    """Issue 19, defect 1: no allowed apiBase, no external provider; with one, egress only to listed peers."""
    name = "rel-tipsml-generator-egress"
    plain = render(helm, STACK)
    assert name not in {d["metadata"]["name"] for d in plain}
    generator = next(d for d in plain if d["metadata"]["name"] == "tip-generator")
    env = {e["name"]: e.get("value") for e in containers(generator)[0]["env"]}
    assert env["TIPSML_GENERATOR_ALLOWED_API_BASES"] == "[]"
    docs = render(
        helm,
        STACK,
        "generator.allowedApiBases[0]=https://llm.example.com/v1",
        "generator.egress.to[0].ipBlock.cidr=203.0.113.7/32",
    )
    policy = next(d for d in docs if d["metadata"]["name"] == name)
    assert policy["spec"]["podSelector"]["matchLabels"] == {"serving.kserve.io/inferenceservice": "tip-generator"}
    assert policy["spec"]["policyTypes"] == ["Egress"]
    peers = [peer for rule in policy["spec"]["egress"] for peer in rule["to"]]
    assert {"ipBlock": {"cidr": "203.0.113.7/32"}} in peers
    assert not [p for p in peers if "ipBlock" in p and p["ipBlock"]["cidr"] != "203.0.113.7/32"]
    allowed = "generator.allowedApiBases[0]=https://llm.example.com/v1"
    opted_out = render(helm, STACK, allowed, "generator.egress.restrict=false")
    assert name not in {d["metadata"]["name"] for d in opted_out}


def test_operator_appends_rollouts_to_the_card_the_pipeline_writes(helm: Any) -> None:
    """The chart's card artifact is the pipeline's, so a promotion extends the real card instead of a stub."""
    from contracts.model_card import CARD_JSON

    operator = next(d for d in render(helm, STACK) if d["kind"] == "Deployment" and "operator" in d["metadata"]["name"])
    env = {e["name"]: e.get("value") for c in containers(operator) for e in c.get("env", [])}
    assert env["TIPSML_MODEL_CARD_ARTIFACT"] == CARD_JSON


def test_monitoring_scrapes_the_predictor_pods_kserve_makes(helm: Any) -> None:
    """values.yaml promises a PodMonitor for the predictors: it selects KServe's Pods of both services."""
    docs = render(helm, STACK, "monitoring.serviceMonitor.enabled=true")
    pod_monitor = next(d for d in docs if d["kind"] == "PodMonitor")
    (expr,) = pod_monitor["spec"]["selector"]["matchExpressions"]
    assert expr["key"] == "serving.kserve.io/inferenceservice"
    assert sorted(expr["values"]) == ["tip-generator", "tip-scorer"]
    (endpoint,) = pod_monitor["spec"]["podMetricsEndpoints"]
    ports = {p["name"] for d in docs if d["kind"] == "InferenceService" for p in containers(d)[0]["ports"]}
    assert endpoint["port"] in ports and endpoint["path"] == "/metrics"


def test_consumer_state_survives_a_restart_by_default(helm: Any) -> None:
    """The consumers' state (event log, state DB) is on a claim unless a values file opts out."""
    docs = render(helm, STACK)
    consumers = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("-consumers"))
    volumes = {v["name"]: v for v in pod_spec(consumers)["volumes"]}
    claims = [v for v in volumes.values() if "persistentVolumeClaim" in v]
    assert claims, volumes
    assert any(d["kind"] == "PersistentVolumeClaim" for d in docs)


def test_every_metrics_endpoint_is_annotated_for_pod_discovery(helm: Any) -> None:
    docs = {d["metadata"]["name"]: d for d in render(helm, STACK)}
    for name in ("tip-scorer", "tip-generator"):
        annotations = docs[name]["spec"]["predictor"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == "8080"
        # KServe's own scraping annotation would repoint the port at Knative's queue-proxy.
        assert annotations["serving.kserve.io/enable-prometheus-scraping"] == "false"
    consumers = docs["rel-tipsml-consumers"]["spec"]["template"]["metadata"]["annotations"]
    assert consumers == {"prometheus.io/scrape": "true", "prometheus.io/port": "9100", "prometheus.io/path": "/metrics"}
    off = {d["metadata"]["name"]: d for d in render(helm, STACK, "monitoring.scrapeAnnotations=false")}
    assert "annotations" not in off["tip-scorer"]["spec"]["predictor"]


def test_predictors_keep_serving_while_the_service_forgets_them(helm: Any) -> None:
    """Both predictors sleep ``kserve.drainSeconds`` before SIGTERM, and the sleep fits the grace period."""
    for value, expected in (([], ["sleep", "5"]), (["kserve.drainSeconds=0"], None)):
        docs = [d for d in render(helm, STACK, *value) if d["kind"] == "InferenceService"]
        assert sorted(d["metadata"]["name"] for d in docs) == ["tip-generator", "tip-scorer"]
        for doc in docs:
            pre_stop = containers(doc)[0].get("lifecycle", {}).get("preStop")
            assert (pre_stop["exec"]["command"] if pre_stop else None) == expected, doc["metadata"]["name"]
            grace = pod_spec(doc).get("terminationGracePeriodSeconds", 30)  # the Pod default
            assert expected is None or int(expected[1]) < grace
