"""The load generator: client processes, each running many real Socket.IO sessions.

Each session is a ``python-socketio`` ``AsyncClient`` (websocket transport, offering
permessage-deflate as browsers do unless ``deflate`` is off). It connects, sends
``configure {image_size}`` and takes the window size and stride from the answer (the
``configured`` settings), then waits for the start signal. From the common start time it
"captures" one frame every ``1 / fps`` seconds on a fixed schedule: session ``i`` of ``N`` starts
``i / N`` of one stride period (``stride / fps``) late, so the sessions' due windows are spread as
real users' are, and at video frame ``i * L / N`` of the ``L``-frame demo video, which it loops.
Its client shape (``load_shapes``) decides when a message leaves; it is sent at the capture time of
its last frame. After sending it waits (at most ``grace`` seconds) for the results of its due
windows, asks the server for its session status (a ``heartbeat``) and disconnects.

A session records what it did, not estimates: every message's last frame and send time, every
answered window's frame id and arrival time, the server's drop counter and status. The parent
(``load_report``) matches results to windows by frame id.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import socketio
from load_shapes import make_shape

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # a spawned client process starts from benchmarks/
    sys.path.insert(0, str(REPO))

from api import fast_json  # noqa: E402 - after the repository is on the path

# Everything a session needs is imported before it connects: an import inside the event loop
# (pandas and scikit-learn come with the features package) stalls every session of the process
# for seconds, and the messages it was about to send with them.
from stream_pose_ml.features.windows import window_count  # noqa: E402

logger = logging.getLogger("load_clients")

#: Concurrent connection handshakes per client process.
CONNECT_CONCURRENCY = 20


@dataclass(frozen=True)
class ClientPlan:
    """What every session of a run does (the same in every client process)."""

    urls: list[str]
    sessions: int  # sessions in the whole run (for the start phases and video offsets)
    fps: float
    duration: float  # seconds of capturing frames
    shape: str
    batch: int
    frames: np.ndarray  # (L, 33, 4) float32, the video the sessions loop over
    image_size: tuple[int, int]
    grace: float = 3.0  # seconds to wait for the last results
    connect_timeout: float = 30.0
    deflate: bool = True  # offer permessage-deflate, as browsers do
    keep_probabilities: bool = False  # keep every result's probabilities (the offline check)


@dataclass
class SessionRecord:
    """What one session did. Times are ``time.perf_counter()`` of its client process."""

    index: int
    connected: bool = False
    window_size: int = 0
    stride: int = 0
    start: float = 0.0  # capture time of frame 0
    frames_sent: int = 0
    message_last: list[int] = field(default_factory=list)  # last frame of each message
    message_sent: list[float] = field(default_factory=list)  # its send time
    send_lag_ms: list[float] = field(default_factory=list)  # send time - scheduled time
    answered: dict[int, float] = field(default_factory=dict)  # window's frame id -> arrival
    server_ms: dict[int, float] = field(default_factory=dict)  # its ``processing_ms``
    video_offset: int = 0  # the video frame of session frame 0
    probabilities: dict[int, dict[str, float]] = field(default_factory=dict)  # if kept
    duplicates: int = 0  # results for a frame id already answered
    mismatched: int = 0  # results whose timestamp is not their frame id's (a mixed-up answer)
    progress: int = 0  # results of a filling window (label null)
    errors: dict[str, int] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)  # the server's ``warning`` codes
    frames_shed: int = 0  # the highest ``frames_shed`` of its ``behind`` warnings
    dropped_reported: int = 0  # the highest ``dropped`` of its results
    status: dict[str, Any] | None = None  # the server's session status at the end
    failure: str | None = None


@dataclass
class ProcessResult:
    """One client process's sessions, its CPU and wall time while sending, and the
    measurement's start on its clock."""

    records: list[SessionRecord]
    cpu_seconds: float
    wall_seconds: float
    measure_from: float  # perf_counter() value of the measurement's start (warm-up over)
    loop_lag_ms: list[float]  # lateness of a 5 ms timer on the process's event loop


