"""What every demo stage shares: the run's options and state, its error, its progress bar and its clock.

Stages import this module and the helpers below it, never each other, so the demo has no import circle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tipsml.errors import TipsmlError
from tipsml.stack.settings import StackSettings

if TYPE_CHECKING:
    from tipsml.simulate import Simulation


class DemoStageError(TipsmlError):
    """A demo stage could not do its part."""


@dataclass
class DemoOptions:
    """Size of the simulated world and of the bandit experiment."""

    users: int = 2000
    days: int = 14
    seed: int = 7
    bandit_calls: int = 300
    bandit_rounds: int = 6


@dataclass
class DemoRun:
    """State handed from stage to stage."""

    options: DemoOptions
    settings: StackSettings
    console: Console
    timings: list[tuple[str, float]] = field(default_factory=list)
    published: int = 0
    sim: Simulation | None = None
    truth_path: Path | None = None
    challenger: str | None = None
    challenger_uri: str | None = None
    proposed: bool = False
    scorer_url: str | None = None
    generator_url: str | None = None
    rewards_png: Path | None = None

    def require_sim(self) -> Simulation:
        """The simulation of this run (the oracle later stages draw reactions from)."""
        if self.sim is None:
            raise TipsmlError("no simulation in this run")
        return self.sim


def now() -> datetime:
    """Wall clock, UTC (the state machine's ``now``)."""
    return datetime.now(UTC)


def progress_bar(run: DemoRun) -> Progress:
    """The demo's standard bar."""
    return Progress(TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=run.console)
