"""``tipsml operator`` runs the kopf operator; ``tipsml rollout status NAME`` shows where a rollout is."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Rollouts of the scorer model (ModelRollout objects).", no_args_is_help=True)


def operator() -> None:
    """Run the operator (PromptVersion + ModelRollout) with settings from TIPSML_* environment variables."""
    from operators.__main__ import main

    main()


@app.command("status")
def status(
    name: Annotated[str, typer.Argument(help="ModelRollout name")],
    namespace: Annotated[str, typer.Option("--namespace", "-n")] = "tipsml",
) -> None:
    """Phase, step, traffic and the last analysis of one rollout."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    from contracts.crds import ModelRolloutSpec, ModelRolloutStatus
    from operators.kube import ROLLOUTS, api_client

    with api_client() as api:
        try:
            body = client.CustomObjectsApi(api).get_namespaced_custom_object(
                **ROLLOUTS, namespace=namespace, name=name
            )
        except ApiException as e:
            typer.echo(f"rollout {namespace}/{name}: {e.status} {e.reason}", err=True)
            raise typer.Exit(1) from e
    spec = ModelRolloutSpec.model_validate(body["spec"])
    st = ModelRolloutStatus.model_validate(body.get("status") or {})
    steps = len(spec.canary.steps)
    typer.echo(f"rollout {namespace}/{name}: {spec.model_name} candidate {spec.candidate.version}")
    typer.echo(f"phase:   {st.phase.value}{' (paused)' if spec.paused else ''}")
    typer.echo(f"step:    {st.current_step + 1}/{steps}" if st.phase.value == "Canary" else "step:    -")
    typer.echo(f"traffic: {st.traffic_percent}%")
    typer.echo(f"message: {st.message}")
    if st.last_analysis is not None:
        a = st.last_analysis
        verdict = "passed" if a.passed else "not passed"
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted(a.metrics.items()))
        typer.echo(f"last analysis: {a.phase.value} step {a.step} {verdict}, {a.samples} samples; {metrics}")
        for reason in a.reasons:
            typer.echo(f"  - {reason}")