class LoadSession:
    """One client session (see the module docstring)."""

    def __init__(self, plan: ClientPlan, index: int) -> None:
        self.plan = plan
        self.record = SessionRecord(index)
        self.sio: Any = None
        self._status = asyncio.Event()

    async def connect(self) -> None:
        options = {"compress": 15 if self.plan.deflate else 0}  # aiohttp's ws_connect
        # orjson, as the server: a browser's JSON is native code, the standard library's is not
        sio = socketio.AsyncClient(
            reconnection=False, websocket_extra_options=options, json=fast_json
        )
        record, self.sio = self.record, sio
        ms_per_frame = 1000.0 / self.plan.fps
        keep = self.plan.keep_probabilities

        @sio.on("frame_result")
        async def on_result(body: dict[str, Any]) -> None:
            now = time.perf_counter()
            record.dropped_reported = max(record.dropped_reported, int(body.get("dropped") or 0))
            for result in body.get("results") or [body]:
                if result.get("label") is None:
                    record.progress += 1
                    continue
                frame_id, stamp = int(result["frame_id"]), result.get("timestamp")
                if stamp is None or abs(stamp - frame_id * ms_per_frame) > 0.01:
                    record.mismatched += 1
                if frame_id in record.answered:
                    record.duplicates += 1
                else:
                    record.answered[frame_id] = now
                    record.server_ms[frame_id] = float(result.get("processing_ms") or 0.0)
                    if keep:
                        record.probabilities[frame_id] = result.get("probabilities") or {}

        @sio.on("error")
        async def on_error(body: dict[str, Any]) -> None:
            code = str(body.get("code"))
            record.errors[code] = record.errors.get(code, 0) + 1

        @sio.on("warning")
        async def on_warning(body: dict[str, Any]) -> None:
            code = str(body.get("code"))
            record.warnings[code] = record.warnings.get(code, 0) + 1
            record.frames_shed = max(record.frames_shed, int(body.get("frames_shed") or 0))

        @sio.on("heartbeat")
        async def on_heartbeat(body: dict[str, Any]) -> None:
            record.status = body.get("session")
            self._status.set()

        url = self.plan.urls[record.index % len(self.plan.urls)]
        try:
            await sio.connect(url, transports=["websocket"], wait_timeout=self.plan.connect_timeout)
            w, h = self.plan.image_size
            settings = await sio.call(
                "configure",
                {"image_size": {"width": w, "height": h}},
                timeout=self.plan.connect_timeout,
            )
        except Exception as exc:  # counted; the run goes on with the others
            record.failure = f"{type(exc).__name__}: {exc}"
            logger.warning("session %d could not connect: %s", record.index, exc)
            await self.close()
            return
        record.window_size, record.stride = int(settings["window_size"]), int(settings["stride"])
        record.connected = True

    async def stream(self, start: float) -> None:
        """Capture and send from ``start`` (perf_counter), this session's phase added."""
        plan, record = self.plan, self.record
        shape = make_shape(
            plan.shape,
            plan.frames,
            plan.image_size,
            batch=plan.batch,
            window_size=record.window_size,
            stride=record.stride,
        )
        period = 1.0 / plan.fps
        record.start = start + (record.index / plan.sessions) * record.stride * period
        video_offset = record.video_offset = record.index * len(plan.frames) // plan.sessions
        n_frames = round(plan.duration * plan.fps)
        for index in range(n_frames):
            video_index = (video_offset + index) % len(plan.frames)
            outgoing = shape.add(index, video_index, index * period * 1000.0)
            if outgoing is not None and not await self._send(outgoing, period):
                return
        outgoing = shape.flush()
        if outgoing is not None:
            await self._send(outgoing, period)

    async def _send(self, outgoing: Any, period: float) -> bool:
        record = self.record
        scheduled = record.start + outgoing.last * period
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.perf_counter()
        try:
            await self.sio.emit("keypoints", outgoing.payload)
        except Exception as exc:  # the connection went away: what was sent is what counts
            record.failure = f"{type(exc).__name__}: {exc}"
            return False
        record.send_lag_ms.append((now - scheduled) * 1000.0)
        record.message_last.append(outgoing.last)
        record.message_sent.append(now)
        record.frames_sent = outgoing.last + 1
        return True

    async def finish(self) -> None:
        """Wait for the due windows' results (or the server's drops), ask for the status."""
        record = self.record
        due = int(window_count(record.frames_sent, record.window_size, record.stride))
        deadline = time.perf_counter() + self.plan.grace
        while time.perf_counter() < deadline and self.sio.connected:
            if len(record.answered) + record.dropped_reported >= due:
                break
            await asyncio.sleep(0.05)
        if self.sio.connected:
            self._status.clear()
            with contextlib.suppress(Exception):
                await self.sio.emit("heartbeat")
                await asyncio.wait_for(self._status.wait(), timeout=5.0)
        await self.close()

    async def close(self) -> None:
        if self.sio is not None:
            with contextlib.suppress(Exception):  # closing anyway
                await self.sio.disconnect()


async def run_client(plan: ClientPlan, indices: list[int], ready: Any, go: Any) -> ProcessResult:
    """Connect the sessions ``indices``, put ``("ready", connected)`` on ``ready``, wait for
    ``(start, warmup)`` on ``go`` (the common start in wall time, the seconds not measured),
    stream, finish."""
    sessions = [LoadSession(plan, i) for i in indices]
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def connect(session: LoadSession) -> None:
        async with limit:
            await session.connect()

    await asyncio.gather(*(connect(s) for s in sessions))
    connected = [s for s in sessions if s.record.connected]
    gc.freeze()  # the connections' objects: later collections need not walk them
    ready.put(("ready", len(connected)))
    start_wall, warmup = await asyncio.get_running_loop().run_in_executor(None, go.get)
    started_cpu, started_wall = time.process_time(), time.perf_counter()
    start = time.perf_counter() + (start_wall - time.time())
    lags: list[float] = []
    probe = asyncio.create_task(_loop_lag(lags, start + warmup))
    await asyncio.gather(*(s.stream(start) for s in connected))
    probe.cancel()
    cpu_seconds, wall_seconds = (
        time.process_time() - started_cpu,
        time.perf_counter() - started_wall,
    )
    await asyncio.gather(*(s.finish() for s in connected))
    return ProcessResult(
        records=[s.record for s in sessions],
        cpu_seconds=cpu_seconds,
        wall_seconds=wall_seconds,
        measure_from=start + warmup,
        loop_lag_ms=lags,
    )


async def _loop_lag(lags: list[float], measure_from: float, period: float = 0.005) -> None:
    """Record how late a ``period`` timer fires on this event loop after ``measure_from``: a
    stalled client delays its sends and the arrival times it records."""
    while True:
        before = time.perf_counter()
        await asyncio.sleep(period)
        if before >= measure_from:
            lags.append((time.perf_counter() - before - period) * 1000.0)


def client_process(plan: ClientPlan, indices: list[int], ready: Any, go: Any, out: Any) -> None:
    """Entry of one client process: its sessions' results go to ``out``."""
    logging.basicConfig(level=logging.WARNING)
    try:
        out.put(asyncio.run(run_client(plan, indices, ready, go)))
    except BaseException as exc:
        ready.put(("failed", repr(exc)))
        out.put(exc)
        raise
