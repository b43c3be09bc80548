"""Dead-letter records: the original bytes and headers, plus why the message was given up on.

Published on ``deadletter.<original subject>`` (stream ``DEADLETTER``). The ``Nats-Msg-Id`` is the original
stream and sequence, so dead-lettering the same message twice (a crash between publish and ``term``) is
deduplicated by JetStream.

A record must fit the DEADLETTER stream's ``max_msg_size`` (body plus headers), or the publish fails and the
message could never be given up on: it would be redelivered forever, stalling its stream each round. So
:func:`deadletter_record` truncates the body when needed and says so: ``Tipsml-Original-Size`` and
``Tipsml-Original-Sha256`` identify the original (still in its stream until max age, at
``Tipsml-Original-Sequence``), and original headers are dropped first when they alone are too big.
"""

from __future__ import annotations

import hashlib
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
TRUNCATED_HEADER: Final = "Tipsml-Truncated"
ORIGINAL_SIZE_HEADER: Final = "Tipsml-Original-Size"
ORIGINAL_DIGEST_HEADER: Final = "Tipsml-Original-Sha256"
RECORD_MARGIN_BYTES: Final = 1024
"""Room left under the size limit for the protocol's own framing of headers."""
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


def _headers_size(headers: Mapping[str, str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) + 4 for k, v in headers.items()) + 16


def deadletter_record(data: bytes, headers: dict[str, str], max_msg_size: int) -> tuple[bytes, dict[str, str]]:
    """Body and headers that fit ``max_msg_size``: the original, or a truncated copy with its size and digest."""
    out = dict(headers)
    out[ORIGINAL_SIZE_HEADER] = str(len(data))
    out[ORIGINAL_DIGEST_HEADER] = hashlib.sha256(data).hexdigest()
    budget = max_msg_size - RECORD_MARGIN_BYTES
    if _headers_size(out) > budget // 2:  # the producer's own headers are not ours to carry at any size
        out = {k: v for k, v in out.items() if k.startswith("Tipsml-") or k == MSG_ID_HEADER}
    room = budget - _headers_size(out)
    if len(data) <= room:
        return data, out
    out[TRUNCATED_HEADER] = "true"
    return data[: max(0, room - _headers_size({TRUNCATED_HEADER: "true"}))], out
