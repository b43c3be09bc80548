"""The scorer container's env the operator owns during a rollout, and the one way it is edited."""

from __future__ import annotations

from typing import Any, Final

ENV_MODEL_URI: Final = "TIPSML_MODEL_URI"
ENV_MODEL_VERSION: Final = "TIPSML_MODEL_VERSION"
ENV_ROLE: Final = "TIPSML_ROLE"


def set_env(container: dict[str, Any], name: str, value: str) -> None:
    """Set ``name`` to a literal ``value`` in ``container`` (replacing any ``valueFrom``)."""
    env = container.setdefault("env", [])
    for item in env:
        if item.get("name") == name:
            item.pop("valueFrom", None)
            item["value"] = value
            return
    env.append({"name": name, "value": value})
