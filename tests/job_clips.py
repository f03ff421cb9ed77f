"""Test helpers for video analysis jobs: a short clip of the real demo video, the job routes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import av
import requests
from api_server import ApiServer, LiveClient


def cut_clip(source: Path, target: Path, seconds: float, width: int = 640) -> Path:
    """The first ``seconds`` of ``source`` re-encoded (H.264, ``width`` wide) into ``target``."""
    with av.open(str(source)) as src, av.open(str(target), "w") as dst:
        video = src.streams.video[0]
        rate = video.average_rate or 30
        out = dst.add_stream("libx264", rate=rate)
        height = round(video.codec_context.height * width / video.codec_context.width / 2) * 2
        out.width, out.height, out.pix_fmt = width, height, "yuv420p"
        for frame in src.decode(video):
            if frame.time is not None and frame.time >= seconds:
                break
            for packet in out.encode(frame.reformat(width, height, "yuv420p")):
                dst.mux(packet)
        for packet in out.encode():
            dst.mux(packet)
    return target


def post_job(
    server: ApiServer,
    path: Path,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> requests.Response:
    """``POST /jobs`` with ``path`` as the multipart ``file`` and ``fields`` as settings."""
    with open(path, "rb") as handle:
        return requests.post(
            f"{server.url}/jobs",
            files={"file": (path.name, handle)},
            data={k: str(v) for k, v in fields.items()},
            headers=headers or {},
            timeout=120,
        )


def wait_for_status(
    client: LiveClient, job_id: str, statuses: tuple[str, ...], timeout: float = 180.0
) -> dict[str, Any]:
    """The first ``job`` event of ``job_id`` with one of ``statuses``."""
    found = client.wait_for(
        "job",
        lambda body: body["job"]["id"] == job_id and body["job"]["status"] in statuses,
        timeout=timeout,
    )
    return found[0]["job"]


def worker_pids(job_id: str) -> list[int]:
    """The live processes whose command line names ``job_id`` (its worker)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # exited meanwhile
            continue
        if b"video_jobs.worker" in command and job_id.encode() in command and state != "Z":
            pids.append(int(entry.name))
    return pids


def wait_until_gone(job_id: str, timeout: float = 10.0) -> list[int]:
    """Wait until no worker of ``job_id`` runs; returns those still running."""
    deadline = time.monotonic() + timeout
    while (pids := worker_pids(job_id)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return pids


__all__ = ["cut_clip", "post_job", "wait_for_status", "wait_until_gone", "worker_pids"]
