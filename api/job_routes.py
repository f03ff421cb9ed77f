"""REST routes of video analysis jobs: upload a video, run a job, follow it, fetch its files.

The work is in ``stream_pose_ml.video_jobs``: the store keeps the videos and the jobs' folders,
the manager runs each job in its own worker process (``api.job_sockets`` polls it and tells
watching clients). Every route follows the model uploads' token rules (``api.auth``); a GET
route also takes ``?token=``, since a ``<video src>`` cannot send a header. The upload is
read chunk by chunk (``api.uploads``) and stored and probed off the event loop
(``api.offload``), so live sessions go on meanwhile.
"""

from __future__ import annotations

import logging
from typing import IO, Any

from flask import Blueprint, Response, current_app, request, send_file
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from api.auth import check_admin
from api.job_sockets import emit_job, emit_job_list
from api.offload import offloader
from api.state import ApiState, get_state
from api.uploads import parse_form, spool_body
from stream_pose_ml.logfmt import kv
from stream_pose_ml.serving import ServingError
from stream_pose_ml.video_jobs import FILES, JobManager, JobSettings, JobStore, analyzer_catalog
from stream_pose_ml.video_jobs.store import VideoSink

logger = logging.getLogger(__name__)

bp = Blueprint("jobs", __name__)

#: The form fields of a job's settings (``JobSettings.from_fields``).
SETTINGS_FIELDS = ("complexity", "num_poses", "subject", "analyzers", "classify")
#: Room for the form's other fields and multipart boundaries beyond the video itself.
FORM_OVERHEAD_BYTES = 1 << 20


def _jobs(state: ApiState) -> tuple[JobManager, JobStore]:
    if state.jobs is None or state.job_store is None:  # create_app always sets both
        raise ServingError("jobs_unavailable", "video analysis jobs are not set up", status=503)
    return state.jobs, state.job_store


@bp.before_request
def authorize() -> None:
    """Every job route: a token (``?token=`` too for GET), or loopback without one."""
    if request.method == "OPTIONS":  # a CORS preflight carries no token
        return
    if request.method == "POST" and request.endpoint == "jobs.create_job":
        # before the token check reads a form field: the video cap, not the model cap
        request.max_content_length = current_app.config["MAX_VIDEO_BYTES"] + FORM_OVERHEAD_BYTES
    try:
        check_admin(allow_query=request.method == "GET")
    except RequestEntityTooLarge:
        raise _too_large() from None


def _too_large() -> ServingError:
    limit = current_app.config["MAX_VIDEO_BYTES"]
    return ServingError(
        "too_large",
        f"the video exceeds {limit} bytes (STREAM_POSE_ML_MAX_VIDEO_BYTES)",
        status=413,
    )


def _active_model(state: ApiState) -> dict[str, Any] | None:
    """The active model as a job's ``model`` (with its file's path), None without one."""
    store = state.service.models
    active = store.active()
    if active is None:
        return None
    record = store.record(active.model_id)
    path = store.root / record.id / record.path
    return {"model_id": record.id, "filename": record.filename, "path": str(path)}


def _settings(fields: MultiDict[str, str] | dict[str, Any]) -> JobSettings:
    return JobSettings.from_fields({k: fields[k] for k in SETTINGS_FIELDS if k in fields})


