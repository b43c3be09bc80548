"""Closed sets shared by events, features and predictors.

Values are lower-case strings on the wire so the TypeScript side can mirror them as string unions.
"""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    """Lifecycle of a task in the app."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    ARCHIVED = "archived"


class TaskPriority(StrEnum):
    """Priority a user gave a task."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class TaskCategory(StrEnum):
    """Category of a task and of a tip; tips are matched to tasks through it."""

    WORK = "work"
    PERSONAL = "personal"
    HEALTH = "health"
    FINANCE = "finance"
    LEARNING = "learning"
    HOME = "home"
    SOCIAL = "social"
    ERRANDS = "errands"


class Reaction(StrEnum):
    """What a user did with a tip they were shown."""

    LIKED = "liked"
    ACTED = "acted"
    DISMISSED = "dismissed"
    SNOOZED = "snoozed"

    @property
    def is_positive(self) -> bool:
        """Whether this reaction counts as a reward of 1 for models and bandits."""
        return self in (Reaction.LIKED, Reaction.ACTED)


class Platform(StrEnum):
    """Client the event came from."""

    IOS = "ios"
    ANDROID = "android"
    WEB = "web"
    DESKTOP = "desktop"
