"""Socket.IO side of video analysis jobs on the real gevent server: ``watch_jobs`` /
``unwatch_jobs``, the ``job`` events of a running job, and live sessions served meanwhile."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from api_server import ApiServer, LiveClient, frame_message, pose_frames, save_legacy_model
from job_clips import post_job, short_clip_path, wait_for_status
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

pytestmark = pytest.mark.slow

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "socket-messages.schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
REGISTRY: Registry = Registry().with_resource(SCHEMA["$id"], Resource.from_contents(SCHEMA))


def schema_errors(definition: str, message: Any) -> list[str]:
    """What schemas/socket-messages.schema.json says is wrong with ``message``."""
    check = Draft202012Validator(
        {"$ref": f"{SCHEMA['$id']}#/$defs/{definition}"}, registry=REGISTRY
    )
    return [f"{list(e.absolute_path)}: {e.message}" for e in check.iter_errors(message)]


WINDOW = 5


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("job-events")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory, demo_video: Path) -> Path:
    return short_clip_path(tmp_path_factory.getbasetemp(), demo_video)


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[ApiServer]:
    with ApiServer(folder / "data", worker="gevent") as api:
        model = save_legacy_model(folder / "window5.pkl", window=WINDOW)
        assert api.upload(model).status_code == 200
        yield api
    assert "Traceback" not in api.log_text()


def frame_id_is(frame_id: int) -> Callable[[dict[str, Any]], bool]:
    return lambda result: bool(result["frame_id"] == frame_id)


@pytest.mark.parametrize("argument", ["all", 7, ["token"]], ids=["text", "number", "list"])
def test_a_bad_watch_jobs_argument_is_an_error_event_and_the_connection_stays(
    server: ApiServer, argument: object
) -> None:
    client = LiveClient(server.url)
    try:
        client.emit("watch_jobs", argument)
        error = client.wait_for("error")[0]
        assert error["code"] == "bad_type" and "watch_jobs" in error["message"]
        assert schema_errors("ServerError", error) == []
        assert schema_errors("WatchJobsMessage", argument) != []
        assert client.sio.connected
        client.emit("watch_jobs")
        assert "jobs" in client.wait_for("jobs")[0]
    finally:
        client.close()


def test_watchers_get_job_events_and_live_sessions_keep_their_results(
    server: ApiServer, clip: Path
) -> None:
    watcher, quitter, live = LiveClient(server.url), LiveClient(server.url), LiveClient(server.url)
    try:
        for client in (watcher, quitter):
            client.emit("watch_jobs")
            client.wait_for("jobs")
        quitter.emit("unwatch_jobs")
        time.sleep(0.2)  # the server handles a connection's events in order
        answer = post_job(server, clip, complexity="lite", analyzers="squat", classify="false")
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["job"]["id"]
        wait_for_status(watcher, job_id, ("running",), timeout=60)

        frames, sent, latencies = pose_frames(2000), 0, []
        while not watcher.received("job") or watcher.received("job")[-1]["job"]["status"] == (
            "running"
        ):
            start = time.perf_counter()
            live.emit("keypoints", frame_message(frames[sent % 2000], frame_id=sent))
            live.wait_for("frame_result", frame_id_is(sent), timeout=10)
            latencies.append(time.perf_counter() - start)
            sent += 1
            time.sleep(1 / 30)
            assert sent < 30 * 120, "the job did not finish in 2 minutes"
        done = wait_for_status(watcher, job_id, ("done", "failed"), timeout=60)
        assert done["status"] == "done", done["error"]

        labelled = [r for r in live.received("frame_result") if r["label"] is not None]
        assert sent > 30 and len(labelled) >= sent - WINDOW
        latencies.sort()
        assert latencies[len(latencies) // 2] < 0.1, f"median {latencies[len(latencies) // 2]}"

        updates = [b["job"] for b in watcher.received("job") if b["job"]["id"] == job_id]
        running = [u for u in updates if u["status"] == "running"]
        percents = [u["progress"]["percent"] for u in running]
        assert percents == sorted(percents) and updates[-1]["progress"]["percent"] == 100
        seconds = max(done["finished_s"] - done["started_s"], 0.25)
        assert len(running) <= 4 * seconds + 2, f"{len(running)} updates in {seconds:.1f} s"
        assert not quitter.received("job"), "an unwatched client got job events"
        for body in watcher.received("job"):
            assert schema_errors("JobUpdate", body) == []
        for body in watcher.received("jobs"):
            assert schema_errors("JobList", body) == []
    finally:
        for client in (watcher, quitter, live):
            client.close()
