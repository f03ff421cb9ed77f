"""ModelCache: least recently used out, one load per key at a time, every eviction reported."""

from __future__ import annotations

import threading
import time

import pytest

from stream_pose_ml.serving import ModelCache


def test_least_recently_used_is_evicted_and_reported() -> None:
    evicted: list[tuple[str, int]] = []
    cache: ModelCache[str, int] = ModelCache(2, on_evict=lambda k, v: evicted.append((k, v)))
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # now "b" is the least recently used
    cache.put("c", 3)
    assert cache.keys() == ["a", "c"] and evicted == [("b", 2)]
    cache.put("a", 10)  # a replaced value is reported too
    assert evicted[-1] == ("a", 1) and cache.get("a") == 10
    assert cache.pop("c") == 3 and evicted[-1] == ("c", 3) and "c" not in cache
    assert cache.pop("missing") is None and len(cache) == 1


def test_concurrent_callers_load_a_model_once() -> None:
    cache: ModelCache[str, object] = ModelCache(4)
    loads: list[int] = []

    def load() -> object:
        loads.append(1)
        time.sleep(0.2)  # a slow load: the others must wait for it, not start their own
        return object()

    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_load("m", load)))
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1 and len({id(r) for r in results}) == 1


def test_a_failed_load_caches_nothing_and_can_be_retried() -> None:
    cache: ModelCache[str, int] = ModelCache(2)

    def broken() -> int:
        raise ValueError("corrupt file")

    with pytest.raises(ValueError, match="corrupt"):
        cache.get_or_load("m", broken)
    assert "m" not in cache
    assert cache.get_or_load("m", lambda: 7) == 7
    with pytest.raises(ValueError, match="at least one"):
        ModelCache(0)
