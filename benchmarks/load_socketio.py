"""Load benchmark of the live API: N Socket.IO sessions x F frames per second, and its capacity.

Starts the real server (``gunicorn api.wsgi:app``, one worker of the chosen class: gevent,
threading (gthread) or eventlet, on a free loopback port) with an XGBoost bundle on 30-frame
windows (``load_data.build_model``), and/or the transport floor (``floor_server.py``: the same
stack answering every due window without parsing or classifying), or targets running servers
(``--url``). The sessions send the MediaPipe landmarks of the demo video (``load_data``), each
from its own video offset and start phase, in one client shape (``load_shapes``: ``json``,
``batched``, ``binary``, ``batch``), from ``--procs`` client processes (``load_clients``).
Results are matched to due windows by frame id (``load_report``).

    # one run (as before): 20 sessions of the web UI's JSON frames
    .venv/bin/python benchmarks/load_socketio.py --mode json --sessions 20 --duration 30
    # the same load on the API and on the floor
    .venv/bin/python benchmarks/load_socketio.py --mode batched --sessions 50 --target both
    # capacity of the API and the floor (interleaved), then both at twice their capacity
    .venv/bin/python benchmarks/load_socketio.py --mode batched --capacity --overload-factor 2

Prints one table row per run (``load_report.TABLE_HEADER``) and appends every report as a JSON
line to ``--json``.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import multiprocessing as mp
import os
import queue
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from load_capacity import CapacitySearch
from load_clients import ClientPlan, ProcessResult, client_process
from load_data import build_model, demo_landmarks, pose_frames
from load_parity import offline_check
from load_report import (
    P99_LIMIT_MS,
    TABLE_HEADER,
    count_windows,
    failures,
    percentiles,
    rss_slope,
    table_row,
)
from load_servers import (
    WORKERS,
    ProcSampler,
    StallProbe,
    Target,
    bundle_window,
    start_api,
    start_floor,
)
from load_shapes import SHAPES

__all__ = ["build_model", "pose_frames"]  # bench_live_path.py's model and frames
logger = logging.getLogger("load_socketio")
DROPPED = "stream_pose_ml_frames_dropped_total"
CLASSIFIED = "stream_pose_ml_classifications_total"


@functools.lru_cache(maxsize=2)
def video_frames(source: str) -> tuple[np.ndarray, tuple[int, int]]:
    """``(L, 33, 4)`` float32 frames the sessions loop over, and their image size."""
    if source == "synthetic":
        return pose_frames(240), (1280, 720)
    sequence = demo_landmarks()
    assert sequence.image_size is not None
    width, height = sequence.image_size
    return sequence.data.astype(np.float32), (int(width), int(height))


def _sleep_until(wall: float) -> None:
    time.sleep(max(0.0, wall - time.time()))


@dataclass
class LoadRun:
    """What one run observed: the client processes' results and, on the server side, the drop
    and classification counters (before the run, at the measurement's start, at the end), the
    CPU seconds of the measured sending, the CPU/RSS samples and the machine's stalls."""

    processes: list[ProcessResult]
    start: float  # the common start, wall time
    counters: dict[str, float]
    cpu_seconds: float
    samples: list[tuple[float, float, float]]
    machine_lag_ms: list[float]  # StallProbe over the measured sending


def _wait_ready(ready: Any, workers: list[Any], timeout: float) -> None:
    """Wait for every client process's ``ready`` (or fail as soon as one dies)."""
    deadline, waiting = time.monotonic() + timeout, len(workers)
    while waiting:
        try:
            state, detail = ready.get(timeout=1.0)
        except queue.Empty:
            if time.monotonic() > deadline or not all(w.is_alive() for w in workers):
                raise RuntimeError("client processes did not connect their sessions") from None
            continue
        if state == "failed":
            raise RuntimeError(f"a client process failed: {detail}")
        waiting -= 1


def _checks_offline(args: argparse.Namespace, target: Target) -> bool:
    return args.offline_check and target.model is not None


def run_load(args: argparse.Namespace, target: Target, sessions: int) -> LoadRun:
    """Run ``sessions`` sessions against ``target`` from ``args.procs`` client processes."""
    frames, image_size = video_frames(args.landmarks)
    plan = ClientPlan(
        urls=target.urls,
        sessions=sessions,
        fps=args.fps,
        duration=args.duration,
        shape=args.mode,
        batch=args.batch,
        frames=frames,
        image_size=image_size,
        grace=args.grace,
        connect_timeout=args.connect_seconds,
        deflate=args.deflate,
        keep_probabilities=_checks_offline(args, target),
    )
    context = mp.get_context("spawn")
    ready, out = context.Queue(), context.Queue()
    starts, workers = [], []
    for chunk in np.array_split(np.arange(sessions), min(args.procs, sessions)):
        go = context.Queue()
        worker = context.Process(
            target=client_process, args=(plan, chunk.tolist(), ready, go, out), daemon=True
        )
        worker.start()
        starts.append(go)
        workers.append(worker)
    sampler = ProcSampler(target.pids, args.sample_interval)
    try:
        _wait_ready(ready, workers, args.connect_seconds + 120)
        if target.pids:
            sampler.start()
        counters = {"dropped_before": target.metric(DROPPED)}
        start = time.time() + 0.5
        for go in starts:
            go.put((start, args.warmup))
        _sleep_until(start + args.warmup)
        probe = StallProbe()
        probe.start()
        counters["dropped_from"] = target.metric(DROPPED)
        counters["classified_from"] = target.metric(CLASSIFIED)
        cpu_from = sampler.cpu_seconds()
        # sending ends one stride period (the last session's phase) after the duration
        _sleep_until(start + args.duration + (args.window - args.overlap) / args.fps)
        cpu_seconds = sampler.cpu_seconds() - cpu_from
        machine_lag_ms = probe.stop()
        results: list[ProcessResult] = []
        for _ in workers:
            result = out.get(timeout=args.grace + 120)
            if isinstance(result, BaseException):
                raise RuntimeError(f"a client process failed: {result!r}")
            results.append(result)
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.terminate()
        if sampler.is_alive():
            sampler.stop()
    counters["dropped_end"] = target.metric(DROPPED)
    counters["classified_end"] = target.metric(CLASSIFIED)
    return LoadRun(results, start, counters, cpu_seconds, sampler.samples, machine_lag_ms)


def measure(args: argparse.Namespace, target: Target, sessions: int) -> dict[str, Any]:
    """One run of ``sessions`` sessions against ``target``; the report."""
    run = run_load(args, target, sessions)
    results, counters = run.processes, run.counters
    counts = count_windows(results, args.fps)
    samples = [s for s in run.samples if s[0] >= run.start + args.warmup] or run.samples
    strides = {r.stride for p in results for r in p.records if r.connected}
    report: dict[str, Any] = {
        "server": target.kind,
        "worker": target.worker,
        "replicas": len(target.urls),
        "mode": args.mode,
        "batch": args.batch if args.mode in ("binary", "batch") else None,
        "landmarks": args.landmarks,
        "deflate": args.deflate,
        "sessions": sessions,
        "fps": args.fps,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "window": args.window,
        "stride": strides.pop() if len(strides) == 1 else sorted(strides),
        **counts,
        "offered_msgs_per_s": counts["messages_sent"] / args.duration,
        # answers per due window of the measured time, windows the server restarted included
        "answered_share": (counts["windows_answered"] + counts["results_off_rule"])
        / max(1, counts["windows_due"]),
        "windows_dropped_server": counters["dropped_end"] - counters["dropped_from"],
        "run_windows_dropped_server": counters["dropped_end"] - counters["dropped_before"],
        "windows_classified_server": counters["classified_end"] - counters["classified_from"],
        "server_cpu_pct": percentiles([s[1] for s in samples]) if samples else None,
        # server CPU of the measured sending, per due window of that time
        "server_cpu_ms_per_window": 1000.0 * run.cpu_seconds / counts["windows_due"]
        if target.pids and counts["windows_due"]
        else None,
        "server_rss_mib": {
            "first": samples[0][2] if samples else None,
            "last": samples[-1][2] if samples else None,
            "max": max(s[2] for s in samples) if samples else None,
            "slope_mib_per_min": rss_slope(samples),
        },
        # the load generator's own CPU while sending, % of one core: all processes, the busiest
        "client_cpu_pct": 100.0 * sum(r.cpu_seconds / r.wall_seconds for r in results),
        "client_cpu_max_pct": 100.0 * max(r.cpu_seconds / r.wall_seconds for r in results),
        "measured_s": args.duration - args.warmup,
        "load_avg_1min_end": os.getloadavg()[0],
        # stalls: a 2 ms sleep in an idle process (the machine), a 5 ms timer in the clients
        "machine_stall_ms": percentiles(run.machine_lag_ms),
        "client_loop_lag_ms": percentiles(np.concatenate([r.loop_lag_ms for r in results])),
    }
    if _checks_offline(args, target):
        assert target.model is not None
        report["offline_check"] = offline_check(
            results, target.model, *video_frames(args.landmarks)
        )
        logger.warning(
            "%s x%d: offline check: %d windows, %d differ (largest difference %s)",
            target.kind,
            sessions,
            report["offline_check"]["windows_checked"],
            report["offline_check"]["windows_differing"],
            report["offline_check"]["max_abs_difference"],
        )
    report["failures"] = failures(report, args.p99_limit)
    report["passed"] = not report["failures"]
    if args.keep_samples:
        report["samples"] = [(round(t, 2), round(c, 1), round(r, 1)) for t, c, r in run.samples]
    return report


def emit_report(args: argparse.Namespace, report: dict[str, Any]) -> None:
    print(table_row(report), flush=True)
    if args.json:
        with open(args.json, "a") as out:
            out.write(json.dumps(report) + "\n")


def start_targets(args: argparse.Namespace, folder: Path, most_sessions: int) -> list[Target]:
    """The servers ``--target`` names (or ``--url``'s), started here and ready."""
    if args.url:
        return [Target("external", "external", list(args.url), list(args.server_pid or []))]
    kinds = ["api", "floor"] if args.target == "both" else [args.target]
    common: dict[str, Any] = {
        "replicas": args.replicas,
        "processes": args.processes,
        "max_sessions": most_sessions + 50,
        "window": args.window,
    }
    targets: list[Target] = []
    try:
        for kind in kinds:
            if kind == "api":
                target = start_api(
                    args.worker,
                    folder / "api",
                    worker_threads=args.worker_threads,
                    overlap=args.overlap,
                    model=args.model,
                    **common,
                )
            else:
                stride = args.window - args.overlap
                target = start_floor(args.worker, folder / "floor", stride=stride, **common)
            targets.append(target)
    except BaseException:
        for target in targets:
            target.stop()
        raise
    return targets


def _capacity_step(args: argparse.Namespace, target: Target, count: int) -> bool:
    """Run ``count`` sessions against ``target``; a failed run is repeated ``--retry-fails``
    times (a stall of the shared machine fails a run of any size) and passes if a repeat does."""
    for attempt in range(1 + args.retry_fails):
        target.settle()
        try:
            report = measure(args, target, count)
        except RuntimeError as exc:  # e.g. sessions that could not connect: a failed step
            logger.warning("%s %s x%d: fail (%s)", target.kind, args.mode, count, exc)
            continue
        report["capacity_step"] = True
        report["attempt"] = attempt + 1
        emit_report(args, report)
        verdict = "pass" if report["passed"] else "fail (" + ", ".join(report["failures"]) + ")"
        logger.warning("%s %s x%d: %s", target.kind, args.mode, count, verdict)
        if report["passed"]:
            return True
    return False


def run_capacity(args: argparse.Namespace, targets: list[Target]) -> list[dict[str, Any]]:
    """Search every target's capacity, one step of each in turn; then the overload runs."""
    searches = {
        t.kind: CapacitySearch(
            args.start_sessions, args.max_sessions, args.resolution, args.confirm
        )
        for t in targets
    }
    pending = list(targets)
    while pending:
        for target in list(pending):
            search = searches[target.kind]
            count = search.next_count()
            if count is None:
                pending.remove(target)
                continue
            passed = _capacity_step(args, target, count)
            search.record(count, passed)
    summaries = []
    for target in targets:
        search = searches[target.kind]
        summary: dict[str, Any] = {
            "kind": "capacity",
            "server": target.kind,
            "worker": target.worker,
            "mode": args.mode,
            "batch": args.batch if args.mode in ("binary", "batch") else None,
            "fps": args.fps,
            "p99_limit_ms": args.p99_limit,
            "capacity_sessions": search.capacity,
            "steps": search.steps,
        }
        if args.overload_factor and search.capacity:
            count = max(search.capacity + 1, round(args.overload_factor * search.capacity))
            target.settle()
            report = measure(args, target, count)
            report["overload_factor"] = args.overload_factor
            emit_report(args, report)
            summary["overload"] = {
                "sessions": count,
                "answered_share": report["answered_share"],
                "latency_p99_ms": report["latency_ms"]["p99"],
                "server_p99_ms": report["server_ms"]["p99"],
                "outside_server_p99_ms": report["outside_server_ms"]["p99"],
                "rss_slope_mib_per_min": report["server_rss_mib"]["slope_mib_per_min"],
                "windows_dropped_server": report["windows_dropped_server"],
                "frames_shed_reported": report["frames_shed_reported"],
            }
        summaries.append(summary)
    return summaries


def capacity_lines(summaries: list[dict[str, Any]]) -> list[str]:
    """The capacity summary as text lines."""
    by_kind = {s["server"]: s for s in summaries}
    lines = [
        f"capacity ({summaries[0]['mode']}, {summaries[0]['fps']:g} fps, p99 < "
        f"{summaries[0]['p99_limit_ms']:g} ms, nothing missing or dropped): "
        + ", ".join(f"{s['server']} {s['capacity_sessions']} sessions" for s in summaries)
    ]
    if "api" in by_kind and "floor" in by_kind and by_kind["floor"]["capacity_sessions"]:
        ratio = by_kind["api"]["capacity_sessions"] / by_kind["floor"]["capacity_sessions"]
        lines.append(f"API / floor capacity: {ratio:.2f}")
    for s in summaries:
        if "overload" in s:
            o = s["overload"]
            p99 = "-" if o["latency_p99_ms"] is None else f"{o['latency_p99_ms']:.1f}"
            split = o.get("server_p99_ms"), o.get("outside_server_p99_ms")
            within = "-" if None in split else f"{split[0]:.1f} / {split[1]:.1f}"
            slope = o["rss_slope_mib_per_min"]
            lines.append(
                f"overload {s['server']} {o['sessions']} sessions: "
                f"{100 * o['answered_share']:.1f} % of due windows answered, p99 {p99} ms "
                f"(in the server / outside: {within} ms), "
                f"RSS {'-' if slope is None else f'{slope:.1f}'} MiB/min"
            )
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add = parser.add_argument
    add("--worker", choices=sorted(WORKERS), default="gevent")
    add("--url", nargs="+", help="target running server(s) instead (replicas)")
    add("--replicas", type=int, default=1, help="servers to start (API: >1 with a redis-server)")
    add("--processes", type=int, default=1, help="gunicorn workers per server (-w), both targets")
    add("--server-pid", type=int, nargs="*", help="pids to sample with --url")
    add("--target", choices=("api", "floor", "both"), help="default: api; both with --capacity")
    add("--mode", "--shape", choices=SHAPES, default="json", help="client shape (load_shapes)")
    add("--batch", type=int, default=5, help="frames per binary/batch message")
    add("--landmarks", choices=("demo", "synthetic"), default="demo", help="what sessions send")
    add("--sessions", type=int, default=20)
    add("--fps", type=float, default=30.0, help="frames per second per session")
    add("--duration", type=float, help="seconds of sending per run (30; capacity steps 20)")
    add("--warmup", type=float, default=5.0, help="seconds of each run not measured")
    add("--grace", type=float, default=3.0, help="seconds to wait for the last results")
    add("--no-deflate", dest="deflate", action="store_false", help="no permessage-deflate")
    add("--window", type=int, default=30, help="model window (frames)")
    add("--overlap", type=int, default=25, help="window overlap (stride = window - overlap)")
    add("--model", type=Path, help="serve this bundle zip (its window) instead of the XGBoost one")
    add("--worker-threads", type=int, default=2, help="the API's classifier pool")
    add("--procs", type=int, default=2, help="client processes")
    add("--connect-seconds", type=float, default=60.0, help="longest wait for the connections")
    add("--sample-interval", type=float, default=1.0, help="seconds per CPU/RSS sample")
    add("--capacity", action="store_true", help="search the most sessions within the criteria")
    add("--p99-limit", type=float, default=P99_LIMIT_MS, help="capacity: p99 limit (ms)")
    add("--start-sessions", type=int, default=10, help="capacity: first step")
    add("--max-sessions", type=int, default=400, help="capacity: most sessions tried")
    add("--resolution", type=float, default=0.1, help="capacity: relative precision")
    add("--confirm", type=int, default=1, help="capacity: re-runs of the result")
    add(
        "--no-offline-check",
        dest="offline_check",
        action="store_false",
        help="do not compare the API's results with the offline path's",
    )
    add("--retry-fails", type=int, default=1, help="capacity: repeats of a failed step")
    add("--overload-factor", type=float, help="capacity: then run at this x capacity")
    add("--keep-data", action="store_true", help="keep the data folders and server logs")
    add("--keep-samples", action="store_true", help="CPU/RSS series in --json")
    add("--json", type=Path, help="append every report as a JSON line here")
    args = parser.parse_args(argv)
    if args.overload_factor and not args.capacity:
        parser.error("--overload-factor needs --capacity")
    if args.url and args.target not in (None, "api"):
        parser.error("--url targets running servers; --target floor|both starts servers")
    if args.model:  # the floor and the clients' timing follow the bundle's window
        args.window, stride = bundle_window(args.model)
        args.overlap = args.window - stride
    args.target = args.target or ("both" if args.capacity and not args.url else "api")
    args.duration = args.duration or (20.0 + args.warmup if args.capacity else 30.0)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    video_frames(args.landmarks)  # extract (once) before any server starts
    folder = Path(tempfile.mkdtemp(prefix="spm-load-"))
    most = args.sessions
    if args.capacity:
        most = round(args.max_sessions * max(1.0, args.overload_factor or 1.0))
    targets = start_targets(args, folder, most)
    try:
        print(TABLE_HEADER, flush=True)
        if args.capacity:
            summaries = run_capacity(args, targets)
            for line in capacity_lines(summaries):
                print(line)
            if args.json:
                with open(args.json, "a") as out:
                    out.writelines(json.dumps(s) + "\n" for s in summaries)
        else:
            for target in targets:
                target.settle()
                report = measure(args, target, args.sessions)
                emit_report(args, report)
                if report["failures"]:
                    logger.warning("%s: %s", target.kind, ", ".join(report["failures"]))
    finally:
        for target in targets:
            target.stop()
        if args.keep_data:
            logger.warning("data and server logs kept in %s", folder)
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