@bp.post("/jobs")
def create_job() -> tuple[dict[str, Any], int]:
    state = get_state()
    manager, store = _jobs(state)
    max_bytes = current_app.config["MAX_VIDEO_BYTES"]
    if request.is_json:  # a stored video: {"video": "<sha256>", settings...}
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ServingError("bad_form", "the JSON body must be an object", status=400)
        settings = _settings(body)
        video = store.video(str(body.get("video") or ""))
    else:
        try:
            spooled = spool_body(request, offloader(state.async_mode))
        except RequestEntityTooLarge:
            raise _too_large() from None
        req = request._get_current_object()  # type: ignore[attr-defined]  # for the other thread

        sinks: list[VideoSink] = []

        def sink(*_: Any, **__: Any) -> VideoSink:  # a file part: straight to the video folder
            sinks.append(store.video_sink(max_bytes))
            return sinks[-1]

        def parse_and_store() -> tuple[JobSettings, dict[str, Any]]:
            form, files = parse_form(req, spooled, stream_factory=sink)
            settings = _settings(form)  # checked before the video is stored
            upload = files.get("file")
            if upload is not None and upload.filename:
                if isinstance(upload.stream, VideoSink):
                    return settings, store.add_sink(upload.stream, upload.filename)
                return settings, _store_video(store, upload, max_bytes)  # parsed earlier
            if form.get("video"):
                return settings, store.video(form["video"])
            raise ServingError(
                "no_file",
                "send the video as the multipart field 'file', or the sha256 of a stored video "
                "(GET /videos) as the field 'video'",
                status=400,
            )

        try:  # parsing, hashing and probing off the event loop: live sessions go on meanwhile
            settings, video = offloader(state.async_mode)(parse_and_store)
        except RequestEntityTooLarge:
            raise _too_large() from None
        finally:
            if spooled is not None:
                spooled.close()
            for part in sinks:  # parts that were not the video, or a refused upload
                part.discard()
    model = _active_model(state) if settings.classify else None
    job = store.create(video["sha256"], settings, model)
    with state.jobs_lock:
        manager.submit(job["id"])
    logger.info(
        kv(
            "job_created",
            job_id=job["id"],
            video=video["sha256"][:16],
            filename=video.get("filename"),
            model_id=model["model_id"] if model else None,
            client=request.remote_addr,
        )
    )
    emit_job(job)
    return {"job": job}, 202


def _store_video(store: JobStore, upload: FileStorage, max_bytes: int) -> dict[str, Any]:
    stream: IO[bytes] = upload.stream
    return store.add_video(stream, upload.filename or "video", max_bytes)


@bp.get("/jobs")
def list_jobs() -> dict[str, Any]:
    return {"jobs": _jobs(get_state())[1].jobs()}


@bp.get("/jobs/<job_id>")
def get_job(job_id: str) -> dict[str, Any]:
    return {"job": _jobs(get_state())[1].get(job_id)}


@bp.post("/jobs/<job_id>/cancel")
def cancel_job(job_id: str) -> dict[str, Any]:
    state = get_state()
    manager, _ = _jobs(state)
    # inline, not offloaded: the manager's worker processes belong to the event loop's thread
    # (gevent waits for a child cooperatively there), and its lock is the poll task's
    with state.jobs_lock:
        job = manager.cancel(job_id)
    logger.info(kv("job_cancelled", job_id=job_id, client=request.remote_addr))
    emit_job(job)
    return {"job": job}


@bp.delete("/jobs/<job_id>")
def delete_job(job_id: str) -> dict[str, Any]:
    state = get_state()
    manager, store = _jobs(state)
    with state.jobs_lock:
        manager.delete(job_id)
    logger.info(kv("job_deleted", job_id=job_id, client=request.remote_addr))
    emit_job_list(store.jobs())
    return {"deleted": job_id}


@bp.get("/jobs/<job_id>/files/<name>")
def job_file(job_id: str, name: str) -> Response:
    store = _jobs(get_state())[1]
    path = store.file_path(job_id, name)  # 404 unknown_file for another name, or not yet written
    download = request.args.get("download", "") not in ("", "0", "false")
    return send_file(
        path,
        mimetype=FILES[name],
        conditional=True,  # Range requests: a <video> seeks in the MP4
        as_attachment=download,
        download_name=f"{job_id}-{name}",
        max_age=0,
    )


@bp.get("/videos")
def list_videos() -> dict[str, Any]:
    return {"videos": _jobs(get_state())[1].videos()}


@bp.get("/analyzers")
def list_analyzers() -> dict[str, Any]:
    return {"analyzers": analyzer_catalog()}
