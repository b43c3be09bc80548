"""Compile and submit ``train-tip-scorer`` to a Kubeflow Pipelines API with ``kfp.Client``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from contracts.names import SCORER_MODEL
from pipelines.errors import CompileError, SubmitError
from pipelines.pipeline import PIPELINE_NAME, compile_pipeline

EXPERIMENT = SCORER_MODEL
"""KFP experiment the training runs are filed under: the model they train."""


def compile_to(image: str, path: Path) -> Path:
    """Write the pipeline YAML to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        compile_pipeline(image, str(path))
    except Exception as e:  # noqa: BLE001 - the KFP compiler raises many types; the message says which
        raise CompileError(f"compiling {PIPELINE_NAME} failed: {e}") from e
    return path


def submit(host: str, image: str, arguments: dict[str, Any], *, namespace: str | None = None) -> str:
    """Create a run on the KFP cluster at ``host``; returns the run id."""
    from kfp import Client

    with tempfile.TemporaryDirectory() as tmp:
        package = compile_to(image, Path(tmp) / f"{PIPELINE_NAME}.yaml")
        try:
            client = Client(host=host, namespace=namespace)
            result = client.create_run_from_pipeline_package(
                str(package), arguments=arguments, experiment_name=EXPERIMENT, enable_caching=False
            )
        except Exception as e:  # noqa: BLE001 - urllib3, kfp_server_api and HTTP errors alike
            raise SubmitError(f"submitting to {host} failed: {type(e).__name__}: {e}") from e
    return str(result.run_id)
