"""Run ``train-tip-scorer`` on this machine with ``kfp.local`` (subprocess runner, this environment).

``use_venv=False``: each component runs as a subprocess of this Python, so it imports the installed
project exactly as the project image would. Task starts and ends are read off kfp.local's own log
lines, which is how ``tipsml train`` shows progress without reaching into KFP's internals.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pipelines.errors import PipelineError
from pipelines.pipeline import build_pipeline
from pipelines.settings import PipelineSettings

TASKS = ("batch-features", "training-set", "train", "evaluate", "register", "rollout")
_TASK_LINE = re.compile(r"Task '([a-z0-9-]+)' finished with status (\w+)|Executing task '([a-z0-9-]+)'")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def pipeline_arguments(settings: PipelineSettings) -> dict[str, Any]:
    """The pipeline parameters the settings choose."""
    state = settings.state
    return {
        "event_log": settings.effective_event_log,
        "state_root": str(state.root.resolve()),
        "mlflow_tracking_uri": settings.effective_mlflow_uri,
        # A tracking server of its own (TIPSML_MLFLOW_TRACKING_URI) stores artifacts where it is configured to
        # (with --serve-artifacts: mlflow-artifacts:/, readable by Pods); the local default keeps them in state.
        "mlflow_artifact_root": "" if settings.mlflow_tracking_uri else str(state.mlflow_artifacts.resolve()),
        "truth_path": settings.truth_path,
        "label_window_hours": settings.label_window_hours,
        "new_user_days": settings.new_user_days,
        "test_fraction": settings.test_fraction,
        "historical_engine": settings.historical_engine,
        "seed": settings.seed,
        "num_boost_round": settings.num_boost_round,
        "champion_tolerance": settings.champion_tolerance,
        "max_slice_auc_gap": settings.max_slice_auc_gap,
        "min_slice_auc": settings.min_slice_auc,
        "min_slice_size": settings.min_slice_size,
    }


class _TaskWatcher(io.TextIOBase):
    """A stdout stand-in: every line goes to the log file; task start/finish lines also to ``on_task``."""

    def __init__(self, sink: TextIO, on_task: Callable[[str, str], None]) -> None:
        self._sink, self._on_task, self._buffer = sink, on_task, ""

    def write(self, text: str) -> int:
        self._sink.write(text)
        self._buffer += text
        *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            m = _TASK_LINE.search(_ANSI.sub("", line))
            if m and m.group(1):
                self._on_task(m.group(1), m.group(2))
            elif m and m.group(3):
                self._on_task(m.group(3), "RUNNING")
        return len(text)

    def flush(self) -> None:
        self._sink.flush()


@dataclass(frozen=True, slots=True)
class LocalRun:
    """Where a local run left its artifacts, and readers for the ones people look at."""

    run_dir: Path
    log_file: Path

    def report(self) -> dict[str, Any]:
        """The evaluation report (metrics, baselines, oracle, fairness)."""
        data: dict[str, Any] = json.loads((self.run_dir / "evaluate" / "report").read_text())
        return data

    def registered(self) -> dict[str, Any]:
        """The register task's outputs: version, proposed, reason, storage_uri, champion_version."""
        out = json.loads((self.run_dir / "register" / "executor_output.json").read_text())
        values: dict[str, Any] = out.get("parameterValues", {})
        return values

    def rollout_manifest(self) -> Path | None:
        """The ModelRollout manifest, when the gate proposed the version."""
        path = self.run_dir / "rollout" / "manifest"
        if path.is_file() and path.read_text().startswith("apiVersion"):
            return path
        return None


@contextlib.contextmanager
def _quiet_image_warning() -> Iterator[None]:
    # The subprocess runner warns when an image name lacks "python", and that display names and caching
    # options do nothing locally: running in this environment instead of the project image, with the
    # cluster-only settings unused, is exactly what a local run means.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="You may be attemping to run a task", category=RuntimeWarning)
        warnings.filterwarnings("ignore", message=".*have no effect in the current local runner", category=UserWarning)
        yield


def run_local(
    settings: PipelineSettings, pipeline_root: Path, on_task: Callable[[str, str], None] | None = None
) -> LocalRun:
    """Run the whole pipeline here; task logs go to ``<pipeline_root>/run.log``."""
    from kfp import local

    pipeline_root.mkdir(parents=True, exist_ok=True)
    log_file = pipeline_root / "run.log"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(pipeline_root), raise_on_error=True)
    pipeline = build_pipeline(settings.image)
    before = set(pipeline_root.iterdir())
    with open(log_file, "a", encoding="utf-8") as sink, _quiet_image_warning():
        watcher = _TaskWatcher(sink, on_task or (lambda _task, _status: None))
        try:
            with contextlib.redirect_stdout(watcher):
                pipeline(**pipeline_arguments(settings))
        except RuntimeError as e:
            raise PipelineError(f"pipeline failed: {e} (task logs: {log_file})") from e
    runs = sorted(p for p in set(pipeline_root.iterdir()) - before if p.is_dir())
    if not runs:
        raise PipelineError(f"the local run left no outputs under {pipeline_root}")
    return LocalRun(run_dir=runs[-1], log_file=log_file)
