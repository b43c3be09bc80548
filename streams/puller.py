"""Batched pull from a durable JetStream consumer over the JetStream pull API, with one callback subscription.

nats-py's ``PullSubscription.fetch`` waits for each message of a batch with its own ``wait_for`` (a task per
message), which costs more than validating and writing the event. This puller sends the same pull requests
(``$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>``) to an inbox whose callback appends messages to a
buffer, so a batch of thousands arrives with a few awaits.

* Busy: a ``no_wait`` request for a batch; the server sends what it has, then ``404`` if that was less.
* Idle: a lingering request (``expires``); the first arriving message ends the wait, so a single event is
  processed at once (freshness), and whatever the request still delivers lands in the next batch.

Messages from an earlier request, and status messages meant for it, only change how a batch is cut, never
whether a message is processed: everything that arrives in the inbox is returned by some ``fetch``. Messages
are acked, naked and terminated through their own reply subjects, as usual.
"""

from __future__ import annotations

import asyncio
import json

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

STATUS_HEADER = "Status"
HEARTBEAT_STATUS = "100"
STRAGGLER_WAIT_SECONDS = 0.002


class BatchPuller:
    """Pull batches of up to ``batch`` messages from ``stream``/``consumer``."""

    def __init__(self, nc: NATS, stream: str, consumer: str, batch: int) -> None:
        self.nc = nc
        self.batch = batch
        self.next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._inbox = nc.new_inbox()
        self._buf: list[Msg] = []
        self._want = 0
        self._got = 0
        self._request_over = asyncio.Event()
        self._arrived = asyncio.Event()
        self._sub: Subscription | None = None

    async def start(self) -> None:
        """Subscribe the inbox."""
        self._sub = await self.nc.subscribe(
            self._inbox, cb=self._on_msg, pending_msgs_limit=8 * self.batch + 1000,
            pending_bytes_limit=512 * 1024 * 1024,
        )

    async def stop(self) -> None:
        """Unsubscribe; unprocessed buffered messages are redelivered by the server after ``ack_wait``."""
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None

    async def _on_msg(self, msg: Msg) -> None:
        status = msg.headers.get(STATUS_HEADER) if msg.headers else None
        if status is None:
            self._buf.append(msg)
            self._got += 1
            self._arrived.set()
            if self._got >= self._want:
                self._request_over.set()
        elif status != HEARTBEAT_STATUS:  # 404 no messages, 408 expired, 409 ...: that request is over
            self._request_over.set()

    async def _request(self, body: dict[str, object]) -> None:
        self._request_over.clear()
        self._arrived.clear()
        self._got = 0
        self._want = int(body["batch"])  # type: ignore[call-overload]
        await self.nc.publish(self.next_subject, json.dumps(body).encode(), reply=self._inbox)

    async def fetch(self, timeout: float) -> list[Msg]:
        """Up to ``batch`` messages; an empty list when none arrived within ``timeout``."""
        if len(self._buf) < self.batch:
            await self._request({"batch": self.batch - len(self._buf), "no_wait": True})
            try:
                await asyncio.wait_for(self._request_over.wait(), max(timeout, 1.0))
            except TimeoutError:
                pass  # no answer (reconnecting): whatever arrived is used
        if not self._buf:
            await self._request({"batch": self.batch, "expires": int(timeout * 1e9)})
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout)
            except TimeoutError:
                return []
            await asyncio.sleep(STRAGGLER_WAIT_SECONDS)
        out, self._buf = self._buf[: self.batch], self._buf[self.batch :]
        return out
