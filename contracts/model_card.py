"""The model card every registered ``tip-scorer`` version carries (JSON + markdown artifacts in MLflow).

Training writes it; the operator appends to ``rollout_history`` as a rollout moves (shadow, canary,
promote, roll back) and re-renders the markdown. Both sides use this schema and these artifact names.
No I/O here: reading and writing the artifacts is each side's business.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from contracts.crds import RolloutHistoryEntry

CARD_JSON: Final = "model_card/model_card.json"
"""Artifact path (relative to the model version's run) of the card as JSON."""
CARD_MARKDOWN: Final = "model_card/model_card.md"
"""Artifact path of the same card rendered as markdown."""
CARD_SCHEMA_VERSION: Final = 1


class CardFeature(BaseModel):
    """One model input: name, dtype and where serving gets it."""

    name: str
    dtype: str
    source: str
    """``feature_service:<name>`` or ``profile_features`` (sent by the recommender on each call)."""


class CardInputs(BaseModel):
    """What the model reads, in the order it reads it."""

    feature_service: str
    model_features: list[str] = Field(min_length=1)
    features: list[CardFeature] = Field(min_length=1)
    profile_features: list[CardFeature]


class DataWindow(BaseModel):
    """The events the model learned from and was tested on."""

    start: datetime
    end: datetime
    split_at: datetime
    label_window_hours: float
    n_train: int = Field(ge=1)
    n_test: int = Field(ge=1)
    positive_rate_train: float


class Lineage(BaseModel):
    """Enough to reproduce the version: inputs, code, parameters."""

    event_log: str
    feature_repo: str
    mlflow_run_id: str
    pipeline: str
    pipeline_run: str
    code_version: str
    seed: int
    params: dict[str, Any]


class GateDecision(BaseModel):
    """Champion gate outcome: proposed versions get alias ``challenger`` and a ModelRollout."""

    proposed: bool
    reason: str
    champion_version: str | None = None


class AliasMove(BaseModel):
    """The ``champion`` alias moved to or away from this version (written by the operator)."""

    time: datetime
    alias: str
    from_version: str | None
    to_version: str
    rollout: str = ""
    reason: str = ""


class ModelCard(BaseModel):
    """The whole card. ``rollout_history`` starts empty and only ever grows."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = CARD_SCHEMA_VERSION
    model_name: str
    model_version: str
    created_at: datetime
    intended_use: str
    inputs: CardInputs
    offline_metrics: dict[str, dict[str, float | None]]
    """Per scorer (challenger, popularity, logistic_regression, champion): auc, log_loss, ece, ndcg_at_5.

    An undefined metric (e.g. AUC of a slice with one class) is NaN in memory and null in the JSON file."""
    comparisons: dict[str, Any] = Field(default_factory=dict)
    """Challenger minus each baseline (AUC, NDCG@5) with a 95 % group-bootstrap interval."""
    oracle: dict[str, Any]
    fairness: dict[str, Any]
    data_window: DataWindow
    lineage: Lineage
    gate: GateDecision
    rollout_history: list[RolloutHistoryEntry] = Field(default_factory=list)
    alias_history: list[AliasMove] = Field(default_factory=list)
    """Every move of ``champion`` onto or off this version, oldest first."""


def append_rollout(card: ModelCard, entry: RolloutHistoryEntry) -> ModelCard:
    """A copy of ``card`` with one more rollout transition."""
    return card.model_copy(update={"rollout_history": [*card.rollout_history, entry]})


def append_alias_move(card: ModelCard, move: AliasMove) -> ModelCard:
    """A copy of ``card`` with one more alias move."""
    return card.model_copy(update={"alias_history": [*card.alias_history, move]})


def card_json(card: ModelCard) -> str:
    """Stable, strict JSON of the card (ISO timestamps; an undefined metric, NaN, is written as null)."""
    return json.dumps(json.loads(card.model_dump_json()), indent=2, sort_keys=True, allow_nan=False) + "\n"


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:.4f}"  # NaN check without math
    return str(value)


def render_markdown(card: ModelCard) -> str:
    """The card as markdown for people (MLflow UI, reviews)."""
    lines = [
        f"# Model card: {card.model_name} v{card.model_version}",
        "",
        f"Created {card.created_at.isoformat()}. {card.intended_use}",
        "",
        "## Inputs",
        "",
        f"Feature service `{card.inputs.feature_service}`; model features in order:",
        "",
        "| # | feature | dtype | source |",
        "|---|---|---|---|",
    ]
    lines += [f"| {i} | `{f.name}` | {f.dtype} | {f.source} |" for i, f in enumerate(card.inputs.features)]
    lines += ["", "Profile features (sent by the recommender on every call):", ""]
    lines += [f"- `{f.name}` ({f.dtype})" for f in card.inputs.profile_features]
    lines += ["", "## Offline metrics (held-out split)", "", "| scorer | AUC | log loss | ECE | NDCG@5 | n |"]
    lines += ["|---|---|---|---|---|---|"]
    for name, m in card.offline_metrics.items():
        cells = " | ".join(_fmt(m.get(k, float("nan"))) for k in ("auc", "log_loss", "ece", "ndcg_at_5"))
        lines.append(f"| {name} | {cells} | {int(m.get('n') or 0)} |")
    for name, c in card.comparisons.items():
        cells = "; ".join(
            f"{m} {_fmt(v['delta'])} [{_fmt(v['ci95_low'])}, {_fmt(v['ci95_high'])}]" for m, v in c.items()
        )
        lines.append(f"- challenger minus {name}: {cells}")
    lines += ["", "## Oracle", ""]
    if card.oracle.get("available"):
        lines.append(f"Gap to the simulator's oracle: `{json.dumps(card.oracle.get('gap'), sort_keys=True)}`")
    else:
        lines.append("No oracle available for this data.")
    lines += ["", "## Fairness", "", f"Passed: **{card.fairness.get('passed')}**.", ""]
    for dim, d in card.fairness.get("dimensions", {}).items():
        lines.append(
            f"- {dim}: largest AUC gap {_fmt(d['largest_auc_gap'])}; slices "
            + ", ".join(f"{k} (n={v['n']}, AUC {_fmt(v['auc'])})" for k, v in d["slices"].items())
        )
    w = card.data_window
    lines += [
        "",
        "## Data window",
        "",
        f"{w.start.isoformat()} to {w.end.isoformat()}, split at {w.split_at.isoformat()}; "
        f"labels within {w.label_window_hours} h; {w.n_train} train / {w.n_test} test rows.",
        "",
        "## Lineage",
        "",
        f"Run `{card.lineage.mlflow_run_id}`, pipeline `{card.lineage.pipeline}` "
        f"({card.lineage.pipeline_run}), "
        f"code `{card.lineage.code_version}`, seed {card.lineage.seed}.",
        "",
        "## Gate",
        "",
        f"Proposed: **{card.gate.proposed}** ({card.gate.reason}).",
        "",
        "## Rollout history",
        "",
    ]
    if not card.rollout_history and not card.alias_history:
        lines.append("Not rolled out yet.")
    lines += [
        f"- {e.time.isoformat()}: {e.from_phase} -> {e.to_phase} at {e.traffic_percent}% ({e.reason})"
        for e in card.rollout_history
    ]
    lines += [
        f"- {m.time.isoformat()}: `{m.alias}` {m.from_version or '(none)'} -> {m.to_version}"
        f" ({m.rollout or 'no rollout'}: {m.reason})"
        for m in card.alias_history
    ]
    return "\n".join(lines) + "\n"
