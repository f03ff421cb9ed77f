"""`JobStore`: uploaded videos (stored once per sha256) and job folders on disk.

Layout under ``data_dir``: ``videos/<sha256><ext>`` with ``videos/<sha256>.json`` (the video
dict), and ``jobs/<id>/`` holding ``job.json`` (the job dict), ``task.json`` (the worker's
input: paths and settings), the worker's ``progress.json``/``worker.log`` and the output
``FILES``. Every name joined to a path is generated here or checked against a pattern.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from stream_pose_ml.errors import ServingError
from stream_pose_ml.video_jobs.settings import JobSettings

logger = logging.getLogger(__name__)

FILES = {
    "annotated.mp4": "video/mp4",
    "keypoints.json": "application/json",
    "results.jsonl": "application/x-ndjson",
    "events.csv": "text/csv",
    "timeline.json": "application/json",
}
JOB_ID = re.compile(r"^j_[0-9a-f]{12}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
EXTENSION = re.compile(r"^\.[a-z0-9]{1,5}$")
CHUNK = 1 << 20


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` so that a reader sees the old file or the new one, never half."""
    # unique per writer: threads of one process (the change token) write the same file too
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(json.dumps(obj, allow_nan=False), encoding="utf-8")
    os.replace(tmp, path)


def probe(path: Path) -> dict[str, Any]:
    """Width, height, fps, frames and duration of a video, by content (PyAV): the container
    must open and its first video frame decode; else ``ServingError("bad_video", ..., 415)``."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ServingError("bad_video", "the file has no video stream", 415)
            stream = container.streams.video[0]
            first = next(container.decode(stream), None)
            if first is None:
                raise ServingError("bad_video", "no frame of the video could be decoded", 415)
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else 0.0
            duration = (
                float(stream.duration * stream.time_base)
                if stream.duration and stream.time_base
                else (container.duration or 0) / 1_000_000
            )
            frames = int(stream.frames) or round(duration * fps)
            return {
                "width": int(first.width),
                "height": int(first.height),
                "fps": round(fps, 3),
                "frames": frames,
                "duration_s": round(duration, 3),
            }
    except ServingError:
        raise
    except (av.FFmpegError, StopIteration, ValueError, ZeroDivisionError) as exc:
        raise ServingError(
            "bad_video", f"not a readable video (no decodable video stream: {exc})", 415
        ) from None


class VideoSink(io.FileIO):
    """An upload written straight into the video folder (a ``.upload-`` file), hashed and
    counted as it arrives; past ``max_bytes`` the rest is dropped and ``over`` is set. A
    Werkzeug ``stream_factory`` can return it, so a multipart upload is written only once."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".upload-")
        os.close(fd)
        super().__init__(name, "w+b")
        self.path = Path(name)
        self.max_bytes = max_bytes
        self.size = 0
        self.over = False
        self.digest = hashlib.sha256()

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.size += len(view)
        if self.size > self.max_bytes:
            self.over = True
        if self.over:
            return len(view)
        self.digest.update(view)
        done = 0
        while done < len(view):  # a raw file may write part of it
            done += super().write(view[done:]) or 0
        return done

    def discard(self) -> None:
        """Close, and remove the file unless it was moved into place."""
        self.close()
        self.path.unlink(missing_ok=True)


