"""``tipsml train`` (the training pipeline, locally with kfp.local) and ``tipsml pipelines compile|submit``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from tipsml.report.training import report_table, run_with_progress

if TYPE_CHECKING:
    from pipelines.settings import PipelineSettings

pipelines_app = typer.Typer(help="Compile or submit the train-tip-scorer Kubeflow pipeline.", no_args_is_help=True)

def _settings(**overrides: Any) -> PipelineSettings:
    from pipelines.settings import PipelineSettings

    base = PipelineSettings()
    return base.model_copy(update={k: v for k, v in overrides.items() if v is not None})


def train(
    event_log: Annotated[
        str | None, typer.Option("--event-log", help="Event log: Parquet dir or events.jsonl (default: the local log).")
    ] = None,
    truth: Annotated[str | None, typer.Option("--truth", help="Simulator truth.parquet for the oracle gap.")] = None,
    state_dir: Annotated[Path | None, typer.Option("--state-dir", help="Local state root (default .tipsml).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Training seed.")] = None,
) -> None:
    """Run the train-tip-scorer pipeline locally (kfp.local): features, training, evaluation, registration."""
    from contracts.runtime import apply_offline_switches

    apply_offline_switches()
    from pipelines.errors import PipelineError
    settings = _settings(event_log=event_log, truth_path=truth, state_dir=state_dir, seed=seed)
    console = Console()
    root = settings.state.root.resolve() / "pipeline-runs"
    console.print(f"event log: {settings.effective_event_log}\nMLflow: {settings.effective_mlflow_uri}")
    try:
        run = run_with_progress(settings, root, console)
    except PipelineError as e:
        console.print(f"[red]training failed:[/red] {e}")
        raise typer.Exit(1) from e
    report = run.report()
    console.print(report_table(report))
    console.print(
        f"NDCG@5 ranks within each {report.get('ndcg_group', 'request_id')}; challenger minus baseline, 95 % CI:"
    )
    for name, c in report.get("versus", {}).items():
        cells = "; ".join(f"{m} {v['delta']:+.4f} [{v['ci95_low']:+.4f}, {v['ci95_high']:+.4f}]" for m, v in c.items())
        console.print(f"  vs {name}: {cells}")
    gap = report.get("oracle", {}).get("gap")
    if gap:
        console.print(
            "  gap to the oracle (oracle minus challenger, same rows): "
            + "; ".join(f"{m} {gap[m]:+.4f}" for m in ("auc", "ndcg_at_5") if gap.get(m) is not None)
        )
    reg = run.registered()
    console.print(
        f"registered tip-scorer version [bold]{reg.get('version')}[/bold]; "
        f"proposed: [bold]{reg.get('proposed')}[/bold] ({reg.get('reason')})"
    )
    manifest = run.rollout_manifest()
    if manifest is not None:
        target = settings.state.root / "rollouts" / f"tip-scorer-v{reg.get('version')}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(manifest.read_text())
        console.print(f"ModelRollout manifest: {target}  (kubectl apply -f it to start the rollout)")


@pipelines_app.command("compile")
def compile_cmd(
    out: Annotated[Path, typer.Option("--out", help="Where to write the pipeline YAML.")] = Path(
        "train-tip-scorer.yaml"
    ),
    image: Annotated[str | None, typer.Option("--image", help="Project image the components run on.")] = None,
) -> None:
    """Compile train-tip-scorer to KFP IR YAML for a cluster."""
    from pipelines.errors import PipelineError
    from pipelines.submit import compile_to

    settings = _settings(image=image)
    try:
        compile_to(settings.image, out)
    except PipelineError as e:
        Console(stderr=True).print(f"[red]{e}[/red]")
        raise typer.Exit(1) from e
    Console().print(f"wrote {out} (image {settings.image})")


@pipelines_app.command("submit")
def submit_cmd(
    host: Annotated[str, typer.Option("--host", envvar="TIPSML_KFP_HOST", help="KFP API endpoint.")],
    event_log: Annotated[str, typer.Option("--event-log", help="Event log path as the pods see it.")],
    state_root: Annotated[str, typer.Option("--state-root", help="Feature store state as the pods see it.")],
    mlflow_uri: Annotated[str, typer.Option("--mlflow-uri", help="MLflow tracking/registry URI.")],
    image: Annotated[str | None, typer.Option("--image", help="Project image the components run on.")] = None,
    namespace: Annotated[str | None, typer.Option("--namespace", help="KFP namespace (multi-user).")] = None,
    historical_engine: Annotated[
        str, typer.Option("--historical-engine", help="feast (warehouse offline store) or duckdb (local Parquet).")
    ] = "feast",
) -> None:
    """Submit a train-tip-scorer run to a Kubeflow Pipelines cluster."""
    from pipelines.errors import PipelineError
    from pipelines.local import pipeline_arguments
    from pipelines.submit import submit

    settings = _settings(image=image, event_log=event_log, mlflow_tracking_uri=mlflow_uri)
    arguments = pipeline_arguments(settings)
    arguments.update(state_root=state_root, mlflow_artifact_root="", historical_engine=historical_engine)
    try:
        run_id = submit(host, settings.image, arguments, namespace=namespace)
    except PipelineError as e:
        Console(stderr=True).print(f"[red]{e}[/red]")
        raise typer.Exit(1) from e
    Console().print(f"submitted run {run_id} to {host}")
