"""`ModelCache`: the loaded models of a process, at most ``size``, least recently used evicted.

The one model cache: the live service keeps its classifiers in one, the model service its
loaded MLflow models. Loading happens outside the cache's lock (a model can take seconds to
load) and at most once per key at a time; ``on_evict`` is called for every entry that leaves.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ModelCache(Generic[K, V]):
    """Thread-safe LRU of loaded models keyed by model id."""

    def __init__(self, size: int = 4, on_evict: Callable[[K, V], None] | None = None) -> None:
        if size < 1:
            raise ValueError(f"a model cache holds at least one model, not {size}")
        self.size = size
        self.on_evict = on_evict
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[K, threading.Lock] = {}

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def keys(self) -> list[K]:
        """Cached keys, least recently used first."""
        with self._lock:
            return list(self._items)

    def get(self, key: K) -> V | None:
        """The cached model (now the most recently used), or None."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def get_or_load(self, key: K, load: Callable[[], V]) -> V:
        """The cached model, else ``load()``'s, cached; concurrent calls for a key load once."""
        found = self.get(key)
        if found is not None:
            return found
        with self._lock:
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:
            found = self.get(key)
            if found is not None:
                return found
            try:
                value = load()
            finally:
                with self._lock:
                    self._loading.pop(key, None)
            self.put(key, value)
            return value

    def put(self, key: K, value: V) -> None:
        """Cache ``value`` under ``key`` (replacing an entry) and evict beyond ``size``."""
        evicted: list[tuple[K, V]] = []
        with self._lock:
            previous = self._items.pop(key, None)
            if previous is not None and previous is not value:
                evicted.append((key, previous))
            self._items[key] = value
            while len(self._items) > self.size:
                evicted.append(self._items.popitem(last=False))
        self._evicted(evicted)

    def pop(self, key: K) -> V | None:
        """Remove one entry (``on_evict`` is called for it); the removed model or None."""
        with self._lock:
            value = self._items.pop(key, None)
        if value is not None:
            self._evicted([(key, value)])
        return value

    def _evicted(self, items: list[tuple[K, V]]) -> None:
        if self.on_evict is not None:
            for key, value in items:
                self.on_evict(key, value)
