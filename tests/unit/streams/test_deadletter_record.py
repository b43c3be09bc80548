"""A dead-letter record always fits the stream's message size limit, and says what it left out."""

from __future__ import annotations

import hashlib

from contracts.validation import FieldError
from streams.deadletter import (
    ORIGINAL_DIGEST_HEADER,
    ORIGINAL_SIZE_HEADER,
    TRUNCATED_HEADER,
    deadletter_headers,
    deadletter_record,
)

LIMIT = 256 * 1024


def _headers(original: dict[str, str] | None = None) -> dict[str, str]:
    return deadletter_headers(
        original, errors=[FieldError("platform", "bad")], reason="validation", subject="signals.app_opened",
        stream="SIGNALS", stream_seq=7, delivered=5,
    )


def _size(body: bytes, headers: dict[str, str]) -> int:
    return len(body) + sum(len(k) + len(v) + 4 for k, v in headers.items()) + 16


def test_a_small_record_is_kept_whole_with_its_digest() -> None:
    body, headers = deadletter_record(b'{"a": 1}', _headers(), LIMIT)
    assert body == b'{"a": 1}' and TRUNCATED_HEADER not in headers
    assert headers[ORIGINAL_DIGEST_HEADER] == hashlib.sha256(b'{"a": 1}').hexdigest()


def test_a_record_near_the_limit_is_truncated_to_fit() -> None:
    data = b"x" * (LIMIT - 50)
    body, headers = deadletter_record(data, _headers(), LIMIT)
    assert headers[TRUNCATED_HEADER] == "true" and data.startswith(body)
    assert headers[ORIGINAL_SIZE_HEADER] == str(len(data)) and _size(body, headers) < LIMIT


def test_huge_producer_headers_are_dropped_before_our_own() -> None:
    body, headers = deadletter_record(b"{}", _headers({"X-Big": "y" * LIMIT}), LIMIT)
    assert "X-Big" not in headers and headers["Tipsml-Original-Sequence"] == "7" and body == b"{}"
    assert _size(body, headers) < LIMIT
