"""WorkerPool: tasks run in order on long-lived threads with limited native thread pools."""

from __future__ import annotations

import threading

import sklearn.ensemble  # noqa: F401 - loads scikit-learn's OpenMP runtime
from threadpoolctl import threadpool_info

from stream_pose_ml.serving import WorkerPool


def test_tasks_run_in_order_and_a_failing_task_does_not_stop_the_pool() -> None:
    before = {i["internal_api"]: i["num_threads"] for i in threadpool_info()}
    pool = WorkerPool(size=1, native_threads=1)
    seen: list[object] = []
    done = threading.Event()

    def fail() -> None:
        raise RuntimeError("boom")

    def inspect() -> None:
        seen.append({i["internal_api"]: i["num_threads"] for i in threadpool_info()})
        seen.append(threading.current_thread().name)

    for task in (lambda: seen.append(1), fail, lambda: seen.append(2), inspect, done.set):
        pool.submit(task)
    assert done.wait(10)
    pool.close()
    assert seen[:2] == [1, 2]
    assert seen[2]["openmp"] == 1  # limited in the worker thread
    assert seen[3] == "stream-pose-ml-worker"
    after = {i["internal_api"]: i["num_threads"] for i in threadpool_info()}
    assert after["openmp"] == before["openmp"]  # OpenMP limits are per thread: caller untouched


def test_several_workers_share_the_queue() -> None:
    pool = WorkerPool(size=3, native_threads=None)
    names: set[str] = set()
    barrier = threading.Barrier(3, timeout=10)

    def meet() -> None:
        names.add(str(threading.get_ident()))
        barrier.wait()

    for _ in range(3):
        pool.submit(meet)
    pool.submit(pool.libraries_changed)
    pool.close()
    for _ in range(50):
        if len(names) == 3:
            break
        threading.Event().wait(0.1)
    assert len(names) == 3  # three tasks ran at once, one per worker
