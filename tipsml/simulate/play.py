"""The app, played against a running scorer: score, show the top tip, react as the simulator's oracle says.

Each request is what the recommender sends (one simulated user, 20 catalogue tips as candidates). The answer's
top tip is "shown": a ``tip_shown`` event carrying the ``model_version`` that answered, then a ``tip_reaction``
drawn from :meth:`tipsml.simulate.truth.Simulation.oracle_probability`, both published to JetStream with
``Nats-Msg-Id`` = ``event_id``. The consumers join them by ``request_id`` into the per-version reward counters
a ModelRollout's canary gate reads, so rewards are real reactions to what each version served.

Every request opens a connection of its own: a Kubernetes Service balances connections, not requests, so this
is how a fleet of app clients (many connections) spreads over the Pods behind it.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import httpx
import nats
import numpy as np
from nats.errors import Error as NatsError
from nats.js import JetStreamContext

from contracts.enums import Reaction
from contracts.events import EventBase, TipReaction, TipShown
from contracts.names import SCORER_MODEL
from contracts.streams import MSG_ID_HEADER
from tipsml.simulate.errors import PublishError
from tipsml.simulate.truth import Simulation

CANDIDATES: Final = 20
SCORER_PATH: Final = f"/v1/models/{SCORER_MODEL}:predict"

Answered = Callable[[str, dict[str, Any], dict[str, Any]], Awaitable[None]]
"""Called after each answered request with (scorer URL, request body, response body)."""


def scorer_request(rng: np.random.Generator, users: list[str], tips: list[str], request_id: str) -> dict[str, Any]:
    """A V1 body as the recommender sends it: one user, 20 candidate tips."""
    cands = rng.choice(tips, size=CANDIDATES, replace=False).tolist()
    return {"instances": [{"user_id": str(rng.choice(users)), "candidates": cands, "request_id": request_id}]}


@dataclass
class Served:
    """One answered request: when (epoch seconds), by which version, how long it took, whether the user liked it."""

    at: float
    model_version: str
    latency_ms: float
    positive: bool


@dataclass
class PlayReport:
    """Every answered request in order, and the failures."""

    served: list[Served] = field(default_factory=list)
    errors: int = 0
    last_error: str = ""
    failed_at: list[float] = field(default_factory=list)
    """When each failure happened (epoch seconds), to place them against what the cluster was doing."""

    def share(self, version: str, since: float = 0.0, until: float = float("inf")) -> tuple[float, int]:
        """Share of the requests answered in ``[since, until)`` (epoch seconds) ``version`` served; how many."""
        window = [s for s in self.served if since <= s.at < until]
        if not window:
            return 0.0, 0
        return sum(s.model_version == version for s in window) / len(window), len(window)

    def by_version(self) -> dict[str, tuple[int, float, float]]:
        """Requests, positive rate and p99 latency (ms) of each version that answered."""
        out: dict[str, tuple[int, float, float]] = {}
        for version in sorted({s.model_version for s in self.served}):
            rows = [s for s in self.served if s.model_version == version]
            p99 = float(np.percentile([s.latency_ms for s in rows], 99))
            out[version] = (len(rows), sum(s.positive for s in rows) / len(rows), p99)
        return out


class AppPlayer:
    """Plays the app against ``scorer_url`` and publishes what it showed and how users reacted to ``nats_url``.

    ``route`` (optional) picks the scorer URL of each request instead, e.g. a client-side canary split where
    no Service splits traffic; ``answered`` (optional) sees every answered request and its response, e.g. to
    mirror them to a shadow as a logger would. Neither changes what is published.
    """

    def __init__(self, sim: Simulation, scorer_url: str, nats_url: str, *, seed: int = 0,
                 route: Callable[[], str] | None = None, answered: Answered | None = None) -> None:  # fmt: skip
        self.sim, self.scorer_url, self.nats_url = sim, scorer_url.rstrip("/"), nats_url
        self.route, self.answered = route, answered
        self.rng = np.random.default_rng(seed)
        self.users = sim.users["user_id"].tolist()
        self.tips = sim.tips["tip_id"].tolist()
        self.category = dict(zip(sim.tips["tip_id"], sim.tips["category"], strict=True))
        self.report = PlayReport()

    async def run(
        self,
        *,
        requests: int | None = None,
        rate: float = 10.0,
        concurrency: int = 4,
        stop: threading.Event | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> PlayReport:
        """Send ``requests`` (None: until ``stop`` is set, from any thread) at about ``rate`` per second.

        Raises:
            PublishError: NATS is unreachable or refuses a publish.
        """
        try:
            nc = await nats.connect(self.nats_url, connect_timeout=5, max_reconnect_attempts=3)
        except (TimeoutError, OSError, NatsError) as e:
            raise PublishError(f"cannot connect to NATS at {self.nats_url}: {e}") from e
        js = nc.jetstream()
        # No keep-alive: one connection per request, as many app clients would spread over the Service.
        limits = httpx.Limits(max_keepalive_connections=0, max_connections=concurrency)
        gate = asyncio.Semaphore(concurrency)
        sent = 0
        pending: set[asyncio.Task[None]] = set()
        try:
            async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:
                started = time.monotonic()
                while (requests is None or sent < requests) and not (stop is not None and stop.is_set()):
                    await asyncio.sleep(max(0.0, started + sent / rate - time.monotonic()))
                    await gate.acquire()
                    task = asyncio.create_task(self._one(client, js, gate, progress))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                    sent += 1
                if pending:
                    await asyncio.gather(*pending)
        finally:
            await nc.close()
        return self.report

    async def _one(self, client: httpx.AsyncClient, js: JetStreamContext, gate: asyncio.Semaphore,
                   progress: Callable[[int], None] | None) -> None:  # fmt: skip
        try:
            request_id = uuid.uuid4().hex
            body = scorer_request(self.rng, self.users, self.tips, request_id)
            user = body["instances"][0]["user_id"]
            url = self.route().rstrip("/") if self.route is not None else self.scorer_url
            t0 = time.perf_counter()
            try:
                resp = await client.post(url + SCORER_PATH, json=body)
            except httpx.HTTPError as e:
                self._failed(f"{type(e).__name__}: {e}")
                return
            latency_ms = (time.perf_counter() - t0) * 1000
            if resp.status_code != 200:
                self._failed(f"HTTP {resp.status_code}: {resp.text[:200]}")
                return
            answer = resp.json()
            if self.answered is not None:
                await self.answered(url, body, answer)
            prediction = answer["predictions"][0]
            tip, version = prediction["scores"][0]["tip_id"], str(prediction["model_version"])
            hour = float(self.rng.uniform(0.0, 24.0))
            p = float(self.sim.oracle_probability([user], [tip], [hour])[0])
            positive = bool(self.rng.random() < p)
            now = datetime.now(UTC)
            common = {"occurred_at": now, "user_id": user, "request_id": request_id, "tip_id": tip}
            shown = TipShown(event_id=uuid.uuid4().hex, category=self.category[tip], model_version=version,
                             **common)  # fmt: skip
            reaction = Reaction.LIKED if positive else Reaction.DISMISSED
            reacted = TipReaction(event_id=uuid.uuid4().hex, reaction=reaction, model_version=version, **common)
            for event in (shown, reacted):
                await _publish(js, event)
            self.report.served.append(Served(time.time(), version, latency_ms, positive))
            if progress is not None:
                progress(1)
        finally:
            gate.release()

    def _failed(self, why: str) -> None:
        self.report.errors += 1
        self.report.last_error = why
        self.report.failed_at.append(time.time())


async def _publish(js: JetStreamContext, event: EventBase) -> None:
    try:
        await js.publish(event.subject, event.model_dump_json().encode(), headers={MSG_ID_HEADER: event.event_id})
    except (TimeoutError, NatsError) as e:
        raise PublishError(f"publishing {event.subject} failed: {e!r}") from e
