"""Counting a load run: results matched to due windows by frame id, the report and its table row.

For each session, the due windows are those its sent frames complete (``features.windows``, the
server's rule, on ``frames_sent`` and the ``configured`` window size and stride); frame ids are
session frame indices, so a window's id is its last frame. A window is *measured* when the
message holding its last frame left after the warm-up. Its latency runs from that send to the
arrival of the ``frame_result`` naming its id; its age from the frame's capture time (the
session's schedule) to that arrival, so it also counts the time a shape held the frame. A due
window without a result by the end of the grace period is *missing*; the server's own drop
counters (``dropped`` in results, ``frames_dropped`` in its session status, the
``stream_pose_ml_frames_dropped_total`` metric) say how many of those it dropped on purpose
(newest wins), and ``unaccounted`` is what is missing beyond them. A server that reads a
session's frames late sheds them (docs/api.md, "Overload"; they count in the drop counters) and
keeps its windows on the rule; a result naming a window off the rule is kept and counted as
``off_rule``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from load_clients import ProcessResult, SessionRecord

from stream_pose_ml.features.windows import window_ends

#: The capacity criteria (docs/benchmarks.md, "Live API load").
P99_LIMIT_MS = 50.0


@dataclass(frozen=True, eq=False)
class WindowTable:
    """One session's windows: its due windows and any other window the server answered, by
    ``frame_id`` (ascending); ``due`` marks the due ones; the ``sent`` and ``captured`` times of
    their last frame, the ``arrival`` of their result (NaN: none), the server's own time for it
    (``server_ms``: from reading the message to emitting the result) and whether they are
    ``measured``. ``unmatched`` counts results naming a frame the session never sent."""

    frame_id: np.ndarray
    due: np.ndarray
    sent: np.ndarray
    captured: np.ndarray
    arrival: np.ndarray
    server_ms: np.ndarray
    measured: np.ndarray
    unmatched: int

    @property
    def answered(self) -> np.ndarray:
        return ~np.isnan(self.arrival)


def window_table(record: SessionRecord, fps: float, measure_from: float) -> WindowTable:
    """Match a session's results to its windows by frame id.

    A result for a frame that is not on the rule (the server restarted the session's window,
    e.g. after shedding frames) is a window too: it is kept, with ``due`` False.
    """
    ends = window_ends(0, record.frames_sent, record.window_size, record.stride)
    answered = np.array(sorted(record.answered), dtype=np.int64)
    sent_ids = (answered >= 0) & (answered < record.frames_sent)
    ids = np.union1d(ends, answered[sent_ids])
    last = np.asarray(record.message_last, dtype=np.int64)
    sent = np.asarray(record.message_sent, dtype=np.float64)[np.searchsorted(last, ids)]
    arrival = np.array([record.answered.get(int(i), np.nan) for i in ids], dtype=np.float64)
    return WindowTable(
        frame_id=ids,
        due=np.isin(ids, ends),
        sent=sent,
        captured=record.start + ids / fps,
        arrival=arrival,
        server_ms=np.array([record.server_ms.get(int(i), np.nan) for i in ids]),
        measured=sent >= measure_from,
        unmatched=int((~sent_ids).sum()),
    )


def percentiles(values: np.ndarray | list[float]) -> dict[str, float | None]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    p50, p95, p99 = np.percentile(arr, [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "max": float(arr.max())}


def count_windows(processes: list[ProcessResult], fps: float) -> dict[str, Any]:
    """Due, answered and missing windows (measured and whole run), results off the window rule,
    latencies of every answered window, the server's drops and warnings."""
    latency: list[np.ndarray] = []
    age: list[np.ndarray] = []
    in_server: list[np.ndarray] = []
    totals = dict.fromkeys(
        (
            "windows_due",
            "windows_answered",
            "run_windows_due",
            "run_windows_answered",
            "results_off_rule",
            "results_unmatched",
            "results_duplicated",
            "results_mismatched",
            "progress_results",
            "frames_sent",
            "messages_sent",
            "connect_failures",
            "session_failures",
            "dropped_sessions",
            "classified_sessions",
            "sessions_without_status",
            "frames_shed_reported",
        ),
        0,
    )
    errors: dict[str, int] = {}
    warnings: dict[str, int] = {}
    lag: list[float] = []
    for process in processes:
        for record in process.records:
            if not record.connected:
                totals["connect_failures"] += 1
                continue
            table = window_table(record, fps, process.measure_from)
            answered, measured, due = table.answered, table.measured, table.due
            totals["windows_due"] += int((measured & due).sum())
            totals["windows_answered"] += int((measured & due & answered).sum())
            totals["run_windows_due"] += int(due.sum())
            totals["run_windows_answered"] += int((due & answered).sum())
            totals["results_off_rule"] += int((measured & ~due).sum())
            totals["results_unmatched"] += table.unmatched
            totals["results_duplicated"] += record.duplicates
            totals["results_mismatched"] += record.mismatched
            totals["progress_results"] += record.progress
            totals["frames_sent"] += record.frames_sent
            totals["messages_sent"] += len(record.message_sent)
            totals["session_failures"] += record.failure is not None
            if record.status is None:
                totals["sessions_without_status"] += 1
                totals["dropped_sessions"] += record.dropped_reported
            else:
                totals["dropped_sessions"] += int(record.status.get("frames_dropped") or 0)
                totals["classified_sessions"] += int(record.status.get("classifications") or 0)
            ok = measured & answered
            latency.append((table.arrival[ok] - table.sent[ok]) * 1000.0)
            age.append((table.arrival[ok] - table.captured[ok]) * 1000.0)
            in_server.append(table.server_ms[ok])
            lag.extend(record.send_lag_ms)
            for code, n in record.errors.items():
                errors[code] = errors.get(code, 0) + n
            for code, n in record.warnings.items():
                warnings[code] = warnings.get(code, 0) + n
            totals["frames_shed_reported"] += record.frames_shed
    totals["windows_missing"] = totals["windows_due"] - totals["windows_answered"]
    totals["run_windows_missing"] = totals["run_windows_due"] - totals["run_windows_answered"]
    # due windows neither answered nor dropped by the server (lost, or still pending at the end);
    # exact while nothing is shed (shed frames count in frames_dropped too, and restart windows)
    totals["windows_unaccounted"] = totals["run_windows_missing"] - totals["dropped_sessions"]
    totals["latency_samples"] = sum(len(values) for values in latency)
    return {
        **totals,
        "errors": errors,
        "warnings": warnings,
        "latency_ms": percentiles(np.concatenate(latency) if latency else []),
        "frame_age_ms": percentiles(np.concatenate(age) if age else []),
        # of the latency: in the server (read to emit), and the rest (socket buffers both ways,
        # decoding before the handler, the clients' loops)
        "server_ms": percentiles(np.concatenate(in_server) if in_server else []),
        "outside_server_ms": percentiles(
            np.concatenate(latency) - np.concatenate(in_server) if latency else []
        ),
        "client_send_lag_ms": percentiles(lag),
    }


