"""The generator's Prometheus series (KServe's ``/metrics`` exports the default registry).

A prompt that cannot render for a request's context within ``max_prompt_chars`` is served by the default
version instead, or refused with a 422; both are counted, so a version that keeps overflowing shows up on a
dashboard rather than as silent fallbacks.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter

RENDER_OVERFLOW: Final = Counter(
    "tipsml_generator_render_failures",
    "Requests whose prompt version failed to render (e.g. over max_prompt_chars), by what happened next.",
    ("prompt_version", "outcome"),
)
"""``outcome``: ``fallback`` (served by the default version) or ``refused`` (answered 422)."""
