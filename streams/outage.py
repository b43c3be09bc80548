"""One log line per interval while NATS is unreachable, instead of a traceback per reconnect attempt.

nats-py's default error callback logs every failed reconnect with its traceback (every 0.5 s with our
``reconnect_time_wait``): hours of an outage would bury everything else in the log. An outage is worth a
line when it starts, one per ``every_seconds`` while it lasts, and one when it ends.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Final

OUTAGE_LOG_EVERY_SECONDS: Final = 30.0


class OutageLog:
    """Rate-limited callbacks for ``nats.connect`` (``error_cb``, ``disconnected_cb``, ``reconnected_cb``)."""

    def __init__(self, log: logging.Logger, what: str, every_seconds: float = OUTAGE_LOG_EVERY_SECONDS) -> None:
        self.log = log
        self.what = what
        self.every_seconds = every_seconds
        self.errors = 0
        self._next = 0.0
        self._since: float | None = None

    async def error_cb(self, e: Exception) -> None:
        """Count every error; log one line (no traceback) per interval."""
        self.errors += 1
        now = time.monotonic()
        if self._since is None:
            self._since = now
        if now >= self._next:
            self._next = now + self.every_seconds
            self.log.warning(
                "%s: %s: %s (%d errors in %.0f s; next report in %.0f s)",
                self.what, type(e).__name__, e, self.errors, now - self._since, self.every_seconds,
            )

    async def disconnected_cb(self) -> None:
        """The connection dropped (or was closed on purpose at shutdown)."""
        self.log.info("%s: disconnected", self.what)

    async def reconnected_cb(self) -> None:
        """Back after an outage: say how long it lasted."""
        since = self._since
        self._since, self._next, self.errors = None, 0.0, 0
        took = "" if since is None else f" after {time.monotonic() - since:.0f} s"
        self.log.info("%s: reconnected%s", self.what, took)

    def callbacks(self) -> dict[str, Any]:
        """Keyword arguments to merge into ``nats.connect``'s."""
        return {
            "error_cb": self.error_cb,
            "disconnected_cb": self.disconnected_cb,
            "reconnected_cb": self.reconnected_cb,
        }
