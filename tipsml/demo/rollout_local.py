"""The local-process backend of :class:`operators.effects.RolloutEffectsPort`: scorer processes, no cluster.

Each action does locally what :class:`operators.rollout_effects.RolloutEffects` does to InferenceServices:

* ``StartShadow`` starts a scorer serving the candidate with ``TIPSML_ROLE=shadow`` and mirrors every answer
  of the champion to it the way KServe's inference logger does (mode ``all``): the request and then the
  response, each a binary-mode CloudEvent on the shadow's V1 ``:predict`` with the same ``ce-id``
  (``predictors/scorer/shadow.py`` pairs them and exports the rank agreement). Fire-and-forget: a mirror
  that fails is counted, never seen by the caller. ``StopShadow`` stops the process and the mirroring.
* ``SetCanary`` starts a scorer serving the candidate (metrics role ``canary``) and sets the weight of a
  client-side split: :meth:`LocalRolloutEffects.route` sends each request to the candidate with that
  probability (no Service splits traffic on a laptop, so the client does).
* ``PromoteModel`` makes the candidate the process every request goes to; ``RestoreBaseline`` stops the
  candidate and sends everything to the champion again; ``MoveChampion`` moves the MLflow alias through
  :class:`operators.model_registry.ChampionRegistry`, as the operator does.

Which processes run decides what the gates can read: :meth:`LocalRolloutEffects.metrics_urls` lists their
``/metrics`` for :class:`operators.metrics_sources.LocalProvider`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol

import httpx
import numpy as np

from operators.model_registry import ChampionRegistry
from operators.rollout_machine import (
    Action,
    MoveChampion,
    PromoteModel,
    RestoreBaseline,
    SetCanary,
    StartShadow,
    StopShadow,
)
from predictors.scorer.shadow import REQUEST_EVENT, RESPONSE_EVENT
from tipsml.simulate.play import SCORER_PATH

LOCAL_NAMESPACE: Final = "local"
"""The namespace a local rollout reports (the local stack has one install and no namespaces)."""


@dataclass
class LocalScorer:
    """A scorer process serving one model version, and how to stop it."""

    name: str
    version: str
    url: str
    stop: Callable[[], None]


class ScorerLauncher(Protocol):
    """Starts a scorer process and returns once it answers (blocking: called off the event loop)."""

    def __call__(self, name: str, *, version: str, model_uri: str, role: str, metrics_role: str) -> LocalScorer:
        """Start ``python -m predictors.scorer`` for ``model_uri`` in ``role`` with metrics role ``metrics_role``."""
        ...


def model_uri(model_name: str, version: str, storage_uri: str | None) -> str:
    """Where a scorer loads ``version`` from: its storage URI, else the MLflow registry."""
    return storage_uri or f"models:/{model_name}/{version}"


class LocalRolloutEffects:
    """Applies a rollout's actions to scorer processes on this machine; every action is idempotent.

    Owns every process it holds, the champion handed in included: :meth:`aclose` stops them all.
    """

    def __init__(
        self,
        champion: LocalScorer,
        launch: ScorerLauncher,
        registry: ChampionRegistry,
        *,
        model_name: str,
        rollout: str,
        seed: int = 0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.champion = champion
        self.shadow: LocalScorer | None = None
        self.canary: LocalScorer | None = None
        self.percent = 0
        self.split: str | None = None
        self.mirrored = 0
        """Answers of the champion mirrored to the shadow (request and response event both accepted)."""
        self.mirror_failures = 0
        self._launch, self._registry = launch, registry
        self._model, self._rollout = model_name, rollout
        self._rng = np.random.default_rng(seed)
        # A connection per event, as the split's requests: a client shared by concurrent tasks can stall
        # requests inside its own pool (encode/httpcore#822).
        self._client = httpx.AsyncClient(
            limits=httpx.Limits(max_keepalive_connections=0), timeout=10.0, transport=transport
        )

    async def apply(self, action: Action) -> None:
        """Apply one action."""
        if isinstance(action, StartShadow):
            if self.shadow is None or self.shadow.version != action.candidate_version:
                await self._stop("shadow")
                self.shadow = await self._start(action.candidate_version, action.storage_uri, "shadow", "shadow")
        elif isinstance(action, StopShadow):
            await self._stop("shadow")
        elif isinstance(action, SetCanary):
            if self.canary is None or self.canary.version != action.candidate_version:
                await self._stop("canary")
                self.canary = await self._start(action.candidate_version, action.storage_uri, "serving", "canary")
            self.percent = action.percent
            self.split = f"{action.percent} % of requests (client-side split)"
        elif isinstance(action, PromoteModel):
            if self.champion.version != action.candidate_version:
                if self.canary is None or self.canary.version != action.candidate_version:
                    await self._stop("canary")
                    self.canary = await self._start(
                        action.candidate_version, action.storage_uri, "serving", "champion"
                    )
                old, self.champion, self.canary = self.champion, self.canary, None
                await asyncio.to_thread(old.stop)
            self.percent, self.split = 0, None
        elif isinstance(action, RestoreBaseline):
            await self._stop("canary")
            self.percent, self.split = 0, None
        elif isinstance(action, MoveChampion):
            await asyncio.to_thread(
                self._registry.move_champion, self._model, action.version, rollout=self._rollout,
                reason=action.reason,
            )

    async def canary_pending(self) -> str | None:
        """None once the candidate process answers (it is started ready); else why not."""
        if self.canary is None:
            return "the canary scorer process is not running"
        return None

    def route(self) -> str:
        """The scorer URL of the next request: the candidate with probability ``percent`` / 100."""
        if self.canary is not None and self.percent > 0 and self._rng.random() * 100 < self.percent:
            return self.canary.url
        return self.champion.url

    def metrics_urls(self) -> list[str]:
        """``/metrics`` of every running scorer: what the local series provider scrapes."""
        running = [s for s in (self.champion, self.shadow, self.canary) if s is not None]
        return [f"{s.url}/metrics" for s in running]

    async def mirror(self, url: str, request: dict[str, Any], response: dict[str, Any]) -> None:
        """Mirror one answer of the champion to the shadow as the logger's request and response events."""
        shadow = self.shadow
        if shadow is None or url.rstrip("/") != self.champion.url:
            return
        event_id = uuid.uuid4().hex
        try:
            for event_type, body in ((REQUEST_EVENT, request), (RESPONSE_EVENT, response)):
                headers = logger_headers(event_id, event_type, source=self.champion.url, service=self._model)
                answer = await self._client.post(shadow.url + SCORER_PATH, json=body, headers=headers)
                answer.raise_for_status()
        except httpx.HTTPError:
            self.mirror_failures += 1
            return
        self.mirrored += 1

    async def aclose(self) -> None:
        """Stop every process held and close the mirror's client."""
        await self._client.aclose()
        for role in ("shadow", "canary"):
            await self._stop(role)
        await asyncio.to_thread(self.champion.stop)

    async def _start(self, version: str, storage_uri: str | None, role: str, metrics_role: str) -> LocalScorer:
        uri = model_uri(self._model, version, storage_uri)
        name = f"{self._rollout}-{metrics_role}"
        return await asyncio.to_thread(
            self._launch, name, version=version, model_uri=uri, role=role, metrics_role=metrics_role
        )

    async def _stop(self, role: str) -> None:
        scorer = self.shadow if role == "shadow" else self.canary
        if scorer is None:
            return
        if role == "shadow":
            self.shadow = None
        else:
            self.canary = None
        await asyncio.to_thread(scorer.stop)


def logger_headers(event_id: str, event_type: str, *, source: str, service: str) -> dict[str, str]:
    """Headers of one binary-mode CloudEvent as KServe v0.20's logger agent posts it."""
    return {
        "ce-id": event_id,
        "ce-type": event_type,
        "ce-source": source,
        "ce-specversion": "1.0",
        "ce-time": datetime.now(UTC).isoformat(),
        "ce-inferenceservicename": service,
        "ce-namespace": LOCAL_NAMESPACE,
        "ce-component": "predictor",
        "ce-endpoint": "",
        "ce-metadata": "{}",
        "content-type": "application/json",
    }
