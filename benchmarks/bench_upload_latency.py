"""Live results while a model is uploaded: do streaming sessions keep their latency?

A real API (gunicorn, one gevent process, the benchmark's XGBoost bundle active) serves
``--sessions`` Socket.IO sessions sending one JSON frame every 1/30 s. After a quiet period
(the baseline), a large legacy pickle (``--pickle-mib`` of training data in it) is uploaded, then
a zip bomb (one entry of ``--bomb-mib`` zeros, under the archive limit the run sets, so it is
extracted in full and then refused as not a model). Each result's latency runs from its frame's
send to its arrival; results are grouped by the period their frame was sent in. Reported per
period: the share of frames answered (a frozen server reads them late and drops them as stale),
p50, p99 and max latency of the answered ones, the p99 ratio to the baseline, and the longest
time a session went without a result (a frozen server shows a gap as long as the freeze).

    .venv/bin/python benchmarks/bench_upload_latency.py --json upload.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import socketio

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from load_data import pose_frames  # noqa: E402
from load_servers import start_api  # noqa: E402

from api import fast_json  # noqa: E402

logger = logging.getLogger("bench_upload_latency")
FPS = 30.0


@dataclass
class Stream:
    """What the sessions did: per session, each frame's send time and each result's arrival."""

    sent: list[dict[int, float]] = field(default_factory=list)
    arrived: list[dict[int, float]] = field(default_factory=list)
    errors: int = 0


async def _session(url: str, index: int, stream: Stream, stop: threading.Event) -> None:
    sent: dict[int, float] = {}
    arrived: dict[int, float] = {}
    stream.sent.append(sent)
    stream.arrived.append(arrived)
    sio = socketio.AsyncClient(reconnection=False, json=fast_json)

    @sio.on("frame_result")
    async def on_result(body: dict[str, Any]) -> None:
        now = time.perf_counter()
        for result in body.get("results") or [body]:
            if result.get("label") is not None:
                arrived.setdefault(int(result["frame_id"]), now)

    @sio.on("error")
    async def on_error(body: dict[str, Any]) -> None:
        stream.errors += 1

    await sio.connect(url, transports=["websocket"], wait_timeout=30)
    await sio.call("configure", {"image_size": {"width": 1280, "height": 720}}, timeout=30)
    frames = pose_frames(240, seed=index)
    start = time.perf_counter() + index / FPS / 4  # spread phases
    frame_id = 0
    while not stop.is_set():
        delay = start + frame_id / FPS - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        data = frames[frame_id % len(frames)]
        message = {
            "frame_id": frame_id,
            "timestamp": frame_id * 1000.0 / FPS,
            "landmarks": [
                {"x": float(p[0]), "y": float(p[1]), "z": float(p[2]), "visibility": float(p[3])}
                for p in data
            ],
        }
        sent[frame_id] = time.perf_counter()
        await sio.emit("keypoints", message)
        frame_id += 1
    await asyncio.sleep(1.0)  # the last results
    await sio.disconnect()


def run_sessions(
    url: str, sessions: int, stream: Stream, stop: threading.Event
) -> threading.Thread:
    async def main() -> None:
        await asyncio.gather(*(_session(url, i, stream, stop) for i in range(sessions)))

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    return thread


def large_pickle(path: Path, mib: int) -> Path:
    """A legacy pickle of a real classifier with ``mib`` MiB of training rows beside it."""
    from stream_pose_ml.learning.synthetic import fit_window_model

    model, _ = fit_window_model(2, 0)
    rows = np.random.default_rng(0).random((mib * 1024**2 // 8 // 64, 64))
    path.write_bytes(pickle.dumps({"classifier": model, "X_train_rows": rows}, protocol=5))
    return path


def zip_bomb(path: Path, mib: int) -> Path:
    """One entry of ``mib`` MiB of zeros (about 1 KiB per MiB compressed)."""
    chunk = bytes(1024**2)
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("model/weights.bin", "w", force_zip64=True) as entry,
    ):
        for _ in range(mib):
            entry.write(chunk)
    return path


#: The upload, run in a process of its own: requests builds the whole multipart body in memory,
#: which holds the GIL for about 0.5 s for 145 MiB; in this process that stopped the sessions'
#: sends and read as a server freeze (frames sent late in a burst and dropped as stale).
_UPLOADER = """
import sys, time, requests
url, path, name = sys.argv[1:]
with open(path, "rb") as handle:
    start = time.perf_counter()
    answer = requests.post(url, files={"file": (name, handle)}, timeout=300)
