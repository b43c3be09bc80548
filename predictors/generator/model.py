"""``tip-generator`` as a ``kserve.Model``: a thin shell around :class:`GenerationService`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

import kserve

from predictors.generator.errors import GeneratorNotReadyError
from predictors.generator.service import GenerationService


class Background(Protocol):
    """Work that runs beside the requests for the server's lifetime (the bandit's learner)."""

    async def run(self) -> None:
        """Run until cancelled."""
        ...


class TipGenerator(kserve.Model):  # type: ignore[misc]
    """Serves V1 ``:predict``; ready once the registry has at least one version."""

    def __init__(
        self,
        name: str,
        build: Callable[[], GenerationService],
        learner: Callable[[GenerationService], Background | None] | None = None,
    ) -> None:
        super().__init__(name)
        self._build = build
        self._make_learner = learner
        self.service: GenerationService | None = None
        self._learner_task: asyncio.Task[None] | None = None

    def load(self) -> bool:
        """Build the service and read the registry once."""
        if self.service is None:
            self.service = self._build()
            self.service.registry.refresh(force=True)
        self.ready = True
        return True

    async def healthy(self) -> bool:
        """Healthy while the registry holds a version (a broken ConfigMap shows up as not ready)."""
        return self.ready and self.service is not None and bool(self.service.registry.versions())

    def _start_learner(self, service: GenerationService) -> None:
        if self._learner_task is None and self._make_learner is not None:
            learner = self._make_learner(service)
            if learner is not None:
                self._learner_task = asyncio.get_running_loop().create_task(learner.run())

    async def predict(
        self,
        payload: dict[str, Any] | bytes,
        headers: dict[str, str] | None = None,
        response_headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Generate one tip per instance."""
        service = self.service
        if service is None:
            raise GeneratorNotReadyError("the generation service is not built yet")
        self._start_learner(service)
        return await service.predict(payload)

    def stop(self) -> None:
        """Cancel the bandit refresh loop."""
        if self._learner_task is not None:
            self._learner_task.cancel()
            self._learner_task = None
        super().stop()
