"""Rewards per prompt version (or model version): a table and a PNG plot with 95% Wilson intervals.

What the admin reward-analytics dashboard shows, read from the reward log the stream consumers write; shared by
``tipsml report rewards`` and the demo.
"""

from __future__ import annotations

import math
from pathlib import Path

from rich.table import Table

from contracts.rewards import RewardAggregate


def wilson(positive: int, shown: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a rate (0, 0 for an empty bucket)."""
    if shown == 0:
        return 0.0, 0.0
    p = positive / shown
    denom = 1 + z * z / shown
    centre = (p + z * z / (2 * shown)) / denom
    half = z * math.sqrt(p * (1 - p) / shown + z * z / (4 * shown * shown)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def plot_rewards(rows: list[RewardAggregate], path: Path, title: str) -> None:
    """Bar chart of positive rate per bucket with Wilson error bars (matplotlib Agg, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r.key or "catalogue" for r in rows]
    rates = [r.rate for r in rows]
    bounds = [wilson(r.positive, r.shown) for r in rows]
    err = [
        [rate - lo for rate, (lo, _) in zip(rates, bounds, strict=True)],
        [hi - rate for rate, (_, hi) in zip(rates, bounds, strict=True)],
    ]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(rows) + 2), 3.5))
    ax.bar(labels, rates, yerr=err, capsize=4, color="#4C72B0")
    for i, r in enumerate(rows):
        ax.annotate(
            f"n={r.shown}",
            (i, rates[i]),
            ha="center",
            va="bottom",
            fontsize=8,
            xytext=(0, 3),
            textcoords="offset points",
        )
    ax.set_ylabel("positive reaction rate")
    ax.set_title(title)
    ax.set_ylim(0, max([hi for _, hi in bounds] + [0.05]) * 1.2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def rewards_table(rows: list[RewardAggregate], bucket: str) -> Table:
    """Per bucket: shown, reacted, positive, rate and its 95% interval."""
    table = Table(title=f"rewards by {bucket}")
    for col in (bucket, "shown", "reacted", "positive", "rate", "95% CI"):
        table.add_column(col, justify="left" if col == bucket else "right")
    for r in rows:
        lo, hi = wilson(r.positive, r.shown)
        table.add_row(
            r.key or "(catalogue)",
            str(r.shown),
            str(r.reacted),
            str(r.positive),
            f"{r.rate:.3f}",
            f"{lo:.3f}-{hi:.3f}",
        )
    return table