print(start, time.perf_counter(), answer.status_code)
"""


def upload(url: str, path: Path) -> tuple[float, float, int]:
    """``POST /set_model`` from another process: (start, end, HTTP status); ``time.perf_counter``
    is the system-wide monotonic clock on Linux, so its times compare with this process's."""
    done = subprocess.run(
        [sys.executable, "-c", _UPLOADER, f"{url}/set_model", str(path), path.name],
        capture_output=True,
        text=True,
        check=True,
        timeout=330,
    )
    start, end, status = done.stdout.split()
    return float(start), float(end), int(status)


def latencies(stream: Stream, start: float, end: float) -> tuple[np.ndarray, float, int]:
    """Latencies (ms) of the frames sent in [start, end) that were answered, the longest time
    (ms) a session went without a result in that period (its edges count: a session answered
    never in it went the whole period), and the frames sent in it but never answered."""
    values: list[float] = []
    gap = 0.0
    lost = 0
    for sent, arrived in zip(stream.sent, stream.arrived, strict=True):
        ids = [i for i, t in sent.items() if start <= t < end]
        values += [(arrived[i] - sent[i]) * 1000.0 for i in ids if i in arrived]
        lost += sum(1 for i in ids if i not in arrived)
        times = [start, *sorted(t for t in arrived.values() if start <= t < end), end]
        gap = max(gap, float(np.diff(times).max()) * 1000.0)
    return np.asarray(values), gap, lost


def summary(values: np.ndarray, gap: float, lost: int) -> dict[str, Any]:
    if not len(values):
        return {"results": 0, "lost": lost, "answered_share": 0.0, "longest_gap_ms": gap}
    p50, p99 = np.percentile(values, [50, 99])
    return {
        "results": len(values),
        "lost": lost,
        "answered_share": round(len(values) / (len(values) + lost), 3),
        "p50_ms": round(float(p50), 1),
        "p99_ms": round(float(p99), 1),
        "max_ms": round(float(values.max()), 1),
        "longest_gap_ms": round(gap, 1),
    }


def measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    env = {
        "STREAM_POSE_ML_MAX_UPLOAD_BYTES": str((args.pickle_mib + 64) * 1024**2),
        "STREAM_POSE_ML_ARCHIVE_MAX_BYTES": str((args.bomb_mib + 64) * 1024**2),
    }
    target = start_api("gevent", folder, env=env, window=args.window, overlap=args.window - 1)
    stream, stop = Stream(), threading.Event()
    try:
        big = large_pickle(folder / "large.pickle", args.pickle_mib)
        bomb = zip_bomb(folder / "bomb.zip", args.bomb_mib)
        thread = run_sessions(target.urls[0], args.sessions, stream, stop)
        time.sleep(args.warmup)
        base_start = time.perf_counter()
        time.sleep(args.baseline)
        base_end = time.perf_counter()
        periods: dict[str, Any] = {"baseline": (base_start, base_end, None)}
        for name, path in (("pickle", big), ("zip_bomb", bomb)):
            periods[name] = upload(target.urls[0], path)
            time.sleep(args.pause)
        stop.set()
        thread.join(timeout=30)
    finally:
        target.stop()
    report: dict[str, Any] = {
        "sessions": args.sessions,
        "pickle_mib": args.pickle_mib,
        "bomb_mib": args.bomb_mib,
        "errors": stream.errors,
    }
    for name, (start, end, status) in periods.items():
        report[name] = {
            **summary(*latencies(stream, start, end)),
            "seconds": round(end - start, 2),
            **({"status": status} if status is not None else {}),
        }
    base = report["baseline"].get("p99_ms")
    for name in ("pickle", "zip_bomb"):
        p99 = report[name].get("p99_ms")
        report[name]["p99_ratio"] = round(p99 / base, 2) if p99 and base else None
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add = parser.add_argument
    add("--sessions", type=int, default=4)
    add("--window", type=int, default=30, help="model window (stride 1: every frame classified)")
    add("--pickle-mib", type=int, default=145, help="size of the large pickle's training rows")
    add("--bomb-mib", type=int, default=1500, help="what the zip bomb unpacks to")
    add("--warmup", type=float, default=2.0)
    add("--baseline", type=float, default=5.0, help="seconds streamed before any upload")
    add("--pause", type=float, default=2.0, help="seconds between and after the uploads")
    add("--json", type=Path, help="append the report as a JSON line here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    folder = Path(tempfile.mkdtemp(prefix="spm-upload-"))
    try:
        report = measure(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return print_report(report, args.json)


def print_report(report: dict[str, Any], json_path: str | None) -> dict[str, Any]:
    """Print ``report``, and append it as one JSON line to ``json_path`` if given."""
    print(json.dumps(report, indent=2))
    if json_path:
        with open(json_path, "a") as out:
            out.write(json.dumps(report) + "\n")
    return report


if __name__ == "__main__":
    main()
