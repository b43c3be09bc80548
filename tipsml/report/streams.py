"""Messages per JetStream stream and subject, as ``tipsml status`` and the demo print them."""

from __future__ import annotations

from rich.table import Table

from tipsml.stack.local import StreamCount


def stream_table(counts: list[StreamCount]) -> Table:
    """Messages per stream and subject, as `status` and the demo print them."""
    table = Table(title="JetStream")
    for col in ("stream", "subject", "messages"):
        table.add_column(col)
    for c in counts:
        table.add_row(f"[bold]{c.stream}[/bold]", "(all)", f"{c.messages:,}")
        for subject, n in c.subjects.items():
            table.add_row("", subject, f"{n:,}")
    return table
