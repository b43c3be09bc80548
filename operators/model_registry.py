"""The MLflow side of a rollout: who is ``champion``, moving the alias, and the model card's rollout history.

Promotion points ``champion`` at the candidate; a rollback points it back at the version that held it when
the rollout started (recorded in the rollout's status), so the alias always names what serves users. Every
move is appended to the ``rolloutHistory`` of the model card artifact in the version's run (and to a model
version tag when the version has no run), so the card says when and why a model served.

MLflow's client is synchronous: callers on the event loop use ``asyncio.to_thread``.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from contracts.model_card import (
    CARD_JSON,
    CARD_MARKDOWN,
    AliasMove,
    ModelCard,
    append_alias_move,
    card_json,
    render_markdown,
)
from contracts.names import CHAMPION_ALIAS
from operators.errors import ModelVersionMissingError, RegistryError

HISTORY_TAG: Final = "tipsml.rollout_history"


class ChampionRegistry:
    """Champion alias and model-card history of registered models in one MLflow registry."""

    def __init__(self, tracking_uri: str | None, model_card_artifact: str = CARD_JSON) -> None:
        from mlflow import MlflowClient

        self._client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        self._card = model_card_artifact

    def champion(self, model_name: str) -> str | None:
        """The version the ``champion`` alias points at, or None when no version holds it."""
        from mlflow.exceptions import MlflowException

        try:
            return str(self._client.get_model_version_by_alias(model_name, CHAMPION_ALIAS).version)
        except MlflowException as e:
            if _not_found(e):
                return None
            raise RegistryError(f"reading {model_name}@{CHAMPION_ALIAS} failed: {e}") from e

    def require_version(self, model_name: str, version: str) -> None:
        """Fail permanently when ``version`` of ``model_name`` is not registered."""
        from mlflow.exceptions import MlflowException

        try:
            self._client.get_model_version(model_name, version)
        except MlflowException as e:
            if _not_found(e):
                raise ModelVersionMissingError(f"{model_name} version {version} is not registered") from e
            raise RegistryError(f"reading {model_name} version {version} failed: {e}") from e

    def move_champion(self, model_name: str, version: str, *, rollout: str, reason: str) -> str | None:
        """Point ``champion`` at ``version`` (a no-op when it already does); return the previous holder."""
        from mlflow.exceptions import MlflowException

        previous = self.champion(model_name)
        if previous == version:
            return previous
        try:
            self._client.set_registered_model_alias(model_name, CHAMPION_ALIAS, version)
        except MlflowException as e:
            raise RegistryError(f"moving {model_name}@{CHAMPION_ALIAS} to {version} failed: {e}") from e
        entry = {
            "time": datetime.now(UTC).isoformat(),
            "alias": CHAMPION_ALIAS,
            "from": previous,
            "to": version,
            "rollout": rollout,
            "reason": reason,
        }
        self.append_history(model_name, version, entry)
        if previous is not None:
            self.append_history(model_name, previous, entry)
        return previous

    def append_history(self, model_name: str, version: str, entry: dict[str, Any]) -> None:
        """Append ``entry`` to the version's model card (or, without a run, to its history tag)."""
        from mlflow.exceptions import MlflowException

        try:
            model_version = self._client.get_model_version(model_name, version)
            history = json.loads(model_version.tags.get(HISTORY_TAG, "[]"))
            history.append(entry)
            self._client.set_model_version_tag(model_name, version, HISTORY_TAG, json.dumps(history[-50:]))
            if model_version.run_id:
                self._append_to_card(model_version.run_id, entry)
        except MlflowException as e:
            raise RegistryError(f"recording rollout history on {model_name} {version} failed: {e}") from e

    def model_card(self, model_name: str, version: str) -> dict[str, Any]:
        """The version's model card as stored now (empty when it has none)."""
        run_id = self._client.get_model_version(model_name, version).run_id
        return self._read_card(run_id) if run_id else {}

    def _read_card(self, run_id: str) -> dict[str, Any]:
        from mlflow.exceptions import MlflowException

        with tempfile.TemporaryDirectory() as tmp:
            try:
                path = self._client.download_artifacts(run_id, self._card, tmp)
            except (MlflowException, OSError):
                return {}
            card: dict[str, Any] = json.loads(Path(path).read_text())
            return card

    def _append_to_card(self, run_id: str, entry: dict[str, Any]) -> None:
        """Append to the pipeline's card (JSON and markdown) when the run has one; else keep a plain history."""
        raw = self._read_card(run_id)
        try:
            card = ModelCard.model_validate(raw)
        except ValidationError:
            raw.setdefault("rolloutHistory", []).append(entry)
            self._client.log_text(run_id, json.dumps(raw, indent=2, sort_keys=True) + "\n", self._card)
            return
        move = AliasMove(
            time=entry["time"], alias=entry["alias"], from_version=entry["from"], to_version=entry["to"],
            rollout=entry["rollout"] or "", reason=entry["reason"] or "",
        )
        card = append_alias_move(card, move)
        self._client.log_text(run_id, card_json(card), self._card)
        if self._card == CARD_JSON:
            self._client.log_text(run_id, render_markdown(card), CARD_MARKDOWN)


def _not_found(error: Exception) -> bool:
    code = getattr(error, "error_code", "")
    return code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE") or "not found" in str(error).lower()
