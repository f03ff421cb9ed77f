"""Video analysis jobs: the demo video from upload to result, and live sessions beside jobs.

Three measurements on one machine:

1. **Floor**: the bare library, MediaPipe's pose landmarker (``PoseEstimator``) over the decoded
   frames of the video, in this process: frames per second.
2. **One job alone**: a real API (gunicorn, one gevent process, the benchmark's XGBoost bundle
   active) with no session; ``POST /jobs`` with the video, then ``GET /jobs/<id>`` until done:
   seconds from the upload's start to the result, and the job's frames per second as a ratio
   to the floor (decoding, tracking, analyzers, classifier and the annotated H.264 video on top
   of pose).
3. **Jobs beside live sessions**: for each ``--max-jobs`` value k, a server allowing k jobs at
   once serves ``--sessions`` Socket.IO sessions sending one JSON frame every 1/30 s; after a
   baseline period, k jobs are submitted together. Reported: the sessions' result latency
   (p50, p99, answered share, longest gap) in the baseline and while the jobs run, the p99 ratio
   to the baseline, the jobs' wall time, and this process's CPU (the load generator's).

    .venv/bin/python benchmarks/bench_jobs.py --json jobs.jsonl
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench_upload_latency import (  # noqa: E402
    Stream,
    latencies,
    print_report,
    run_sessions,
    summary,
)
from load_servers import start_api  # noqa: E402

logger = logging.getLogger("bench_jobs")


def floor_fps(video: Path, complexity: str) -> float:
    """The bare landmarker's frames per second over the video's frames (decoded first)."""
    import av

    from stream_pose_ml.extraction.pose_estimator import PoseEstimator

    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 30)
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    with PoseEstimator(complexity=complexity, running_mode="video") as estimator:
        start = time.perf_counter()
        for i, rgb in enumerate(frames):
            estimator.detect(rgb, timestamp_ms=int(i * 1000 / fps))
        seconds = time.perf_counter() - start
    return len(frames) / seconds


def submit(url: str, video: Path, settings: dict[str, str]) -> str:
    """``POST /jobs`` with the video: the job's id."""
    with open(video, "rb") as handle:
        answer = requests.post(
            f"{url}/jobs", files={"file": (video.name, handle)}, data=settings, timeout=300
        )
    answer.raise_for_status()
    return str(answer.json()["job"]["id"])


def wait_done(url: str, job_ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    """Poll the jobs until none is queued or running: each job's dict and when it ended."""
    ended: dict[str, dict[str, Any]] = {}
    deadline = time.perf_counter() + timeout
    while len(ended) < len(job_ids) and time.perf_counter() < deadline:
        for job_id in job_ids:
            if job_id in ended:
                continue
            job = requests.get(f"{url}/jobs/{job_id}", timeout=30).json()["job"]
            if job["status"] not in ("queued", "running"):
                ended[job_id] = {**job, "ended_perf": time.perf_counter()}
        time.sleep(0.25)
    if len(ended) < len(job_ids):
        raise TimeoutError(f"jobs not done after {timeout:.0f} s")
    return ended


def job_alone(args: argparse.Namespace, folder: Path, settings: dict[str, str]) -> dict[str, Any]:
    target = start_api("gevent", folder / "alone", window=args.window, overlap=args.window - 1)
    try:
        url = target.urls[0]
        start = time.perf_counter()
        job_id = submit(url, args.video, settings)
        job = wait_done(url, [job_id], args.timeout)[job_id]
    finally:
        target.stop()
    seconds = job["ended_perf"] - start
    frames = job["video"]["frames"]
    return {
        "status": job["status"],
        "frames": frames,
        "upload_to_result_s": round(seconds, 2),
        "fps": round(frames / seconds, 2),
    }


def beside_sessions(
    args: argparse.Namespace, folder: Path, settings: dict[str, str], jobs: int
) -> dict[str, Any]:
    env = {"STREAM_POSE_ML_MAX_JOBS": str(jobs)}
    target = start_api(
        "gevent", folder / f"jobs{jobs}", env=env, window=args.window, overlap=args.window - 1
    )
    stream, stop = Stream(), threading.Event()
    try:
        url = target.urls[0]
        cpu0, wall0 = time.process_time(), time.perf_counter()
        thread = run_sessions(url, args.sessions, stream, stop)
        time.sleep(args.warmup)
        base = (time.perf_counter(), time.perf_counter() + args.baseline)
        time.sleep(args.baseline)
        start = time.perf_counter()
        ids = [submit(url, args.video, settings) for _ in range(jobs)]
        ended = wait_done(url, ids, args.timeout)
        end = max(job["ended_perf"] for job in ended.values())
        stop.set()
        thread.join(timeout=30)
        cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    finally:
        target.stop()
    report: dict[str, Any] = {
        "max_jobs": jobs,
        "sessions": args.sessions,
        "errors": stream.errors,
        "statuses": sorted(job["status"] for job in ended.values()),
        "jobs_wall_s": round(end - start, 2),
        "load_generator_cpu": round(cpu, 3),
        "baseline": summary(*latencies(stream, *base)),
        "during_jobs": summary(*latencies(stream, start, end)),
    }
    b99, j99 = report["baseline"].get("p99_ms"), report["during_jobs"].get("p99_ms")
    report["p99_ratio"] = round(j99 / b99, 2) if b99 and j99 else None
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add = parser.add_argument
    add("--video", type=Path, help="default: the demo video")
    add("--complexity", default="full", choices=("lite", "full", "heavy"))
    add("--analyzers", default="squat,falls,gait")
    add("--sessions", type=int, default=4)
    add("--max-jobs", type=int, nargs="+", default=[1, 2], help="jobs at once (one run each)")
    add("--window", type=int, default=30, help="live model window (stride 1)")
    add("--warmup", type=float, default=3.0)
    add("--baseline", type=float, default=10.0, help="seconds streamed before the jobs")
    add("--timeout", type=float, default=1200.0, help="longest wait for the jobs")
    add("--json", type=Path, help="append the report as a JSON line here")
    args = parser.parse_args(argv)
    if args.video is None:
        from stream_pose_ml.demo_data import demo_video_path

        args.video = demo_video_path()
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = {"complexity": args.complexity, "analyzers": args.analyzers, "classify": "true"}
    folder = Path(tempfile.mkdtemp(prefix="spm-jobs-"))
    try:
        floor = floor_fps(args.video, args.complexity)
        alone = job_alone(args, folder, settings)
        alone["ratio_to_floor"] = round(alone["fps"] / floor, 3)
        report = {
            "video": args.video.name,
            "complexity": args.complexity,
            "analyzers": args.analyzers,
            "floor_fps": round(floor, 2),
            "alone": alone,
            "beside_sessions": [beside_sessions(args, folder, settings, k) for k in args.max_jobs],
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return print_report(report, args.json)


if __name__ == "__main__":
    main()
