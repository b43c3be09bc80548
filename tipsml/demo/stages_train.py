"""Demo stage: train a challenger with the kfp.local pipeline; it lands in MLflow as ``@challenger``."""

from __future__ import annotations

from tipsml.demo.servers import MODEL
from tipsml.demo.state import DemoRun, DemoStageError


def stage_train(run: DemoRun) -> None:
    """Run the train-tip-scorer pipeline with kfp.local; the challenger lands in MLflow."""
    from contracts.runtime import apply_offline_switches

    apply_offline_switches()
    from pipelines.errors import PipelineError
    from pipelines.settings import PipelineSettings
    from tipsml.report.training import report_table, run_with_progress

    settings = PipelineSettings(state_dir=run.settings.state_dir, truth_path=str(run.truth_path or ""),
                                seed=run.options.seed)
    root = settings.state.root.resolve() / "pipeline-runs"
    try:
        local_run = run_with_progress(settings, root, run.console, indent="  ")
    except PipelineError as e:
        raise DemoStageError(f"training failed: {e}") from e
    report = local_run.report()
    run.console.print(report_table(report))
    reg = local_run.registered()
    run.challenger = str(reg.get("version"))
    run.challenger_uri = reg.get("storage_uri") or None
    run.proposed = bool(reg.get("proposed"))
    run.console.print(f"  registered {MODEL} version [bold]{run.challenger}[/bold] as @challenger; "
                      f"proposed for rollout: [bold]{run.proposed}[/bold] ({reg.get('reason')})")
