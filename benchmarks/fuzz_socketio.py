"""Fuzzing the live API: malformed messages and raw packets while an honest client streams.

Starts the real API (``gunicorn api.wsgi:app``, a gevent worker, loopback only) with a small
window model and records an honest session's answers (frame id and label of every result)
without fuzzing. Then, in each of ``--rounds`` rounds:

- a python-socketio client sends ``--messages`` malformed ``keypoints`` messages
  (``fuzz_corpus.malformed_keypoints``: bad values, counts, ids, sizes, batches, JSON text,
  binary headers), each of which must be answered by exactly one ``error`` event, never
  ``internal``;
- every raw packet kind of ``fuzz_corpus.PACKET_KINDS`` (Engine.IO / Socket.IO, on a fresh plain
  WebSocket each) and every long-polling body of ``POLLING_BODIES`` is sent
  ``--packet-repeats`` times and must get its own answer (an error code, a CONNECT_ERROR or the
  connection closed), the attacked session answering a heartbeat afterwards when it stays open;
- meanwhile an honest client streams the same frames again and again, each pass in a fresh
  session, one message at a time, and compares its answers with the reference.

It reports per round the messages and packets sent and answered wrongly or not at all, the
honest results lost or wrong, and the worker's RSS; at the end crashes (the server exiting or
its worker restarted) and tracebacks in the server log. Bounded by the counts and
``--max-seconds``. Example (docs/benchmarks.md, "Fuzzing the live API"):

    .venv/bin/python benchmarks/fuzz_socketio.py --rounds 5 --messages 2000 --packet-repeats 4
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import pickle
import random
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import requests
import socketio
from fuzz_corpus import (
    CLOSED,
    PACKET_KINDS,
    POLLING_BODIES,
    RawSocket,
    malformed_keypoints,
    polling_refused,
)
from load_data import pose_frames
from load_servers import metric, start_server, stop_server, worker_pids

from stream_pose_ml.learning.synthetic import fit_window_model

logger = logging.getLogger("fuzz_socketio")

WINDOW = 3
#: Malformed messages sent before waiting for their answers to catch up.
IN_FLIGHT = 200


@dataclass
class RoundReport:
    round: int
    messages: int = 0
    messages_unanswered: int = 0
    internal_errors: int = 0
    messages_classified: int = 0  # results for malformed messages (there must be none)
    codes: dict[str, int] = field(default_factory=dict)
    packets: int = 0
    packets_wrong: list[str] = field(default_factory=list)
    honest_passes: int = 0
    honest_results: int = 0
    honest_lost: int = 0
    honest_wrong: int = 0
    rss_mib: float = 0.0
    sessions_left: int = 0  # sessions the server still holds once every client is gone
    seconds: float = 0.0


@dataclass
class FuzzReport:
    rounds: list[RoundReport]
    packet_kinds: int
    crashes: int
    tracebacks: int
    rss_growth_after_first_mib: list[float]
    command: str

    def totals(self) -> dict[str, Any]:
        return {
            "messages": sum(r.messages for r in self.rounds),
            "messages_unanswered": sum(r.messages_unanswered for r in self.rounds),
            "internal_errors": sum(r.internal_errors for r in self.rounds),
            "messages_classified": sum(r.messages_classified for r in self.rounds),
            "packets": sum(r.packets for r in self.rounds),
            "packets_wrong": sum(len(r.packets_wrong) for r in self.rounds),
            "packet_kinds": self.packet_kinds,
            "honest_results": sum(r.honest_results for r in self.rounds),
            "honest_lost": sum(r.honest_lost for r in self.rounds),
            "honest_wrong": sum(r.honest_wrong for r in self.rounds),
            "sessions_left": max((r.sessions_left for r in self.rounds), default=0),
            "crashes": self.crashes,
            "tracebacks": self.tracebacks,
        }


class Recorder:
    """A python-socketio client (websocket) that records its ``error`` and ``frame_result``."""

    def __init__(self, url: str) -> None:
        self.sio = socketio.Client(reconnection=False)
        self.errors: list[str] = []
        self.results: list[dict[str, Any]] = []
        self.cond = threading.Condition()
        self.sio.on("error", self._on_error)
        self.sio.on("frame_result", self._on_result)
        self.sio.connect(url, transports=["websocket"], wait_timeout=10)

    def _on_error(self, body: Any) -> None:
        with self.cond:
            self.errors.append(str(body.get("code")) if isinstance(body, dict) else "?")
            self.cond.notify_all()

    def _on_result(self, body: Any) -> None:
        with self.cond:
            self.results.append(body)
            self.cond.notify_all()

    def wait(self, done: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not done():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()


def _frame_message(frame: np.ndarray, frame_id: int) -> dict[str, Any]:
    keys = ("x", "y", "z", "visibility")
    return {
        "landmarks": [dict(zip(keys, map(float, p), strict=True)) for p in frame],
        "frame_id": frame_id,
    }


def honest_pass(url: str, frames: np.ndarray) -> list[tuple[int, Any] | None]:
    """One fresh session streaming ``frames`` one message at a time: ``(frame id, label)`` of
    each frame's result, None where it never came."""
    client = Recorder(url)
    answers: list[tuple[int, Any] | None] = []
    try:
        for i, frame in enumerate(frames):
            client.sio.emit("keypoints", _frame_message(frame, i))
            if client.wait(lambda i=i: any(r["frame_id"] == i for r in client.results), 10.0):
                result = next(r for r in client.results if r["frame_id"] == i)
                answers.append((i, result["label"]))
            else:
                answers.append(None)
    finally:
        client.close()
    return answers


