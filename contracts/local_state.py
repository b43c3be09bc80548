"""Layout of the local state directory (``.tipsml/`` in the working directory, git-ignored).

Every deployable's settings default to these paths when it runs on the embedded stack, so one place says
where the event log, the feature store, MLflow and the prompt registry live on a laptop.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

DEFAULT_STATE_DIR: Final = Path(".tipsml")


@dataclass(frozen=True, slots=True)
class LocalState:
    """Paths under one state root. Pure: nothing is created here."""

    root: Path = DEFAULT_STATE_DIR

    @property
    def nats_dir(self) -> Path:
        """JetStream store of the embedded nats-server."""
        return self.root / "nats"

    @property
    def pids_dir(self) -> Path:
        """One ``<name>.json`` per process ``tipsml up`` started (pid, port, command)."""
        return self.root / "pids"

    @property
    def logs_dir(self) -> Path:
        """Stdout/stderr of the processes ``tipsml up`` started."""
        return self.root / "logs"

    @property
    def event_log_dir(self) -> Path:
        """Offline event log: Parquet, partitioned by event date, that training reads."""
        return self.root / "events"

    @property
    def deadletter_log_dir(self) -> Path:
        """Local copy of dead-lettered events, for inspection."""
        return self.root / "deadletter"

    @property
    def state_db(self) -> Path:
        """SQLite of task state, activity and rewards written by the consumers."""
        return self.root / "state.db"

    @property
    def feast_dir(self) -> Path:
        """Feast registry and SQLite online store."""
        return self.root / "feast"

    @property
    def feature_tables_dir(self) -> Path:
        """Parquet feature tables that Feast's file sources read (offline store)."""
        return self.root / "features"

    @property
    def mlflow_db(self) -> Path:
        """MLflow tracking and registry database."""
        return self.root / "mlflow.db"

    @property
    def mlflow_artifacts(self) -> Path:
        """MLflow artifact root."""
        return self.root / "mlartifacts"

    @property
    def mlflow_uri(self) -> str:
        """Tracking and registry URI of the local MLflow."""
        return f"sqlite:///{self.mlflow_db.resolve()}"

    @property
    def prompts_dir(self) -> Path:
        """Prompt registry directory (a mounted ConfigMap in a cluster)."""
        return self.root / "prompts"

    @property
    def simulation_dir(self) -> Path:
        """Default output of ``tipsml simulate``."""
        return self.root / "sim"

    @property
    def reports_dir(self) -> Path:
        """Reports and plots."""
        return self.root / "reports"
