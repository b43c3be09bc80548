"""The entry point both predictors share: serve until stopped, a start-up failure one line and exit 1."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

S = TypeVar("S")


def run_server(name: str, serve: Callable[[S], None], settings: S, failure: type[Exception]) -> int:
    """``serve(settings)``; a ``failure`` (the predictor's base error) is printed as ``name: message``.

    Only the predictor's own errors are caught: they say what to fix (no model, bad store config). Anything
    else is a bug and keeps its traceback.
    """
    try:
        serve(settings)
    except failure as e:
        print(f"{name}: {e}", file=sys.stderr)
        return 1
    return 0
