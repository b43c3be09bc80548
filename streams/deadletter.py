"""Dead-letter records: the original bytes and headers, plus why the message was given up on.

Published on ``deadletter.<original subject>`` (stream ``DEADLETTER``). The ``Nats-Msg-Id`` is the original
stream and sequence, so dead-lettering the same message twice (a crash between publish and ``term``) is
deduplicated by JetStream.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Final

from contracts.streams import MSG_ID_HEADER
from contracts.validation import FieldError, describe

ERROR_HEADER: Final = "Tipsml-Error"
ERRORS_JSON_HEADER: Final = "Tipsml-Error-Fields"
REASON_HEADER: Final = "Tipsml-Reason"
DELIVERIES_HEADER: Final = "Tipsml-Delivery-Count"
ORIGINAL_SUBJECT_HEADER: Final = "Tipsml-Original-Subject"
ORIGINAL_STREAM_HEADER: Final = "Tipsml-Original-Stream"
ORIGINAL_SEQ_HEADER: Final = "Tipsml-Original-Sequence"
ORIGINAL_MSG_ID_HEADER: Final = "Tipsml-Original-Msg-Id"
MAX_HEADER_CHARS: Final = 2000
MAX_ERRORS: Final = 20
MAX_FIELD_CHARS: Final = 200


def _one_line(text: str) -> str:
    return " ".join(text.split())[:MAX_HEADER_CHARS]


def deadletter_headers(
    original: Mapping[str, str] | None,
    *,
    errors: Sequence[FieldError],
    reason: str,
    subject: str,
    stream: str,
    stream_seq: int,
    delivered: int,
) -> dict[str, str]:
    """Headers of a dead-letter message: the original ones, then ours (ours win on a clash)."""
    headers = dict(original or {})
    original_id = headers.pop(MSG_ID_HEADER, None)
    if original_id is not None:
        headers[ORIGINAL_MSG_ID_HEADER] = original_id
    headers.update(
        {
            MSG_ID_HEADER: f"dl:{stream}:{stream_seq}",
            REASON_HEADER: reason,
            ERROR_HEADER: _one_line(describe(errors)),
            ERRORS_JSON_HEADER: json.dumps(
                [
                    {"field": e.field[:MAX_FIELD_CHARS], "reason": e.reason[:MAX_FIELD_CHARS]}
                    for e in errors[:MAX_ERRORS]
                ]
            ),
            DELIVERIES_HEADER: str(delivered),
            ORIGINAL_SUBJECT_HEADER: subject,
            ORIGINAL_STREAM_HEADER: stream,
            ORIGINAL_SEQ_HEADER: str(stream_seq),
        }
    )
    return headers


def parse_error_fields(headers: Mapping[str, str]) -> list[FieldError]:
    """The field errors a dead-letter message carries (for tools and tests)."""
    return [FieldError(d["field"], d["reason"]) for d in json.loads(headers.get(ERRORS_JSON_HEADER, "[]"))]