class HonestClient(threading.Thread):
    """Streams passes until stopped, comparing each answer with ``reference``."""

    def __init__(self, url: str, frames: np.ndarray, reference: list[Any]) -> None:
        super().__init__(daemon=True)
        self.url, self.frames, self.reference = url, frames, reference
        self.stop_event = threading.Event()
        self.passes = self.results = self.lost = self.wrong = 0

    def run(self) -> None:
        while not self.stop_event.is_set():
            answers = honest_pass(self.url, self.frames)
            self.passes += 1
            for got, expected in zip(answers, self.reference, strict=True):
                self.results += got is not None
                self.lost += got is None
                self.wrong += got is not None and got != expected

    def finish(self) -> None:
        self.stop_event.set()
        self.join(timeout=60)


def fuzz_messages(url: str, frames: np.ndarray, count: int, rng: random.Random) -> RoundReport:
    report = RoundReport(round=0)
    client = Recorder(url)
    try:
        for sent in range(1, count + 1):
            client.sio.emit(
                "keypoints", malformed_keypoints(frames[rng.randrange(len(frames))], rng)
            )
            if sent % IN_FLIGHT == 0:
                client.wait(lambda s=sent: len(client.errors) >= s - IN_FLIGHT, 30.0)
        client.wait(lambda: len(client.errors) >= count, 30.0)
        time.sleep(0.2)  # a second answer to one message would show now
    finally:
        client.close()
    report.messages = count
    report.messages_unanswered = abs(count - len(client.errors))
    for code in client.errors:
        report.codes[code] = report.codes.get(code, 0) + 1
    report.internal_errors = report.codes.get("internal", 0)
    report.messages_classified = len(client.results)
    return report


def fuzz_packets(url: str, port: int, repeats: int) -> tuple[int, list[str]]:
    """Every raw packet kind and polling body ``repeats`` times: (sent, the ones answered wrong)."""
    sent, wrong = 0, []
    for _ in range(repeats):
        for kind in PACKET_KINDS:
            sent += 1
            try:
                raw = RawSocket(port)
            except Exception as exc:  # the server refused a plain connection: a finding
                wrong.append(f"{kind.name}: no connection ({type(exc).__name__})")
                continue
            try:
                answer = raw.answer(kind)
                if answer != kind.answer:
                    wrong.append(f"{kind.name}: {answer} instead of {kind.answer}")
                elif answer != CLOSED and not raw.heartbeat():
                    wrong.append(f"{kind.name}: the session stopped answering")
            finally:
                raw.close()
        for name, body in POLLING_BODIES.items():
            sent += 1
            if not polling_refused(url, body):
                wrong.append(f"polling {name}: not refused")
    return sent, wrong


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def upload_model(url: str, folder: Path) -> None:
    model, _ = fit_window_model(WINDOW, seed=0)
    path = folder / "window_model.pkl"
    path.write_bytes(pickle.dumps({"classifier": model}))
    with open(path, "rb") as handle:
        response = requests.post(
            f"{url}/set_model",
            files={"file": (path.name, handle)},
            data={"frame_window_size": str(WINDOW)},
            timeout=120,
        )
    response.raise_for_status()


