"""The ``tipsml`` command line.

Each command group lives in its own module and imports heavy libraries (Feast, MLflow, KServe) only when
its command runs, so ``tipsml --help`` stays fast.
"""

from __future__ import annotations

import typer

from tipsml.cli import cluster as cli_cluster
from tipsml.cli import consume as cli_consume
from tipsml.cli import contract as cli_contract
from tipsml.cli import demo as cli_demo
from tipsml.cli import dev_cluster as cli_dev_cluster
from tipsml.cli import operator as cli_operator
from tipsml.cli import play as cli_play
from tipsml.cli import report as cli_report
from tipsml.cli import serve as cli_serve
from tipsml.cli import simulate as cli_simulate
from tipsml.cli import stack as cli_stack
from tipsml.cli import train as cli_train

app = typer.Typer(
    name="tipsml",
    help="ML serving and learning stack behind the task app's personal tips.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _offline() -> None:
    """Apply the offline switches before any command imports a third-party library (never at import)."""
    from contracts.runtime import apply_offline_switches

    apply_offline_switches()


# --- command groups (one line each; keep sorted by name) -------------------------------------------
app.add_typer(cli_cluster.app, name="cluster")
app.command("consume")(cli_consume.consume)
app.add_typer(cli_contract.app, name="contract")
app.command("demo")(cli_demo.demo)
app.add_typer(cli_dev_cluster.app, name="dev-cluster")
app.command("down")(cli_stack.down)
app.command("operator")(cli_operator.operator)
app.add_typer(cli_train.pipelines_app, name="pipelines")
app.command("play")(cli_play.play)
app.add_typer(cli_report.app, name="report")
app.add_typer(cli_operator.app, name="rollout")
app.add_typer(cli_serve.app, name="serve")
app.command("simulate")(cli_simulate.simulate)
app.command("status")(cli_stack.status)
app.command("train")(cli_train.train)
app.command("up")(cli_stack.up)
# --- end of command groups -------------------------------------------------------------------------


def main() -> None:
    """Console-script entry point."""
    app()