def rss_slope(samples: list[tuple[float, float, float]]) -> float | None:
    """MiB per minute, a least-squares line through ``(time, cpu, rss)`` samples."""
    if len(samples) < 3:
        return None
    t = np.array([s[0] for s in samples]) / 60.0
    return float(np.polyfit(t - t[0], [s[2] for s in samples], 1)[0])


def failures(report: dict[str, Any], p99_limit_ms: float = P99_LIMIT_MS) -> list[str]:
    """Why a run does not meet the capacity criteria (empty: it does): p99 under the limit,
    nothing missing or dropped, no errors, every result matched to a due window, every session
    connected and streamed to the end."""
    reasons = []
    p99 = report["latency_ms"]["p99"]
    if p99 is None or p99 >= p99_limit_ms:
        reasons.append(f"p99 {'-' if p99 is None else f'{p99:.1f}'} ms")
    if report["windows_missing"]:
        reasons.append(f"{report['windows_missing']} missing")
    if report["windows_dropped_server"]:
        reasons.append(f"{int(report['windows_dropped_server'])} dropped")
    if report["errors"]:
        reasons.append(f"errors {report['errors']}")
    if report["warnings"]:
        reasons.append(f"warnings {report['warnings']}")
    if report["results_off_rule"]:
        reasons.append(f"{report['results_off_rule']} results off the rule (windows restarted)")
    if report["results_unmatched"] or report["results_mismatched"]:
        wrong = report["results_unmatched"] + report["results_mismatched"]
        reasons.append(f"{wrong} results that match no frame sent")
    offline = report.get("offline_check") or {}
    if offline.get("windows_differing"):
        reasons.append(f"{offline['windows_differing']} results differ from the offline path's")
    if report["connect_failures"] or report["session_failures"]:
        failed = report["connect_failures"] + report["session_failures"]
        reasons.append(f"{failed} sessions failed")
    return reasons


TABLE_HEADER = (
    "| server | worker | messages | sessions | s | frames sent | msgs/s offered "
    "| windows due / answered | missing | dropped | latency p50 / p95 / p99 (ms) "
    "| server CPU % of a core, p50 / max | clients CPU % | server RSS MiB first → last (MiB/min) "
    "| longest stall ms: machine / clients | load avg |\n"
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
    "| ---: | ---: | ---: |"
)


def _f(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table_row(report: dict[str, Any]) -> str:
    """The run as a row of ``TABLE_HEADER`` (docs/benchmarks.md)."""
    lat, cpu, rss = report["latency_ms"], report["server_cpu_pct"] or {}, report["server_rss_mib"]
    stall, loop = report["machine_stall_ms"], report["client_loop_lag_ms"]
    replicas = f" x{report['replicas']}" if report["replicas"] > 1 else ""
    shape = report["mode"] + (f" x{report['batch']}" if report["batch"] else "")
    return (
        f"| {report['server']} | {report['worker']}{replicas} | {shape} | {report['sessions']} "
        f"| {report['duration_s']:g} | {report['frames_sent']} "
        f"| {report['offered_msgs_per_s']:.0f} "
        f"| {report['windows_due']} / {report['windows_answered']} "
        f"| {report['windows_missing']} | {int(report['windows_dropped_server'])} "
        f"| {_f(lat['p50'])} / {_f(lat['p95'])} / {_f(lat['p99'])} "
        f"| {_f(cpu.get('p50'), 0)} / {_f(cpu.get('max'), 0)} | {_f(report['client_cpu_pct'], 0)} "
        f"| {_f(rss['first'], 0)} → {_f(rss['last'], 0)} ({_f(rss['slope_mib_per_min'])}) "
        f"| {_f(stall['max'], 0)} / {_f(loop['max'], 0)} "
        f"| {report['load_avg_1min_end']:.1f} |"
    )
