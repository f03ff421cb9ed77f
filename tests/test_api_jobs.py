"""Video analysis jobs through the REST routes of the real server: a real clip of the demo video
analyzed by a real worker process, its files downloaded, refused uploads, cancel, delete, the
token and cross-site rules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from api_server import ApiServer, LiveClient
from job_clips import post_job, short_clip_path, wait_for_status, wait_until_gone, worker_pids

pytestmark = pytest.mark.slow

UI = "http://localhost:3000"
TOKEN = "job-token-123"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jobs")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory, demo_video: Path) -> Path:
    """The first 3 s of the demo video (90 frames, 640x360)."""
    return short_clip_path(tmp_path_factory.getbasetemp(), demo_video)


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[ApiServer]:
    with ApiServer(folder / "data", {"STREAM_POSE_ML_CORS_ORIGINS": UI}) as api:
        yield api
    assert "Traceback" not in api.log_text()


@pytest.fixture
def watcher(server: ApiServer) -> Iterator[LiveClient]:
    client = LiveClient(server.url)
    client.emit("watch_jobs")
    client.wait_for("jobs")
    yield client
    client.close()


def test_a_job_runs_to_done_and_its_files_download(
    server: ApiServer, watcher: LiveClient, clip: Path
) -> None:
    answer = post_job(server, clip, complexity="lite", analyzers="squat", classify="false")
    assert answer.status_code == 202, answer.text
    job = answer.json()["job"]
    assert job["status"] == "queued"
    assert job["video"]["frames"] == 90 and job["video"]["width"] == 640
    assert job["settings"]["analyzers"] == ["squat"]

    done = wait_for_status(watcher, job["id"], ("done", "failed"))
    assert done["status"] == "done", done["error"]
    assert done["progress"]["percent"] == 100
    updates = [b["job"] for b in watcher.received("job") if b["job"]["id"] == job["id"]]
    assert [u["status"] for u in updates][:2] == ["queued", "running"]
    names = {f["name"] for f in done["files"]}
    assert names == {
        "annotated.mp4",
        "keypoints.json",
        "results.jsonl",
        "events.csv",
        "timeline.json",
    }

    base = f"{server.url}/jobs/{job['id']}/files"
    for entry in done["files"]:
        got = requests.get(f"{base}/{entry['name']}", timeout=10)
        assert got.status_code == 200, got.text
        assert got.headers["Content-Type"].startswith(entry["content_type"])
        assert len(got.content) == entry["bytes"] > 0
    assert requests.get(f"{base}/timeline.json", timeout=10).json()["frames"] == 90

    ranged = requests.get(f"{base}/annotated.mp4", headers={"Range": "bytes=0-99"}, timeout=10)
    assert ranged.status_code == 206
    assert len(ranged.content) == 100
    assert ranged.headers["Content-Range"].startswith("bytes 0-99/")
    attachment = requests.get(f"{base}/events.csv?download=1", timeout=10)
    assert attachment.headers["Content-Disposition"].startswith("attachment")

    listed = server.get("/jobs").json()["jobs"]
    assert listed[0]["id"] == job["id"] and listed[0]["status"] == "done"
    assert server.get(f"/jobs/{job['id']}").json()["job"]["status"] == "done"
    videos = server.get("/videos").json()["videos"]
    assert job["video"]["sha256"] in {v["sha256"] for v in videos}
    unknown = server.get(f"/jobs/{job['id']}/files/job.json")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_file"


def test_a_stored_video_runs_again_without_an_upload(server: ApiServer, clip: Path) -> None:
    first = post_job(server, clip, complexity="lite", classify="false").json()["job"]
    again = requests.post(
        f"{server.url}/jobs",
        data={"video": first["video"]["sha256"], "complexity": "lite", "classify": "false"},
        timeout=10,
    )
    assert again.status_code == 202, again.text
    assert again.json()["job"]["video"] == first["video"]
    for job in (first, again.json()["job"]):
        requests.delete(f"{server.url}/jobs/{job['id']}", timeout=20)


def test_text_renamed_mp4_is_refused_with_415(server: ApiServer, folder: Path) -> None:
    fake = folder / "notes.mp4"
    fake.write_text("these are notes, not a video\n" * 100)
    before = server.get("/videos").json()["videos"]
    answer = post_job(server, fake)
    assert answer.status_code == 415, answer.text
    assert answer.json()["error"]["code"] == "bad_video"
    assert server.get("/videos").json()["videos"] == before
    assert not list((folder / "data" / "videos").glob(".upload-*"))  # written once, then gone


def test_other_file_parts_leave_nothing(server: ApiServer, folder: Path, clip: Path) -> None:
    with open(clip, "rb") as video:
        answer = requests.post(
            f"{server.url}/jobs",
            files={"notes": ("notes.txt", b"x" * 50_000), "file": (clip.name, video)},
            data={"complexity": "lite"},
            timeout=60,
        )
    assert answer.status_code == 202, answer.text
    stored = folder / "data" / "videos"
    assert not list(stored.glob(".upload-*"))  # the extra part's file was removed
    sha = answer.json()["job"]["video"]["sha256"]
    assert (stored / f"{sha}.mp4").read_bytes() == clip.read_bytes()  # the upload, intact
    requests.post(f"{server.url}/jobs/{answer.json()['job']['id']}/cancel", timeout=20)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"analyzers": "squat,juggling"}, "unknown_analyzer"),
        ({"complexity": "extreme"}, "bad_form"),
    ],
)
def test_bad_settings_are_refused_before_the_video_is_stored(
    server: ApiServer, clip: Path, fields: dict[str, Any], code: str
) -> None:
    jobs_before = server.get("/jobs").json()["jobs"]
    answer = post_job(server, clip, **fields)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == code
    assert server.get("/jobs").json()["jobs"] == jobs_before


def test_a_post_without_a_video_is_refused(server: ApiServer) -> None:
    answer = requests.post(f"{server.url}/jobs", data={"complexity": "lite"}, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "no_file"
    unknown = requests.post(f"{server.url}/jobs", data={"video": "ab" * 32}, timeout=10)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_video"


def test_cancel_stops_the_worker_and_delete_removes_the_job(
    server: ApiServer, watcher: LiveClient, clip: Path
) -> None:
    job = post_job(server, clip, complexity="heavy", classify="false").json()["job"]
    wait_for_status(watcher, job["id"], ("running",), timeout=60)
    assert worker_pids(job["id"]), "no worker process of the running job"
    answer = requests.post(f"{server.url}/jobs/{job['id']}/cancel", timeout=20)
    assert answer.status_code == 200, answer.text
    assert answer.json()["job"]["status"] == "cancelled"
    assert wait_until_gone(job["id"]) == []
    assert server.get(f"/jobs/{job['id']}").json()["job"]["status"] == "cancelled"
    assert wait_for_status(watcher, job["id"], ("cancelled",))["status"] == "cancelled"

    deleted = requests.delete(f"{server.url}/jobs/{job['id']}", timeout=20)
    assert deleted.status_code == 200 and deleted.json() == {"deleted": job["id"]}
    gone = server.get(f"/jobs/{job['id']}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "unknown_job"
    assert job["id"] not in {j["id"] for j in server.get("/jobs").json()["jobs"]}
    assert server.get(f"/jobs/{job['id']}/files/annotated.mp4").status_code == 404
    # the video stays for other jobs
    assert job["video"]["sha256"] in {v["sha256"] for v in server.get("/videos").json()["videos"]}


def test_a_cross_site_page_is_refused(server: ApiServer, clip: Path) -> None:
    evil = {"Origin": "http://evil.example"}
    jobs_before = server.get("/jobs").json()["jobs"]
    answer = post_job(server, clip, headers=evil)
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "cross_origin"
    listed = requests.get(f"{server.url}/jobs", headers={"Referer": "http://evil.example/"})
    assert listed.status_code == 403
    assert server.get("/jobs").json()["jobs"] == jobs_before
    ui = requests.get(f"{server.url}/jobs", headers={"Origin": UI}, timeout=10)
    assert ui.status_code == 200
    assert ui.headers["Access-Control-Allow-Origin"] == UI


def test_the_analyzers_are_listed(server: ApiServer) -> None:
    names = {a["name"] for a in server.get("/analyzers").json()["analyzers"]}
    assert {"squat", "falls", "gait"} <= names


def test_a_video_over_the_cap_is_refused_with_413(folder: Path, clip: Path) -> None:
    cap = clip.stat().st_size // 2
    big = folder / "big.mp4"
    big.write_bytes(clip.read_bytes() * 10)  # past the cap and its form allowance
    settings = {"STREAM_POSE_ML_MAX_VIDEO_BYTES": str(cap)}
    with ApiServer(folder / "capped", settings) as capped:
        for path in (clip, big):
            answer = post_job(capped, path)
            assert answer.status_code == 413, answer.text
            assert answer.json()["error"]["code"] == "too_large"
        assert capped.get("/videos").json()["videos"] == []
        assert capped.get("/jobs").json()["jobs"] == []
        assert not list((folder / "capped" / "videos").glob(".upload-*"))
    assert "Traceback" not in capped.log_text()


def test_with_a_token_the_routes_need_it_and_files_take_it_in_the_url(
    folder: Path, clip: Path
) -> None:
    with ApiServer(folder / "token", {"STREAM_POSE_ML_API_TOKEN": TOKEN}) as api:
        assert api.get("/jobs").status_code == 401
        assert post_job(api, clip).status_code == 401
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        answer = post_job(api, clip, headers=bearer, complexity="lite", classify="false")
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["job"]["id"]
        refused = requests.post(f"{api.url}/jobs/{job_id}/cancel?token={TOKEN}", timeout=10)
        assert refused.status_code == 401  # ?token= is for GET routes only

        watcher = LiveClient(api.url)
        try:
            watcher.emit("watch_jobs")
            assert watcher.wait_for("error")[0]["code"] == "unauthorized"
            watcher.emit("watch_jobs", {"token": TOKEN})
            watcher.wait_for("jobs")
            done = wait_for_status(watcher, job_id, ("done", "failed"))
        finally:
            watcher.close()
        assert done["status"] == "done", done["error"]
        url = f"{api.url}/jobs/{job_id}/files/annotated.mp4"
        assert requests.get(url, timeout=10).status_code == 401
        assert requests.get(f"{url}?token=wrong", timeout=10).status_code == 401
        video = requests.get(f"{url}?token={TOKEN}", headers={"Range": "bytes=0-9"}, timeout=10)
        assert video.status_code == 206 and len(video.content) == 10
        assert requests.get(f"{api.url}/jobs?token={TOKEN}", timeout=10).status_code == 200
    assert "Traceback" not in api.log_text()


def test_a_stopped_server_kills_its_workers_and_fails_their_jobs_at_restart(
    folder: Path, clip: Path
) -> None:
    api = ApiServer(folder / "restart").start()
    try:
        job = post_job(api, clip, complexity="heavy", classify="false").json()["job"]
        watcher = LiveClient(api.url)
        watcher.emit("watch_jobs")
        wait_for_status(watcher, job["id"], ("running",), timeout=60)
        watcher.close()
        assert worker_pids(job["id"])
        api.stop()
        assert wait_until_gone(job["id"]) == [], "the worker outlived its server"
        api.start()
        failed = api.get(f"/jobs/{job['id']}").json()["job"]
        assert failed["status"] == "failed"
        assert "restarted" in failed["error"]["message"]
    finally:
        api.stop()
    assert "Traceback" not in api.log_text()
