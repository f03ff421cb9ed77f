"""`JobManager`: runs queued jobs as worker processes, at most ``max_running`` at a time.

It has no thread of its own: the API calls `poll` every ~0.25 s, which starts queued jobs
when a slot is free, reads the running workers' ``progress.json`` and reaps exited workers
(an exit without ``summary.json`` makes the job "failed", with the reason from the tail of
the worker's log). Each worker runs in its own process group, so cancel kills all of it.

Several API processes (gunicorn workers) may share one data folder, each with its own manager:
a job is started once (a ``claimed`` file created exclusively in its folder), at most
``max_running`` run over all of them (one ``flock`` slot file per running job, held by the
worker process itself), any manager can cancel a job (the worker's process group is in
``worker.pid``), `recover` fails only the jobs whose worker is gone, and `poll` also returns the
jobs another process changed, so every process tells its own clients.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from stream_pose_ml.errors import ServingError
from stream_pose_ml.video_jobs.store import JobStore

logger = logging.getLogger(__name__)

KILL_AFTER_S = 2.0
LOG_TAIL_BYTES = 4000
FINISHED = ("done", "failed", "cancelled")


class _Worker:
    def __init__(
        self, process: subprocess.Popen[bytes], log: IO[bytes], folder: Path, slot: int
    ) -> None:
        self.process = process
        self.log = log
        self.folder = folder
        self.slot = slot  # the slot file's descriptor (the worker holds the lock too)
        self.progress: dict[str, Any] | None = None

    def close(self) -> None:
        self.log.close()
        with contextlib.suppress(OSError):
            os.close(self.slot)


_WORKER_MODULE = b"stream_pose_ml.video_jobs.worker"


def _runs_worker(pid: int) -> bool:
    """Whether process ``pid`` runs a job worker (by its command line)."""
    try:
        return _WORKER_MODULE in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _worker_alive(folder: Path) -> int | None:
    """The pid of the job's worker if that process still runs a job worker, else None."""
    try:
        pid = int((folder / "worker.pid").read_text())
    except (OSError, ValueError):
        return None
    return pid if _runs_worker(pid) else None


def _wait_for_exec(process: subprocess.Popen[bytes], timeout_s: float = 5.0) -> None:
    """Wait until the started ``process`` shows the job worker's command line (or exits): right
    after ``Popen`` returns it is mostly still empty (93 of 100 starts measured), and
    `_worker_alive` in another API process, seeing that, would take the job's worker for gone."""
    deadline = time.monotonic() + timeout_s
    while process.poll() is None and time.monotonic() < deadline:
        if _runs_worker(process.pid):
            return
        time.sleep(0.002)