def run(
    rounds: int,
    messages: int,
    packet_repeats: int,
    honest_frames: int = 30,
    max_seconds: float = 600.0,
    seed: int = 0,
    command: str = "",
) -> FuzzReport:
    """Start the server, fuzz it for ``rounds`` rounds, stop it; see the module docstring."""
    started = time.monotonic()
    rng = random.Random(seed)
    frames = pose_frames(honest_frames, seed=seed).astype(np.float64)
    with tempfile.TemporaryDirectory(prefix="fuzz-socketio-") as tmp:
        folder = Path(tmp)
        data = folder / "data"
        data.mkdir()
        process, url = start_server("gevent", data, 0, {})
        port = int(url.rsplit(":", 1)[1])
        log_path = data / f"server-{port}.log"
        try:
            upload_model(url, folder)
            workers = worker_pids(process.pid)[1:]
            reference = honest_pass(url, frames)  # without fuzzing
            if None in reference:
                raise RuntimeError("the honest client got no answer even without fuzzing")
            reports = []
            for index in range(1, rounds + 1):
                if time.monotonic() - started > max_seconds:
                    logger.warning("stopping after %d rounds: --max-seconds reached", index - 1)
                    break
                round_start = time.monotonic()
                honest = HonestClient(url, frames, reference)
                honest.start()
                report = fuzz_messages(url, frames, messages, rng)
                report.round = index
                report.packets, report.packets_wrong = fuzz_packets(url, port, packet_repeats)
                honest.finish()
                report.honest_passes, report.honest_lost = honest.passes, honest.lost
                report.honest_wrong, report.honest_results = honest.wrong, honest.results
                report.sessions_left = _sessions_after_settling(url)
                report.rss_mib = rss_mib(workers[0]) if workers else 0.0
                report.seconds = time.monotonic() - round_start
                reports.append(report)
                logger.info("%s", _round_line(report))
                if process.poll() is not None:
                    break
            crashes = int(process.poll() is not None or worker_pids(process.pid)[1:] != workers)
        finally:
            stop_server(process)
            log = log_path.read_text(errors="replace") if log_path.exists() else ""
    rss = [r.rss_mib for r in reports]
    return FuzzReport(
        rounds=reports,
        packet_kinds=len(PACKET_KINDS) + len(POLLING_BODIES),
        crashes=crashes,
        tracebacks=log.count("Traceback"),
        rss_growth_after_first_mib=[round(b - a, 1) for a, b in itertools.pairwise(rss)],
        command=command,
    )


def _sessions_after_settling(url: str, timeout: float = 5.0) -> int:
    """The server's open sessions, once closed connections had ``timeout`` s to be processed."""
    deadline = time.monotonic() + timeout
    while (left := int(metric(url, "stream_pose_ml_sessions"))) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def _round_line(r: RoundReport) -> str:
    return (
        f"round {r.round}: {r.messages} malformed messages ({r.messages_unanswered} unanswered, "
        f"{r.internal_errors} internal), {r.packets} raw packets ({len(r.packets_wrong)} wrong); "
        f"honest: {r.honest_passes} passes, {r.honest_results} results, {r.honest_lost} lost, "
        f"{r.honest_wrong} wrong; {r.sessions_left} sessions left; worker RSS {r.rss_mib:.1f} MiB; "
        f"{r.seconds:.1f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=2000, help="malformed messages a round")
    parser.add_argument("--packet-repeats", type=int, default=4, help="each raw kind, a round")
    parser.add_argument("--honest-frames", type=int, default=30)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the report as JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    command = "benchmarks/fuzz_socketio.py " + " ".join(sys.argv[1:] if argv is None else argv)
    report = run(
        args.rounds,
        args.messages,
        args.packet_repeats,
        args.honest_frames,
        args.max_seconds,
        args.seed,
        command,
    )
    totals = report.totals()
    logger.info("totals: %s", json.dumps(totals))
    logger.info("RSS growth per round after the first (MiB): %s", report.rss_growth_after_first_mib)
    if args.out:
        args.out.write_text(json.dumps({"totals": totals, **asdict(report)}, indent=2))
    failed = (
        totals["crashes"]
        or totals["tracebacks"]
        or totals["honest_lost"]
        or totals["honest_wrong"]
        or totals["messages_unanswered"]
        or totals["internal_errors"]
        or totals["messages_classified"]
        or totals["packets_wrong"]
        or totals["sessions_left"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
