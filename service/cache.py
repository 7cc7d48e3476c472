"""A small least-recently-used cache: questions, and the words in them, repeat themselves."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRUCache(Generic[K, V]):
    """The `size` most recently used values (none if 0), safe to share between threads.

    Values are computed by the caller, outside the lock, so a slow computation never holds up
    other lookups; two threads missing the same key at once both compute it, harmlessly.
    """

    def __init__(self, size: int, observe: Callable[[bool], None] | None = None) -> None:
        if size < 0:
            raise ValueError(f"a cache size is 0 (no cache) or more, not {size}")
        self.size = size
        self._observe = observe  # told of every lookup: hit (True) or miss
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        if self.size == 0:
            return None
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
        if self._observe is not None:
            self._observe(value is not None)
        return value

    def put(self, key: K, value: V) -> None:
        if self.size == 0:
            return
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        return len(self._values)
