"""Paths, value sets and helpers shared by the Helm chart tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[3]
CHARTS = REPO / "charts"
STACK = CHARTS / "tipsml"
CRDS_CHART = CHARTS / "tipsml-crds"
DEPS_CHART = CHARTS / "tipsml-dependencies"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CRDS_NAMESPACE = "tipsml-crds"
OUR_CRDS = ("promptversions.tipsml.io", "modelrollouts.tipsml.io")
PEERING_CRDS = ("kopfpeerings.kopf.dev", "clusterkopfpeerings.kopf.dev")
STAND_IN_CRDS = (
    "inferenceservices.serving.kserve.io",
    "servicemonitors.monitoring.coreos.com",
    "podmonitors.monitoring.coreos.com",
    "prometheusrules.monitoring.coreos.com",
)

# Optional parts of the chart switched on, so a dry run covers every template.
EVERYTHING_ON = (
    "monitoring.serviceMonitor.enabled=true",
    "monitoring.prometheusRule.enabled=true",
    "networkPolicy.egress.enabled=true",
    "consumers.persistence.enabled=true",
    "scorer.logger.enabled=true",
    "scorer.logger.url=http://sink.example.svc",
    "connections.nats.credentialsSecret=nats-creds",
    "connections.nats.tlsSecret=nats-tls",
    "connections.nats.mutualTls=true",
    "connections.mlflow.credentialsSecret=mlflow-creds",
    "generator.llmSecrets[0]=openai",
    "generator.allowedApiBases[0]=https://api.openai.com/v1",
    "generator.egress.to[0].ipBlock.cidr=203.0.113.0/24",
    "generator.experiment.name=prompt-ab",
    "kserve.deploymentMode=RawDeployment",
    # Standard (RawDeployment) mode scales with an HPA: cpu or memory, never concurrency.
    "scorer.scaleMetric=cpu",
    "scorer.scaleTarget=80",
    "generator.scaleMetric=cpu",
    "generator.scaleTarget=80",
)


def set_args(values: tuple[str, ...] | list[str]) -> list[str]:
    """``--set`` arguments for helm."""
    return [arg for value in values for arg in ("--set", value)]


def documents(text: str) -> list[dict[str, Any]]:
    """The non-empty YAML documents of a multi-document stream."""
    return [doc for doc in yaml.safe_load_all(text) if doc]
