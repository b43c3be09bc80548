"""Turn pydantic validation errors into messages that name the offending field.

Consumers put these in dead-letter records and predictors in 400 responses, so both say the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import ValidationError


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field, addressed by a dotted path (``instances.0.candidates``)."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


def field_errors(exc: ValidationError, *, union_tags: Iterable[str] = ()) -> list[FieldError]:
    """Flatten a ValidationError; ``union_tags`` are discriminator values to drop from paths."""
    tags = set(union_tags)
    out: list[FieldError] = []
    for err in exc.errors(include_url=False):
        parts = [str(p) for p in err["loc"] if not (isinstance(p, str) and p in tags)]
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            parts.append(str(err.get("ctx", {}).get("discriminator", "type")).strip("'"))
        out.append(FieldError(field=".".join(parts) or "(root)", reason=err["msg"]))
    return out


def describe(errors: Iterable[FieldError]) -> str:
    """One line listing every field error, for logs, dead-letter headers and HTTP 400 bodies."""
    return "; ".join(str(e) for e in errors)
