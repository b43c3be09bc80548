"""JetStream stream and subject names (fixed names: other code and users rely on them)."""

from __future__ import annotations

from typing import Final

SIGNALS_STREAM: Final = "SIGNALS"
FEEDBACK_STREAM: Final = "FEEDBACK"
DEADLETTER_STREAM: Final = "DEADLETTER"

SIGNALS_SUBJECTS: Final = "signals.>"
FEEDBACK_SUBJECTS: Final = "feedback.>"
DEADLETTER_SUBJECTS: Final = "deadletter.>"

STREAM_SUBJECTS: Final[dict[str, str]] = {
    SIGNALS_STREAM: SIGNALS_SUBJECTS,
    FEEDBACK_STREAM: FEEDBACK_SUBJECTS,
    DEADLETTER_STREAM: DEADLETTER_SUBJECTS,
}

MSG_ID_HEADER: Final = "Nats-Msg-Id"


def deadletter_subject(original_subject: str) -> str:
    """Subject a poison message is parked on: ``deadletter.<original subject>``."""
    return f"deadletter.{original_subject}"
