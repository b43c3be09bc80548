"""The shipped tip corpus the offline provider writes from: short tips per task category.

``corpus/tips.jsonl`` holds one tip per line (``id``, ``category``, ``text``); a text may contain
``{title}``, filled with the task's title when the prompt has one (and left out when titles are redacted).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from contracts.enums import TaskCategory

TITLE_SLOT = "{title}"


@dataclass(frozen=True, slots=True)
class CorpusTip:
    """One tip of the corpus."""

    tip_id: str
    category: TaskCategory
    text: str

    @property
    def needs_title(self) -> bool:
        """Whether the text has a slot for a task title."""
        return TITLE_SLOT in self.text

    def render(self, title: str) -> str:
        """The text with ``title`` filled in (plain replace: titles may contain braces)."""
        return self.text.replace(TITLE_SLOT, title)


@dataclass(frozen=True, slots=True)
class TipCorpus:
    """Tips grouped by category, each group split into tips with and without a title slot."""

    with_title: dict[TaskCategory, tuple[CorpusTip, ...]]
    without_title: dict[TaskCategory, tuple[CorpusTip, ...]]

    def choices(self, category: TaskCategory, has_title: bool) -> tuple[CorpusTip, ...]:
        """Candidate tips for a category: titled ones only when a title is available."""
        plain = self.without_title.get(category, ())
        return plain + self.with_title.get(category, ()) if has_title else plain

    def __len__(self) -> int:
        return sum(len(v) for v in self.with_title.values()) + sum(
            len(v) for v in self.without_title.values()
        )


@cache
def load_corpus() -> TipCorpus:
    """Read the packaged corpus once per process."""
    text = (resources.files("predictors.generator") / "corpus" / "tips.jsonl").read_text(encoding="utf-8")
    with_title: dict[TaskCategory, list[CorpusTip]] = {}
    without_title: dict[TaskCategory, list[CorpusTip]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        tip = CorpusTip(row["id"], TaskCategory(row["category"]), row["text"])
        (with_title if tip.needs_title else without_title).setdefault(tip.category, []).append(tip)
    return TipCorpus(
        {k: tuple(v) for k, v in with_title.items()}, {k: tuple(v) for k, v in without_title.items()}
    )
