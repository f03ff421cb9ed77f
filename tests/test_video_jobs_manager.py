"""JobManager with real worker processes: run to done, cancel (process group gone, next job
starts), a worker killed with SIGKILL, recover() after a dead server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from job_clips import short_clip_path

from stream_pose_ml.errors import ServingError
from stream_pose_ml.video_jobs import JobManager, JobSettings, JobStore

pytestmark = pytest.mark.slow
LITE = JobSettings(complexity="lite")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory, demo_video: Path) -> Path:
    return short_clip_path(tmp_path_factory.getbasetemp(), demo_video)


@pytest.fixture
def store(tmp_path: Path, clip: Path) -> JobStore:
    store = JobStore(tmp_path)
    with open(clip, "rb") as handle:
        store.add_video(handle, "clip.mp4", 1 << 30)
    return store


@pytest.fixture
def manager(store: JobStore) -> Iterator[JobManager]:
    manager = JobManager(store, max_running=1)
    yield manager
    manager.shutdown()


def new_job(store: JobStore) -> str:
    return str(store.create(store.videos()[0]["sha256"], LITE, None)["id"])


def poll_until(
    manager: JobManager, done: Callable[[], bool], timeout: float = 120.0
) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        changes += manager.poll()
        if done():
            return changes
        time.sleep(0.25)
    raise AssertionError("timed out")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_job_runs_to_done_with_progress(store: JobStore, manager: JobManager) -> None:
    job_id = new_job(store)
    manager.submit(job_id)
    changes = poll_until(manager, lambda: store.get(job_id)["status"] in ("done", "failed"))
    job = store.get(job_id)
    assert job["status"] == "done", job["error"]
    assert job["error"] is None and job["started_s"] <= job["finished_s"]
    assert job["progress"]["percent"] == 100.0 and job["progress"]["frames_done"] == 90
    assert len(job["files"]) == 5 and job["summary"]["events"] == 0
    percents = [c["progress"]["percent"] for c in changes if c["id"] == job_id]
    assert percents == sorted(percents) and percents[-1] == 100.0
    with pytest.raises(ServingError) as caught:
        manager.cancel(job_id)
    assert (caught.value.code, caught.value.status) == ("job_finished", 409)
    manager.delete(job_id)
    assert store.jobs() == []


def test_cancel_kills_the_worker_and_starts_the_next(store: JobStore, manager: JobManager) -> None:
    first, second = new_job(store), new_job(store)
    manager.submit(first)
    manager.submit(second)
    manager.poll()
    assert [store.get(first)["status"], store.get(second)["status"]] == ["running", "queued"]
    pid = manager.pid(first)
    assert pid is not None and group_alive(pid)
    cancelled = manager.cancel(first)
    assert cancelled["status"] == "cancelled" and cancelled["finished_s"] is not None
    assert not group_alive(pid)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    changed = manager.poll()
    assert [(c["id"], c["status"]) for c in changed] == [(second, "running")]
    assert store.get(first)["status"] == "cancelled"
    next_pid = manager.pid(second)
    assert next_pid is not None and next_pid != pid
    manager.delete(second)  # cancels, then removes the folder
    assert not group_alive(next_pid)
    assert [j["id"] for j in store.jobs()] == [first]


def test_killed_worker_fails_the_job_with_a_reason(store: JobStore, manager: JobManager) -> None:
    job_id = new_job(store)
    manager.submit(job_id)
    manager.poll()
    pid = manager.pid(job_id)
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)
    poll_until(manager, lambda: store.get(job_id)["status"] != "running", timeout=10)
    job = store.get(job_id)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "worker_failed" and "SIGKILL" in job["error"]["message"]
    assert manager.pid(job_id) is None


def test_recover_after_a_dead_server(store: JobStore) -> None:
    running, queued = new_job(store), new_job(store)
    store.update(running, status="running", started_s=time.time())  # left by a dead server
    manager = JobManager(store)
    try:
        manager.recover()
        job = store.get(running)
        assert job["status"] == "failed" and job["finished_s"] is not None
        assert job["error"]["message"] == "server restarted during the job"
        changed = manager.poll()
        assert [(c["id"], c["status"]) for c in changed] == [(queued, "running")]
    finally:
        manager.shutdown()


def test_unknown_job_is_404(manager: JobManager) -> None:
    for call in (manager.submit, manager.cancel, manager.delete):
        with pytest.raises(ServingError) as caught:
            call("j_0123456789ab")
        assert (caught.value.code, caught.value.status) == ("unknown_job", 404)


def test_unreadable_video_fails_the_job_with_the_reason(
    store: JobStore, manager: JobManager
) -> None:
    job_id = new_job(store)
    stored = store.video_path(store.videos()[0]["sha256"])
    stored.write_bytes(stored.read_bytes()[: stored.stat().st_size // 2])  # damaged on disk
    manager.submit(job_id)
    poll_until(manager, lambda: store.get(job_id)["status"] in ("done", "failed"), timeout=60)
    job = store.get(job_id)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "worker_failed" and job["error"]["message"]
    assert "exited with code" not in job["error"]["message"]  # the worker's own reason


def test_a_started_worker_is_seen_alive_at_once(tmp_path: Path) -> None:
    # right after Popen returns, /proc/<pid>/cmdline is mostly still empty (93 of 100 measured):
    # a recover() of another process then took the worker for gone and failed its job
    from stream_pose_ml.video_jobs.manager import _wait_for_exec, _worker_alive

    for _ in range(10):
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import time; time.sleep(30)",
                "stream_pose_ml.video_jobs.worker",
            ],
            start_new_session=True,
        )
        try:
            _wait_for_exec(process)
            (tmp_path / "worker.pid").write_text(str(process.pid))
            assert _worker_alive(tmp_path) == process.pid
        finally:
            process.kill()
            process.wait()
    assert _worker_alive(tmp_path) is None  # gone