class JobStore:
    """Videos and jobs under ``data_dir`` (see the module docstring)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.jobs_dir = self.data_dir / "jobs"
        self.videos_dir = self.data_dir / "videos"
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self.videos_dir.mkdir(parents=True, exist_ok=True)

    @property
    def changes_path(self) -> Path:
        """A token rewritten on every job change by any process (one read tells if any changed)."""
        return self.jobs_dir / ".changes"

    def _changed(self) -> None:
        write_json_atomic(self.changes_path, secrets.token_hex(8))

    def changes(self) -> str | None:
        """The current change token (None before the first change)."""
        try:
            return str(json.loads(self.changes_path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    # -- videos ----------------------------------------------------------------------------
    def video_sink(self, max_bytes: int) -> VideoSink:
        """A new file in the video folder for an upload to be written into (`add_sink`)."""
        return VideoSink(self.videos_dir, max_bytes)

    def add_video(self, stream: IO[bytes], filename: str, max_bytes: int) -> dict[str, Any]:
        """Store an upload once per content; 413 ``too_large`` past ``max_bytes``, 415
        ``bad_video`` when it is not a video."""
        sink = self.video_sink(max_bytes)
        try:
            while (chunk := stream.read(CHUNK)) and not sink.over:
                sink.write(chunk)
        except BaseException:
            sink.discard()
            raise
        return self.add_sink(sink, filename)

    def add_sink(self, sink: VideoSink, filename: str) -> dict[str, Any]:
        """Store the video written into ``sink`` (the errors of `add_video`); the sink's file
        is moved into place or removed."""
        try:
            sink.close()
            if sink.over:
                raise ServingError(
                    "too_large", f"the video is larger than {sink.max_bytes} bytes", 413
                )
            if sink.size == 0:
                raise ServingError("bad_video", "the file is empty", 415)
            sha = sink.digest.hexdigest()
            if (self.videos_dir / f"{sha}.json").is_file():
                return self.video(sha)
            facts = probe(sink.path)
            suffix = Path(filename).suffix.lower()
            ext = suffix if EXTENSION.match(suffix) else ".mp4"
            video = {
                "sha256": sha,
                "filename": Path(filename).name[:200] or f"video{ext}",
                "bytes": sink.size,
                **facts,
                "created_s": time.time(),
                "ext": ext,
            }
            os.replace(sink.path, self.videos_dir / f"{sha}{ext}")
            write_json_atomic(self.videos_dir / f"{sha}.json", video)
            logger.info("stored video %s (%d bytes)", sha[:12], sink.size)
            return self._public_video(video)
        finally:
            sink.discard()

    @staticmethod
    def _public_video(video: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in video.items() if k != "ext"}

    def _video_record(self, sha256: str) -> dict[str, Any]:
        path = self.videos_dir / f"{sha256}.json"
        if not SHA256.match(str(sha256)) or not path.is_file():
            raise ServingError("unknown_video", f"no stored video {str(sha256)[:64]!r}", 404)
        record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return record

    def video(self, sha256: str) -> dict[str, Any]:
        return self._public_video(self._video_record(sha256))

    def video_path(self, sha256: str) -> Path:
        record = self._video_record(sha256)
        return self.videos_dir / f"{record['sha256']}{record['ext']}"

    def videos(self) -> list[dict[str, Any]]:
        items = []
        for path in self.videos_dir.glob("*.json"):
            if SHA256.match(path.stem):
                items.append(self.video(path.stem))
        return sorted(items, key=lambda v: v["created_s"], reverse=True)

    # -- jobs ------------------------------------------------------------------------------
    def job_dir(self, job_id: str) -> Path:
        path = self.jobs_dir / str(job_id)
        if not JOB_ID.match(str(job_id)) or not (path / "job.json").is_file():
            raise ServingError("unknown_job", f"no job {str(job_id)[:40]!r}", 404)
        return path

    def create(
        self, video_sha256: str, settings: JobSettings, model: dict[str, Any] | None
    ) -> dict[str, Any]:
        """A new job, status "queued"; ``model`` ``{"model_id", "filename", "path"}`` or None."""
        video = self.video(video_sha256)
        job_id = f"j_{secrets.token_hex(6)}"
        folder = self.jobs_dir / job_id
        folder.mkdir()
        use_model = model if settings.classify else None
        job = {
            "id": job_id,
            "status": "queued",
            "created_s": time.time(),
            "started_s": None,
            "finished_s": None,
            "video": video,
            "settings": settings.to_dict(),
            "model": None
            if use_model is None
            else {"model_id": use_model["model_id"], "filename": use_model["filename"]},
            "progress": {
                "frames_done": 0,
                "frames_total": video["frames"],
                "percent": 0.0,
                "fps": 0.0,
                "eta_s": None,
            },
            "error": None,
            "files": [],
            "summary": None,
        }
        task = {
            "video_path": str(self.video_path(video_sha256)),
            "video": video,
            "settings": settings.to_dict(),
            "model_path": None if use_model is None else str(use_model["path"]),
        }
        write_json_atomic(folder / "task.json", task)
        write_json_atomic(folder / "job.json", job)
        self._changed()
        return job

    def get(self, job_id: str) -> dict[str, Any]:
        folder = self.job_dir(job_id)
        job: dict[str, Any] = json.loads((folder / "job.json").read_text(encoding="utf-8"))
        job["files"] = [
            {"name": name, "bytes": (folder / name).stat().st_size, "content_type": kind}
            for name, kind in FILES.items()
            if (folder / name).is_file()
        ]
        return job

    def update(self, job_id: str, **fields: Any) -> dict[str, Any]:
        """Change fields of a job's dict; returns the new dict."""
        job = self.get(job_id)
        job.update(fields)
        write_json_atomic(self.job_dir(job_id) / "job.json", job)
        self._changed()
        return job

    def jobs(self) -> list[dict[str, Any]]:
        items = []
        for path in self.jobs_dir.iterdir():
            if JOB_ID.match(path.name) and (path / "job.json").is_file():
                try:
                    items.append(self.get(path.name))
                except (OSError, ValueError, ServingError):  # being deleted right now
                    continue
        return sorted(items, key=lambda j: j["created_s"], reverse=True)

    def delete(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id))
        self._changed()

    def file_path(self, job_id: str, name: str) -> Path:
        """The path of output ``name`` (only the names in `FILES`); 404 ``unknown_file``."""
        folder = self.job_dir(job_id)
        if name not in FILES or not (folder / name).is_file():
            raise ServingError("unknown_file", f"job {job_id} has no file {str(name)[:80]!r}", 404)
        return folder / name


__all__ = ["FILES", "JobStore", "VideoSink", "probe", "write_json_atomic"]


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))