def _kill_group(pid: int) -> None:
    """SIGTERM to the process group ``pid``, SIGKILL after ``KILL_AFTER_S`` (a worker of
    another process: it cannot be waited for, only watched)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + KILL_AFTER_S
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        state = Path(f"/proc/{pid}/stat")
        with contextlib.suppress(OSError):
            if state.read_text().split(") ", 1)[1].startswith("Z"):  # exited, not reaped yet
                return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _failure_reason(log_path: Path, returncode: int) -> str:
    try:
        with open(log_path, "rb") as handle:
            handle.seek(max(0, log_path.stat().st_size - LOG_TAIL_BYTES))
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        lines = []
    for line in reversed(lines):
        if "REASON " in line:
            return line.split("REASON ", 1)[1].strip()
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"the worker was killed ({name})"
    tail = next((line.strip() for line in reversed(lines) if line.strip()), "")
    return f"the worker exited with code {returncode}" + (f": {tail}" if tail else "")


class JobManager:
    """Queues and runs the jobs of ``store`` (see the module docstring)."""

    def __init__(self, store: JobStore, max_running: int = 1, python: str = sys.executable):
        self.store = store
        self.max_running = max(1, int(max_running))
        self.python = python
        self._queue: list[str] = []
        self._running: dict[str, _Worker] = {}
        self._seen: dict[str, int] = self._stamps()  # job.json mtimes: others' changes
        self._token = self.store.changes()  # no job changed anywhere while it stays the same
        self._slots = store.jobs_dir / ".slots"  # made when the first job starts
        # poll runs in the API's background task, cancel/delete in request threads
        self._lock = threading.RLock()

    def submit(self, job_id: str) -> None:
        """Queue a job; `poll` starts it when a slot is free."""
        with self._lock:
            self.store.get(job_id)  # 404 for an unknown job
            if job_id not in self._queue and job_id not in self._running:
                self._queue.append(job_id)

    def pid(self, job_id: str) -> int | None:
        """The worker's process id while the job runs."""
        with self._lock:
            worker = self._running.get(job_id)
            return None if worker is None else worker.process.pid

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Stop a queued or running job (status "cancelled"); 409 ``job_finished`` when it is
        done or failed."""
        with self._lock:
            job = self.store.get(job_id)
            if job["status"] in ("done", "failed"):
                raise ServingError("job_finished", f"job {job_id} is already {job['status']}", 409)
            if job["status"] == "cancelled":
                return job
            if job_id in self._queue:
                self._queue.remove(job_id)
            worker = self._running.pop(job_id, None)
            if worker is not None:
                self._kill(worker)
            elif job["status"] == "running":  # run by another API process
                pid = _worker_alive(self.store.job_dir(job_id))
                if pid is not None:
                    _kill_group(pid)
            return self._note(self.store.update(job_id, status="cancelled", finished_s=time.time()))

    def delete(self, job_id: str) -> None:
        """Cancel if queued or running, then remove the job's folder."""
        with self._lock:
            job = self.store.get(job_id)
            if job["status"] not in FINISHED:
                self.cancel(job_id)
            self.store.delete(job_id)

    def poll(self) -> list[dict[str, Any]]:
        """Reap, read progress, start queued jobs; the job dicts that changed."""
        with self._lock:
            changed: list[dict[str, Any]] = []
            for job_id, worker in list(self._running.items()):
                code = worker.process.poll()
                try:
                    if code is not None:
                        del self._running[job_id]
                        changed.append(self._finish(job_id, worker, code))
                        continue
                    progress = self._read_progress(worker.folder)
                    if progress is not None and progress != worker.progress:
                        worker.progress = progress
                        changed.append(self.store.update(job_id, progress=progress))
                except ServingError:  # deleted by another API process meanwhile
                    worker.close()
                    self._running.pop(job_id, None)
            while self._queue and len(self._running) < self.max_running:
                slot = self._free_slot()
                if slot is None:  # the others' jobs take every slot
                    break
                job_id = self._queue.pop(0)
                started = self._start(job_id, slot)
                if started is not None:
                    changed.append(started)
                else:
                    os.close(slot)
            for job in changed:
                self._note(job)
            return changed + self._changed_elsewhere({job["id"] for job in changed})

    def recover(self) -> None:
        """At start-up: "running" jobs of a dead server fail; "queued" ones queue again."""
        with self._lock:
            for job in sorted(self.store.jobs(), key=lambda j: j["created_s"]):
                if (
                    job["status"] == "running"
                    and job["id"] not in self._running
                    and _worker_alive(self.store.job_dir(job["id"])) is None
                ):
                    self._note(
                        self.store.update(
                            job["id"],
                            status="failed",
                            finished_s=time.time(),
                            error={
                                "code": "interrupted",
                                "message": "server restarted during the job",
                            },
                        )
                    )
                elif job["status"] == "queued":
                    self.submit(job["id"])

    def shutdown(self) -> None:
        """Kill the running workers (their jobs are failed by `recover` at the next start)."""
        with self._lock:
            for worker in self._running.values():
                self._kill(worker)
            self._running.clear()

    # -- internals -------------------------------------------------------------------------
    def _stamps(self) -> dict[str, int]:
        stamps = {}
        for folder in self.store.jobs_dir.iterdir():
            with contextlib.suppress(OSError):
                stamps[folder.name] = (folder / "job.json").stat().st_mtime_ns
        return stamps

    def _note(self, job: dict[str, Any]) -> dict[str, Any]:
        """Remember the job.json this process wrote (not reported as another's change)."""
        with contextlib.suppress(OSError):
            path = self.store.jobs_dir / job["id"] / "job.json"
            self._seen[job["id"]] = path.stat().st_mtime_ns
        return job

    def _changed_elsewhere(self, reported: set[str]) -> list[dict[str, Any]]:
        """Jobs whose job.json another process wrote since the last poll."""
        token = self.store.changes()
        if token == self._token:  # one small read while no job changes anywhere
            return []
        self._token = token
        stamps = self._stamps()
        changed = []
        for job_id, stamp in stamps.items():
            if self._seen.get(job_id) != stamp and job_id not in reported:
                with contextlib.suppress(ServingError, OSError, ValueError):
                    changed.append(self.store.get(job_id))
        self._seen = stamps
        return changed

    def _free_slot(self) -> int | None:
        """A locked slot file's descriptor (one of ``max_running``), or None if all are held."""
        self._slots.mkdir(exist_ok=True)
        for index in range(self.max_running):
            fd = os.open(self._slots / f"slot-{index}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                os.close(fd)
        return None

    def _start(self, job_id: str, slot: int) -> dict[str, Any] | None:
        try:
            job = self.store.get(job_id)
            folder = self.store.job_dir(job_id)
        except ServingError:  # deleted while queued
            return None
        if job["status"] != "queued":
            return None
        try:  # once over every API process sharing the folder
            os.close(os.open(folder / "claimed", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            return None
        log = open(folder / "worker.log", "wb")  # noqa: SIM115  # closed when reaped
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(
            [self.python, "-m", "stream_pose_ml.video_jobs.worker", str(folder)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: cancel kills all of it
            pass_fds=(slot,),  # the worker holds its slot while it lives
            env=env,
        )
        _wait_for_exec(process)  # until then /proc may show no command line for it
        (folder / "worker.pid").write_text(str(process.pid))
        self._running[job_id] = _Worker(process, log, folder, slot)
        logger.info("job %s started (pid %d)", job_id, process.pid)
        return self.store.update(job_id, status="running", started_s=time.time())

    def _finish(self, job_id: str, worker: _Worker, code: int) -> dict[str, Any]:
        worker.close()
        folder = worker.folder
        now = time.time()
        job = self.store.get(job_id)
        if job["status"] == "cancelled":  # by another API process
            return job
        summary_path = folder / "summary.json"
        if code == 0 and summary_path.is_file():
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
            progress = self._read_progress(folder) or {}
            logger.info("job %s done", job_id)
            return self.store.update(
                job_id, status="done", finished_s=now, summary=summary, progress=progress
            )
        reason = _failure_reason(folder / "worker.log", code)
        logger.warning("job %s failed: %s", job_id, reason)
        return self.store.update(
            job_id,
            status="failed",
            finished_s=now,
            error={"code": "worker_failed", "message": reason},
        )

    @staticmethod
    def _read_progress(folder: Path) -> dict[str, Any] | None:
        try:
            progress: dict[str, Any] = json.loads(
                (folder / "progress.json").read_text(encoding="utf-8")
            )
            return progress
        except (OSError, ValueError):
            return None

    @staticmethod
    def _kill(worker: _Worker) -> None:
        process = worker.process
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=KILL_AFTER_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        worker.close()
