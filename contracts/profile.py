"""The ``profile_features`` the recommender computes and sends on every scorer and generator call.

The recommender owns the computation (``services/api/src/profile/registry.ts`` in its repo); this module
mirrors names and dtypes so both sides agree, and ``tipsml contract check`` fails on any drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    ValidatorFunctionWrapHandler,
    model_validator,
)

Dtype = Literal["float", "int", "bool", "string"]


@dataclass(frozen=True, slots=True)
class ProfileFeature:
    """One feature's name, wire dtype and meaning."""

    name: str
    dtype: Dtype
    description: str


PROFILE_FEATURES: Final[tuple[ProfileFeature, ...]] = (
    ProfileFeature("completion_rate_30d", "float", "Share of tasks created in the last 30 days that are done."),
    ProfileFeature("preferred_hour", "int", "Local hour (0-23) at which the user opens the app most."),
    ProfileFeature("active_days_30d", "int", "Days with at least one app open in the last 30 days."),
    ProfileFeature("tip_volume_7d", "int", "Tips shown to the user in the last 7 days."),
    ProfileFeature("like_rate_30d", "float", "Share of tips shown in the last 30 days that were liked or acted on."),
    ProfileFeature("streak_days", "int", "Consecutive days up to today with a completed task."),
    ProfileFeature("tenure_days", "int", "Days since the account was created."),
    ProfileFeature("notifications_enabled", "bool", "Whether push notifications are on."),
    ProfileFeature("locale", "string", "BCP-47 locale of the app, e.g. en-GB."),
)
PROFILE_FEATURE_DTYPES: Final[dict[str, Dtype]] = {f.name: f.dtype for f in PROFILE_FEATURES}
MAX_UNKNOWN_NAMES: Final = 16
"""Unknown names remembered per object (each cut to 64 characters): enough to log, bounded against abuse."""


class ProfileFeatures(BaseModel):
    """Validated ``profile_features``: every field optional, unknown names ignored but remembered.

    Strict types: the recommender sends JSON numbers and booleans, and a string where a number belongs
    is a bug on its side that a 400 should surface, not a coercion that hides it. A name this side does not
    know yet is what a newer recommender sends before ``contracts.profile`` mirrors it: rejecting it would
    turn every call into a 400 during a rollout of the recommender, so it is dropped and its name kept in
    :attr:`unknown_names` for the caller to count and log (never its value).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    completion_rate_30d: float | None = Field(default=None, ge=0.0, le=1.0, strict=True)
    preferred_hour: StrictInt | None = Field(default=None, ge=0, le=23)
    active_days_30d: StrictInt | None = Field(default=None, ge=0, le=30)
    tip_volume_7d: StrictInt | None = Field(default=None, ge=0)
    like_rate_30d: float | None = Field(default=None, ge=0.0, le=1.0, strict=True)
    streak_days: StrictInt | None = Field(default=None, ge=0)
    tenure_days: StrictInt | None = Field(default=None, ge=0)
    notifications_enabled: StrictBool | None = None
    locale: str | None = Field(default=None, max_length=35)

    _unknown: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _remember_unknown(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        model = handler(data)
        if isinstance(data, dict) and isinstance(model, ProfileFeatures):
            unknown = sorted(str(k)[:64] for k in data if k not in PROFILE_FEATURE_DTYPES)
            model._unknown = tuple(unknown[:MAX_UNKNOWN_NAMES])
        return model

    @property
    def unknown_names(self) -> tuple[str, ...]:
        """Names sent that this contract does not define (sorted, bounded); their values were dropped."""
        return self._unknown

    def snapshot(self) -> dict[str, Any]:
        """The known values that were sent (``None`` left out): what an impression records."""
        return self.model_dump(exclude_none=True)


def profile_json_schema() -> dict[str, Any]:
    """JSON Schema of ``profile_features`` for the recommender's side (``tipsml contract schema``)."""
    schema = ProfileFeatures.model_json_schema()
    schema["$id"] = "https://tipsml.io/schemas/profile-features.json"
    schema["x-dtypes"] = dict(PROFILE_FEATURE_DTYPES)
    schema["additionalProperties"] = True
    return schema


def profile_json_schema_text() -> str:
    """The schema as stable, pretty JSON."""
    return json.dumps(profile_json_schema(), indent=2, sort_keys=True) + "\n"
