"""The local training run as a person sees it: one progress line per pipeline step, then the held-out table.

Shared by ``tipsml train`` and the demo's training stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from pipelines.local import LocalRun
    from pipelines.settings import PipelineSettings

STEP_TITLES = {
    "batch-features": "batch features → Feast → online store",
    "training-set": "training set (point-in-time features)",
    "train": "train LightGBM",
    "evaluate": "evaluate (baselines, champion, oracle, fairness)",
    "register": "register in MLflow (model card, gate)",
    "rollout": "ModelRollout manifest",
}


def run_with_progress(settings: PipelineSettings, root: Path, console: Console, indent: str = "") -> LocalRun:
    """Run the pipeline locally with one progress line per step (``tipsml train`` and the demo)."""
    from pipelines.local import TASKS, run_local

    with Progress(SpinnerColumn(), TextColumn(indent + "{task.description}"), TimeElapsedColumn(),
                  console=console) as bar:
        ids = {t: bar.add_task(f"[dim]{STEP_TITLES[t]}", total=1, start=False) for t in TASKS}

        def on_task(task: str, status: str) -> None:
            if task not in ids:
                return
            if status == "RUNNING":
                bar.start_task(ids[task])
                bar.update(ids[task], description=STEP_TITLES[task])
            else:
                mark = "[green]✓" if status == "SUCCESS" else "[red]✗"
                bar.update(ids[task], completed=1, description=f"{mark} {STEP_TITLES[task]}")
                bar.stop_task(ids[task])

        return run_local(settings, root, on_task)


def fmt(value: Any) -> str:
    """A metric as printed: four decimals for floats, NaN and ints as they are."""
    return f"{value:.4f}" if isinstance(value, float) and value == value else str(value)


def report_table(report: dict[str, Any]) -> Table:
    """Held-out metrics per scorer (and the oracle, when the simulator kept one)."""
    table = Table(title="held-out metrics")
    for column in ("scorer", "AUC", "NDCG@5", "log loss", "ECE", "n"):
        table.add_column(column)
    for name, m in report["models"].items():
        table.add_row(name, *(fmt(m[k]) for k in ("auc", "ndcg_at_5", "log_loss", "ece")), str(int(m["n"])))
    oracle = report.get("oracle", {})
    if oracle.get("available"):
        o = oracle["oracle"]
        table.add_row("oracle", *(fmt(o[k]) for k in ("auc", "ndcg_at_5", "log_loss", "ece")), str(int(o["n"])))
    return table
