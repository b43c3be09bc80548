"""The ``tipsml`` command line.

Each command group lives in its own module and imports heavy libraries (Feast, MLflow, KServe) only when
its command runs, so ``tipsml --help`` stays fast.
"""

from __future__ import annotations

import typer

from contracts.runtime import apply_offline_switches

apply_offline_switches()

from tipsml import (  # noqa: E402
    cli_consume,
    cli_contract,
    cli_demo,
    cli_operator,
    cli_report,
    cli_serve,
    cli_simulate,
    cli_stack,
    cli_train,
    devcluster,
)

app = typer.Typer(
    name="tipsml",
    help="ML serving and learning stack behind the task app's personal tips.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)

# --- command groups (one line each; keep sorted by name) -------------------------------------------
app.command("consume")(cli_consume.consume)
app.add_typer(cli_contract.app, name="contract")
app.command("demo")(cli_demo.demo)
app.add_typer(devcluster.app, name="dev-cluster")
app.command("down")(cli_stack.down)
app.command("operator")(cli_operator.operator)
app.add_typer(cli_train.pipelines_app, name="pipelines")
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
