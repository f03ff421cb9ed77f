"""Test helpers for video analysis jobs: short clips of the real demo video (re-encoded with
PyAV), the example model, the job routes and the job worker processes."""

from __future__ import annotations

import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import requests
from api_server import ApiServer, LiveClient


def cut_clip(source: Path, target: Path, seconds: float = 3.0, width: int = 640) -> Path:
    """The first ``seconds`` of ``source`` as an H.264 MP4 ``width`` pixels wide (even height)."""
    with av.open(str(source)) as container, av.open(str(target), "w") as out:
        stream = container.streams.video[0]
        rate = Fraction(stream.average_rate or 30).limit_denominator(1001)
        height = round(stream.height * width / stream.width / 2) * 2
        encoder = out.add_stream("libx264", rate=rate)
        encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
        encoder.options = {"preset": "ultrafast"}
        for n, frame in enumerate(container.decode(stream)):
            if n >= round(seconds * float(rate)):
                break
            image = frame.reformat(width=width, height=height, format="yuv420p")
            image.pts = n
            image.time_base = 1 / rate
            for packet in encoder.encode(image):
                out.mux(packet)
        for packet in encoder.encode():
            out.mux(packet)
    return target


def short_clip_path(base: Path, demo_video: Path) -> Path:
    """The 3 s clip under pytest's base temp folder, cut once per session."""
    target = base / "job_clip.mp4"
    if not target.is_file():
        cut_clip(demo_video, base / "job_clip.partial.mp4").replace(target)
    return target


def example_model_path(repo: Path) -> Path:
    """data/example_model/arms_raised.zip, built with scripts/build_example_model.py if missing."""
    path = repo / "data" / "example_model" / "arms_raised.zip"
    if not path.is_file():
        subprocess.run(
            [sys.executable, "scripts/build_example_model.py", "--quiet"], cwd=repo, check=True
        )
    return path


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


__all__ = [
    "cut_clip",
    "example_model_path",
    "post_job",
    "short_clip_path",
    "wait_for_status",
    "wait_until_gone",
    "worker_pids",
]
