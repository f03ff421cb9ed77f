"""Two job managers on one data folder, as two gunicorn workers of one API have: a queued job
starts once, the job limit holds over both, either cancels the other's job, a restart of one
does not fail the other's running job, and each reports the other's changes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from job_clips import short_clip_path
from test_video_jobs_manager import LITE, group_alive

from stream_pose_ml.video_jobs import JobManager, JobStore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory, demo_video: Path) -> Path:
    return short_clip_path(tmp_path_factory.getbasetemp(), demo_video)


@pytest.fixture
def managers(tmp_path: Path, clip: Path) -> Iterator[tuple[JobManager, JobManager]]:
    first = JobStore(tmp_path)
    with open(clip, "rb") as handle:
        first.add_video(handle, "clip.mp4", 1 << 30)
    a, b = JobManager(first, max_running=1), JobManager(JobStore(tmp_path), max_running=1)
    yield a, b
    a.shutdown()
    b.shutdown()


def poll_both(a: JobManager, b: JobManager, until: float = 60.0) -> None:
    deadline = time.monotonic() + until
    while time.monotonic() < deadline:
        a.poll()
        b.poll()
        time.sleep(0.2)


def test_a_queued_job_starts_once_and_the_limit_holds_over_both(
    managers: tuple[JobManager, JobManager],
) -> None:
    a, b = managers
    store = a.store
    sha = store.videos()[0]["sha256"]
    first = store.create(sha, LITE, None)["id"]
    second = store.create(sha, LITE, None)["id"]
    a.submit(first)
    b.submit(first)  # both processes recovered the same queued job
    b.submit(second)
    a.poll()
    b.poll()
    assert a.pid(first) is not None and b.pid(first) is None  # started once
    assert b.pid(second) is None and store.get(second)["status"] == "queued"  # limit: 1 in all
    seen_by_b = [job["status"] for job in b.poll() if job["id"] == first]
    b.cancel(first)  # B cancels A's job: its worker's process group goes
    pid = a.pid(first)
    assert pid is not None
    deadline = time.monotonic() + 5
    while group_alive(pid) and time.monotonic() < deadline:
        a.poll()
        time.sleep(0.05)
    a.poll()
    assert store.get(first)["status"] == "cancelled"  # A's reaping keeps B's cancel
    assert a.pid(first) is None
    b.poll()  # the slot is free again: B starts its job
    assert b.pid(second) is not None
    assert seen_by_b == [] or seen_by_b[-1] in ("running", "queued")
    reported = [job["status"] for job in a.poll() if job["id"] == second]
    assert reported == ["running"]  # A tells its clients what B did


def test_a_restarted_process_leaves_the_others_running_job(
    managers: tuple[JobManager, JobManager], tmp_path: Path
) -> None:
    a, _ = managers
    store = a.store
    job_id = store.create(store.videos()[0]["sha256"], LITE, None)["id"]
    a.submit(job_id)
    a.poll()
    assert store.get(job_id)["status"] == "running"
    restarted = JobManager(JobStore(tmp_path), max_running=1)
    restarted.recover()
    assert store.get(job_id)["status"] == "running"  # its worker still runs
    a.cancel(job_id)
    restarted.recover()
    assert store.get(job_id)["status"] == "cancelled"
