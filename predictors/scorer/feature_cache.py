"""A short-lived, bounded, in-memory copy of slowly changing feature rows (tip stats), never of scores.

Why: every request names ~20 candidate tips out of a catalogue of a few thousand, so at a few hundred
requests per second the same tip's stats are read from the online store many times a second, while they
change only when reactions arrive (and then by one count in hundreds). Reading them at most once per
``ttl_s`` per tip removes most of the online-store work of a request.

Freshness: a value served from here is at most ``ttl_s`` older than the online store (plus the store's own
push delay). The scorer turns this on for the ``tip_stats`` view only (``TIPSML_TIP_STATS_TTL_S``, 0
switches it off); user rows and user x category rows change with every event of that user and are always
read fresh. A tip without a row is remembered as "no row" for ``ttl_s`` too, so a brand-new tip gets its
stats at most ``ttl_s`` late. Bounded: beyond ``capacity`` keys the oldest entries go first.

Stateless in the sense that matters: answers do not depend on which replica (or which request) filled the
copy, only on the store's values of the last ``ttl_s``; nothing is written anywhere.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Key → value for at most ``ttl_s`` seconds, at most ``capacity`` keys (oldest evicted first)."""

    def __init__(self, ttl_s: float, capacity: int, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl_s <= 0 or capacity < 1:
            raise ValueError("ttl_s must be > 0 and capacity >= 1")
        self.ttl_s = ttl_s
        self.capacity = capacity
        self._clock = clock
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def get_many(self, keys: Iterable[K]) -> tuple[dict[K, V], list[K]]:
        """(fresh values found, keys to read) for ``keys``; expired entries count as missing."""
        now = self._clock()
        found: dict[K, V] = {}
        missing: list[K] = []
        data = self._data
        with self._lock:
            for key in keys:
                entry = data.get(key)
                if entry is not None and entry[0] > now:
                    found[key] = entry[1]
                else:
                    missing.append(key)
        return found, missing

    def put_many(self, values: Iterable[tuple[K, V]]) -> None:
        """Remember ``values`` for ``ttl_s`` from now, evicting the oldest beyond ``capacity``."""
        expires = self._clock() + self.ttl_s
        data = self._data
        with self._lock:
            for key, value in values:
                data[key] = (expires, value)
                data.move_to_end(key)
            while len(data) > self.capacity:
                data.popitem(last=False)
