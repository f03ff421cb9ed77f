"""Load benchmark of the live API: N Socket.IO sessions x F frames per second for T seconds.

Starts the real server (``gunicorn api.wsgi:app`` on a free loopback port, the chosen
worker: gevent, threading (gthread) or eventlet) with an XGBoost model bundle taking 30-frame
windows (trained on synthetic poses with the real feature transform), or targets a running
server (``--url``). Clients are real ``python-socketio`` clients (``AsyncClient``, websocket
transport), spread over several client processes, each pacing its sessions on a fixed schedule.

Modes: ``json`` (one frame per ``keypoints`` message, the original StreamPoseML's form),
``batch`` (``--batch`` frames per JSON message) and ``binary`` (``--batch`` frames per message,
``encode_frames``).

Reports frames sent, results received, windows classified and dropped, end-to-end latency
(client send of the message holding a window's newest frame -> its ``frame_result`` received,
matched by ``frame_id``) p50/p95/p99, the server's CPU and RSS sampled over time (/proc) and the
RSS slope after warm-up. Example::

    .venv/bin/python benchmarks/load_socketio.py --worker gevent --mode binary --batch 5 \\
        --sessions 100 --fps 30 --duration 60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from load_servers import (
    WORKERS,
    ProcSampler,
    free_port,
    metric,
    start_redis,
    start_server,
    stop_server,
    worker_pids,
)

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

logger = logging.getLogger("load_socketio")


# -- the model ------------------------------------------------------------------------------------
def build_model(folder: Path, window: int) -> Path:
    """An XGBoost bundle (``.zip``) for ``window``-frame windows, trained on synthetic poses."""
    import xgboost

    from stream_pose_ml.features import FeatureSpec, is_feature_column
    from stream_pose_ml.learning import save_bundle
    from stream_pose_ml.learning.synthetic import CLASS_LABELS, VALUE_MAP, synthetic_dataset

    spec = FeatureSpec(window=window, decimal_precision=4)
    table, _ = synthetic_dataset(n_videos=8, frames_per_video=70, spec=spec)
    table = table.dropna(subset=["weight_transfer_type"])
    columns = [c for c in table.columns if is_feature_column(c)]
    y = table["weight_transfer_type"].map(VALUE_MAP["weight_transfer_type"]).to_numpy()
    model = xgboost.XGBClassifier(n_estimators=100, max_depth=4, n_jobs=1)
    model.fit(table[columns], y)
    return save_bundle(
        folder / "xgb_bundle.zip", model, columns, feature_spec=spec, class_labels=CLASS_LABELS
    )


def pose_frames(n: int, seed: int = 0) -> np.ndarray:
    """``(n, 33, 4)`` synthetic frames of a standing person (normalized x, y)."""
    from stream_pose_ml.learning.synthetic import synthetic_sequence

    classes = np.where(np.arange(n) % 40 < 20, 0, 1)
    return synthetic_sequence(classes, np.random.default_rng(seed)).data.astype(np.float32)


# -- the server -----------------------------------------------------------------------------------
@dataclass
class ClientStats:
    """What one client process measured."""

    frames_sent: int = 0
    messages_sent: int = 0
    results: int = 0  # frame_result events
    progress: int = 0  # frame_result events of a filling window (label null)
    windows: int = 0  # classified windows received (a batch result may hold several)
    errors: dict[str, int] = field(default_factory=dict)
    dropped: int = 0  # the sessions' last reported drop counters, summed
    connect_failures: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    send_lag_ms: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0  # this client process's own CPU time, start to end


async def run_sessions(
    urls: list[str],
    first: int,
    n: int,
    total: int,
    fps: float,
    duration: float,
    mode: str,
    batch: int,
    start_at: float,
    warmup: float,
    image_size: tuple[int, int],
) -> ClientStats:
    """Connect ``n`` sessions (global indices ``first..``; session ``i`` to ``urls[i % len]``)
    and send from wall time ``start_at``."""
    import socketio

    from stream_pose_ml.keypoints.landmarks import CHANNELS
    from stream_pose_ml.serving import encode_frames

    stats = ClientStats()
    frames = pose_frames(240, seed=first)
    json_frames = [
        [dict(zip(CHANNELS, map(float, point), strict=True)) for point in frame] for frame in frames
    ]
    per_message = 1 if mode == "json" else batch
    period = per_message / fps
    measure_from = start_at + warmup
    clients: list[Any] = []

    async def one(index: int) -> None:
        sio = socketio.AsyncClient(reconnection=False)
        sent: dict[int, float] = {}
        last_dropped = [0]

        @sio.on("frame_result")
        async def on_result(body: dict[str, Any]) -> None:
            now = time.perf_counter()
            stats.results += 1
            last_dropped[0] = max(last_dropped[0], int(body.get("dropped") or 0))
            if body.get("label") is None:
                stats.progress += 1
                return
            stats.windows += len(body.get("results") or [body])
            sent_at = sent.pop(int(body["frame_id"]), None)
            if sent_at is not None and time.time() >= measure_from:
                stats.latencies_ms.append((now - sent_at) * 1000.0)

        @sio.on("error")
        async def on_error(body: dict[str, Any]) -> None:
            code = str(body.get("code"))
            stats.errors[code] = stats.errors.get(code, 0) + 1

        try:
            await sio.connect(urls[index % len(urls)], transports=["websocket"], wait_timeout=30)
        except Exception as exc:  # counted; the run goes on with the others
            logger.warning("session %d could not connect: %s", index, exc)
            stats.connect_failures += 1
            return
        clients.append(sio)
        offset = (index / total) * period  # spread the sessions over one period
        await asyncio.sleep(max(0.0, start_at - time.time() + offset))
        t0 = time.perf_counter()
        k = 0
        frame_id = 0
        while True:
            due = t0 + k * period
            if due - t0 > duration:
                break
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            stats.send_lag_ms.append(max(0.0, time.perf_counter() - due) * 1000.0)
            ids = list(range(frame_id, frame_id + per_message))
            picks = [i % len(frames) for i in ids]
            if mode == "json":
                message: Any = {
                    "landmarks": json_frames[picks[0]],
                    "frame_id": ids[0],
                    "image_size": {"width": image_size[0], "height": image_size[1]},
                }
            elif mode == "batch":
                message = {
                    "frames": [
                        {"landmarks": json_frames[p], "frame_id": i}
                        for p, i in zip(picks, ids, strict=True)
                    ],
                    "image_size": {"width": image_size[0], "height": image_size[1]},
                }
            else:
                message = encode_frames(frames[picks], frame_ids=ids, image_size=image_size)
            now = time.perf_counter()
            for i in ids:
                sent[i] = now
            if len(sent) > 4 * fps:  # results that never came (dropped windows)
                for stale in sorted(sent)[: len(sent) - 2 * int(fps)]:
                    del sent[stale]
            await sio.emit("keypoints", message)
            stats.messages_sent += 1
            stats.frames_sent += per_message
            frame_id += per_message
            k += 1
        await asyncio.sleep(2.0)  # the last results
        stats.dropped += last_dropped[0]

    await asyncio.gather(*(one(first + i) for i in range(n)))
    for sio in clients:
        with contextlib.suppress(Exception):  # closing anyway
            await sio.disconnect()
    return stats


def client_process(args: tuple[Any, ...], out: Any) -> None:
    logging.basicConfig(level=logging.WARNING)
    started = time.process_time()
    stats = asyncio.run(run_sessions(*args))
    stats.cpu_seconds = time.process_time() - started
    out.put(asdict(stats))


# -- the run --------------------------------------------------------------------------------------
def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    arr = np.asarray(values)
    p50, p95, p99 = np.percentile(arr, [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "max": float(arr.max())}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the server(s) (unless ``--url``), upload the model, run the load; the report.

    With ``--replicas N`` N servers share one data folder and a ``redis-server`` started here
    (the horizontal scaling of docs/api.md); session ``i`` connects to replica ``i % N``.
    """
    import requests

    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = list(args.url or [])
    tmp: Path | None = None
    try:
        if not urls:
            tmp = Path(tempfile.mkdtemp(prefix="spm-load-"))
            bundle = build_model(tmp, args.window)
            data = tmp / "data"
            data.mkdir()
            extra = {"STREAM_POSE_ML_WORKER_THREADS": str(args.worker_threads)}
            if args.replicas > 1:
                redis_port = free_port()
                processes.append(start_redis(redis_port, tmp))
                extra["STREAM_POSE_ML_REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
            for _ in range(args.replicas):
                process, url = start_server(
                    args.worker, data, args.sessions + 20, args.sessions + 50, extra
                )
                processes.append(process)
                urls.append(url)
            with open(bundle, "rb") as handle:
                response = requests.post(
                    f"{urls[0]}/set_model",
                    files={"file": (bundle.name, handle)},
                    data={"frame_window_size": args.window, "frame_window_overlap": args.overlap},
                    timeout=120,
                )
            response.raise_for_status()
            time.sleep(1.5)  # the other replicas see the new active model (refresh: 1 s)
            pids = [p for process in processes[-args.replicas :] for p in worker_pids(process.pid)]
        else:
            pids = args.server_pid or []
        return measure(args, urls, pids)
    finally:
        for process in processes:
            stop_server(process)
        if tmp is not None and not args.keep_data:
            shutil.rmtree(tmp, ignore_errors=True)


def measure(args: argparse.Namespace, urls: list[str], pids: list[int]) -> dict[str, Any]:
    """Run the client processes against ``urls``, sampling ``pids``; the report."""
    stride = args.window - args.overlap
    sampler = ProcSampler(pids, args.sample_interval)
    dropped_before = sum(metric(u, "stream_pose_ml_frames_dropped_total") for u in urls)
    classified_before = sum(metric(u, "stream_pose_ml_classifications_total") for u in urls)
    start_at = time.time() + args.connect_seconds
    per_proc = np.array_split(np.arange(args.sessions), args.procs)
    queue: Any = mp.get_context("spawn").Queue()
    workers = []
    for chunk in per_proc:
        if len(chunk) == 0:
            continue
        params = (
            urls,
            int(chunk[0]),
            len(chunk),
            args.sessions,
            args.fps,
            args.duration,
            args.mode,
            args.batch,
            start_at,
            args.warmup,
            (1280, 720),
        )
        proc = mp.get_context("spawn").Process(target=client_process, args=(params, queue))
        proc.start()
        workers.append(proc)
    if pids:
        sampler.start()
    results: list[ClientStats] = [
        ClientStats(**queue.get(timeout=args.connect_seconds + args.duration + 120))
        for _ in workers
    ]
    for proc in workers:
        proc.join(timeout=30)
    if pids:
        sampler.stop()
    dropped = sum(metric(u, "stream_pose_ml_frames_dropped_total") for u in urls)
    dropped -= dropped_before
    classified = sum(metric(u, "stream_pose_ml_classifications_total") for u in urls)
    classified -= classified_before

    lat = [v for s in results for v in s.latencies_ms]
    lag = [v for s in results for v in s.send_lag_ms]
    frames_sent = sum(s.frames_sent for s in results)
    # after the warm-up of the sending (connecting sessions load models, fill buffers)
    samples = [s for s in sampler.samples if s[0] >= start_at + args.warmup] or sampler.samples
    rss_slope = None
    if len(samples) >= 3:
        t = np.array([s[0] for s in samples]) / 60.0
        rss_slope = float(np.polyfit(t - t[0], [s[2] for s in samples], 1)[0])
    errors: dict[str, int] = {}
    for s in results:
        for code, count in s.errors.items():
            errors[code] = errors.get(code, 0) + count
    frames_per_session = frames_sent // max(1, args.sessions)
    due_per_session = max(0, (frames_per_session - args.window) // stride + 1)
    report = {
        "worker": args.worker if not args.url else "external",
        "replicas": len(urls),
        "mode": args.mode,
        "batch": 1 if args.mode == "json" else args.batch,
        "sessions": args.sessions,
        "connect_failures": sum(s.connect_failures for s in results),
        "fps": args.fps,
        "duration_s": args.duration,
        "window": args.window,
        "stride": stride,
        "frames_sent": frames_sent,
        "messages_sent": sum(s.messages_sent for s in results),
        "offered_msgs_per_s": sum(s.messages_sent for s in results) / args.duration,
        "results_received": sum(s.results for s in results),
        "windows_due": due_per_session * args.sessions,
        "windows_received": sum(s.windows for s in results),
        "windows_classified_server": classified,
        "windows_dropped_server": dropped,
        "errors": errors,
        "latency_ms": percentiles(lat),
        "client_send_lag_ms": percentiles(lag),
        "server_cpu_pct": percentiles([s[1] for s in samples]) if samples else None,
        # the load generator's own CPU, % of one core, over connecting, warm-up and sending
        "client_cpu_pct": 100.0
        * sum(s.cpu_seconds for s in results)
        / (args.connect_seconds + args.duration),
        "server_rss_mib": {
            "first": samples[0][2] if samples else None,
            "last": samples[-1][2] if samples else None,
            "max": max(s[2] for s in samples) if samples else None,
            "slope_mib_per_min": rss_slope,
        },
        "load_avg_1min_end": os.getloadavg()[0],
    }
    if args.keep_samples:
        report["samples"] = [(round(t, 2), round(c, 1), round(r, 1)) for t, c, r in samples]
    return report


def summary(report: dict[str, Any]) -> str:
    lat, cpu, rss = report["latency_ms"], report["server_cpu_pct"] or {}, report["server_rss_mib"]

    def f(v: float | None, digits: int = 1) -> str:
        return "-" if v is None else f"{v:.{digits}f}"

    return (
        f"| {report['worker']}{' x' + str(report['replicas']) if report['replicas'] > 1 else ''} "
        f"| {report['mode']} x{report['batch']} | {report['sessions']} | "
        f"{report['fps']:g} | {report['duration_s']:g} | {report['frames_sent']} | "
        f"{report['windows_due']} / {report['windows_received']} | "
        f"{int(report['windows_dropped_server'])} | {f(lat['p50'])} / {f(lat['p95'])} / "
        f"{f(lat['p99'])} | {f(cpu.get('p50'), 0)} | {f(report['client_cpu_pct'], 0)} | "
        f"{f(rss['first'])} -> {f(rss['last'])} ({f(rss['slope_mib_per_min'], 2)}/min) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", choices=sorted(WORKERS), default="gevent")
    parser.add_argument("--url", nargs="+", help="target running server(s) instead (replicas)")
    parser.add_argument(
        "--replicas", type=int, default=1, help="servers to start (>1: with a redis-server)"
    )
    parser.add_argument("--server-pid", type=int, nargs="*", help="pids to sample with --url")
    parser.add_argument("--mode", choices=("json", "batch", "binary"), default="json")
    parser.add_argument("--batch", type=int, default=5, help="frames per batch/binary message")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--fps", type=float, default=30.0, help="frames per second per session")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of sending")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds not measured")
    parser.add_argument("--window", type=int, default=30, help="model window (frames)")
    parser.add_argument("--overlap", type=int, default=25, help="window overlap (stride = w - o)")
    parser.add_argument("--worker-threads", type=int, default=2, help="server classifier pool")
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--connect-seconds", type=float, default=15.0, help="time to connect")
    parser.add_argument("--sample-interval", type=float, default=1.0, help="seconds per sample")
    parser.add_argument("--keep-data", action="store_true", help="keep the data and server log")
    parser.add_argument("--keep-samples", action="store_true", help="CPU/RSS series in --json")
    parser.add_argument("--json", type=Path, help="append the report as a JSON line here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    report = run(args)
    print(json.dumps(report, indent=1))
    print(summary(report))
    if args.json:
        with open(args.json, "a") as out:
            out.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
