"""Blocking work off the event loop: a model upload or activation runs in a native thread.

Under gevent or eventlet every session shares one OS thread, so extracting an archive or
unpickling a large model there stops every live session's results until it is done (a 145 MiB
pickle: 1.4 s). The heavy parts (zlib, file I/O, hashing, large copies) release the GIL, so in
a native thread they run beside the event loop. With the threading worker a request has its own
thread already.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def offloader(async_mode: str) -> Callable[[Callable[[], T]], T]:
    """``offload(fn)``: ``fn()`` in a native thread (the calling green thread waits for it)."""
    if async_mode == "gevent":
        import gevent

        def in_gevent_thread(fn: Callable[[], T]) -> T:
            return gevent.get_hub().threadpool.apply(fn)

        return in_gevent_thread
    if async_mode == "eventlet":
        from eventlet import tpool

        def in_eventlet_thread(fn: Callable[[], T]) -> T:
            return tpool.execute(fn)

        return in_eventlet_thread

    def inline(fn: Callable[[], T]) -> T:
        return fn()

    return inline
