"""Network streams (RTSP, HTTP(S), RTMP, UDP, TCP) through PyAV, with timeouts and reconnects.

Every connection attempt and every read is bounded by PyAV's interrupt timeout (``open_timeout_s``,
``read_timeout_s``) and by the protocol's own socket timeout. When a stream fails, or a live stream
ends (live streams do not end on purpose), the source reconnects under a `ReconnectPolicy`:
frame indices go on counting and ``pts_s`` goes on increasing from the last frame, so a schedule
never sees a repeat or a jump backwards.

A stream is *live* unless its container reports a duration (an HTTP(S) URL of a plain file, read
by progressive download, has one): a live stream's ``pts_s`` starts at 0 on its first frame, a
non-live one keeps the container's times like a file, ends at the file's end, and resumes after a
failure by seeking to the last frame it gave.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from stream_pose_ml.errors import SourceError, StreamError
from stream_pose_ml.stream.frames import DEFAULT_FPS, Closing, ColorOrder, Frame, SourceInfo

logger = logging.getLogger(__name__)

#: URL schemes read as network streams.
STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")


@dataclass(frozen=True)
class ReconnectPolicy:
    """When a network source tries to (re)connect, and when it gives up.

    In one outage (and for the first connection) the first attempt is made at once, the next after
    ``initial_delay_s`` seconds, each later one ``factor`` times later than the one before, at
    most ``max_delay_s`` apart. An outage lasts until a frame comes (a connection that gives none
    does not end it). The source gives up with `SourceError` after ``max_attempts`` attempts in
    one outage, or when the next attempt would start more than ``give_up_after_s`` seconds after
    the outage began (``None``: no such limit). With the defaults an address where nothing
    listens is given up after 8 attempts and 31.5 s of waiting; ``max_attempts=1`` tries once.
    Invalid settings are a `StreamError`.
    """

    initial_delay_s: float = 0.5
    factor: float = 2.0
    max_delay_s: float = 8.0
    max_attempts: int | None = 8
    give_up_after_s: float | None = 60.0

    def __post_init__(self) -> None:
        if self.initial_delay_s < 0 or self.max_delay_s < self.initial_delay_s:
            raise StreamError("reconnect delays must satisfy 0 <= initial_delay_s <= max_delay_s")
        if self.factor < 1:
            raise StreamError(f"reconnect factor must be at least 1, not {self.factor}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise StreamError(f"max_attempts must be at least 1 (or None), not {self.max_attempts}")
        if self.give_up_after_s is not None and self.give_up_after_s < 0:
            raise StreamError(f"give_up_after_s must be >= 0 (or None), not {self.give_up_after_s}")

    def delays(self) -> Iterator[float]:
        """Seconds to wait before each attempt: 0, initial, initial * factor, ... (capped)."""
        yield 0.0
        delay = self.initial_delay_s
        while True:
            yield delay
            delay = min(delay * self.factor, self.max_delay_s)


def protocol_options(url: str, read_timeout_s: float, rtsp_transport: str | None) -> dict[str, str]:
    """FFmpeg options for ``url``'s protocol: socket I/O timeout (µs), RTSP transport."""
    micros = str(int(read_timeout_s * 1_000_000))
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("rtsp", "rtsps"):
        options = {"timeout": micros}
        if rtsp_transport:
            options["rtsp_transport"] = rtsp_transport
        return options
    if scheme == "rtmp":
        return {"rw_timeout": micros}  # RTMP's own `timeout` means "listen for a publisher"
    return {"timeout": micros}


def to_image(frame: Any, fmt: str, width: int, height: int) -> np.ndarray:
    """A decoded frame as an ``(height, width, 3)`` array in ``fmt``, converted as BT.601."""
    image: np.ndarray = frame.to_ndarray(
        format=fmt, width=width, height=height, src_colorspace="ITU601"
    )
    return image


@dataclass
class _Outage:
    """A run of connection attempts, from the loss (or the first try) to the next frame."""

    started: float
    delays: Iterator[float]
    attempts: int = 0


class NetworkSource(Closing):
    """Frames of a network stream; reconnects under ``reconnect`` when it fails or ends.

    ``open_timeout_s`` bounds each connection attempt and ``read_timeout_s`` each read (seconds);
    ``rtsp_transport`` is ``"tcp"`` (default: no lost packets, passes firewalls) or ``"udp"``;
    ``options`` are more FFmpeg options (they win over these). ``live`` ``None`` decides from the
    container (no duration: live). Counters for metrics: ``reconnects`` and `stats`. The first
    connection is made here, under the same policy.
    """

    def __init__(
        self,
        url: str,
        *,
        size: tuple[int, int] | None = None,
        color: ColorOrder = "rgb",
        open_timeout_s: float = 10.0,
        read_timeout_s: float = 5.0,
        reconnect: ReconnectPolicy | None = None,
        rtsp_transport: Literal["tcp", "udp"] | None = "tcp",
        options: Mapping[str, str] | None = None,
        live: bool | None = None,
    ) -> None:
        self.url = url
        self.policy = reconnect or ReconnectPolicy()
        self._color: ColorOrder = color
        self._timeouts = (float(open_timeout_s), float(read_timeout_s))
        self._options = protocol_options(url, read_timeout_s, rtsp_transport) | dict(options or {})
        self._lock = threading.Lock()  # held while the container is read, so close() waits
        self._stopped = threading.Event()  # set by close(): ends backoff waits at once
        self._container: Any = None
        self._index = 0
        self._last_pts_s: float | None = None
        self._shift_s: float | None = None  # live: pts_s = frame.time - shift, per connection
        self._resume_after: float | None = None  # not live, after a reconnect: skip up to here
        self.reconnects = 0
        self._failed_attempts = 0
        self._downtime_s = 0.0
        self._damaged_packets = 0
        self._outage: _Outage | None = None
        if not self._connect(None):
            raise SourceError(f"{url}: closed while connecting")
        container: Any = self._container
        stream = container.streams.video[0]
        ctx = stream.codec_context
        rate = stream.average_rate or stream.guessed_rate
        duration = container.duration
        width, height = size or (int(ctx.width), int(ctx.height))
        if not (width > 0 and height > 0):
            container.close()
            raise SourceError(f"{url}: the stream reports no frame size; give size=(width, height)")
        self.info = SourceInfo(
            uri=url,
            kind="stream",
            live=duration is None if live is None else live,
            width=int(width),
            height=int(height),
            fps=float(rate) if rate else None,
            frame_count=None if duration is None else (int(stream.frames) or None),
            codec=str(ctx.name),
        )
        self._frame_s = 1.0 / (self.info.fps or DEFAULT_FPS)
        video_s = float(stream.duration * stream.time_base) if stream.duration else None
        self._duration_s = video_s or (duration / 1_000_000 if duration else None)
        logger.info(
            "%s: %s %dx%d at %s fps (%s)",
            url,
            self.info.codec,
            self.info.width,
            self.info.height,
            self.info.fps,
            "live" if self.info.live else "not live: the container has a duration",
        )

    def stats(self) -> dict[str, float]:
        """Counters for a run's metrics: frames, reconnects, failed attempts, damaged packets."""
        return {
            "frames": self._index,
            "reconnects": self.reconnects,
            "failed_connection_attempts": self._failed_attempts,
            "damaged_packets": self._damaged_packets,
            "downtime_s": round(self._downtime_s, 6),
        }

    def _open(self) -> Any:
        import av

        try:
            container: Any = av.open(self.url, options=self._options, timeout=self._timeouts)
        except av.ExitError as exc:  # PyAV's interrupt callback: the timeout passed
            raise SourceError(f"{self.url}: no stream within {self._timeouts[0]} s") from exc
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise SourceError(f"{self.url}: cannot open: {exc}") from exc
        if not container.streams.video:
            container.close()
            raise SourceError(f"{self.url}: the stream has no video")
        container.streams.video[0].thread_type = "AUTO"
        return container

    def _connect(self, lost_because: str | None) -> bool:
        """(Re)connect under the policy; False if closed meanwhile; `SourceError` on giving up.

        An outage lasts until a connection gives a frame: a server that accepts and then sends
        nothing is retried with growing delays too, and counts towards giving up.
        """
        if self._outage is None:
            self._outage = _Outage(time.monotonic(), self.policy.delays())
        outage = self._outage
        give_up = self.policy.give_up_after_s
        error: SourceError | None = None
        while True:
            delay = next(outage.delays)
            if give_up is not None and time.monotonic() + delay - outage.started > give_up:
                break
            if self._stopped.wait(delay):
                return False
            outage.attempts += 1
            try:
                container = self._open()
            except SourceError as exc:
                error = exc
                self._failed_attempts += 1
                logger.warning("%s: attempt %d failed: %s", self.url, outage.attempts, exc)
                if (
                    self.policy.max_attempts is not None
                    and outage.attempts >= self.policy.max_attempts
                ):
                    break
                continue
            with self._lock:
                if self._stopped.is_set():
                    container.close()
                    return False
                self._container = container
            if lost_because is not None:
                self.reconnects += 1
                logger.warning(
                    "%s: reconnected after %.2f s (attempt %d; reconnect %d)",
                    self.url,
                    time.monotonic() - outage.started,
                    outage.attempts,
                    self.reconnects,
                )
            return True
        what = "connecting" if lost_because is None else f"reconnecting ({lost_because})"
        raise SourceError(
            f"{self.url}: gave up {what} after {outage.attempts} attempt(s) in "
            f"{time.monotonic() - outage.started:.1f} s (policy {self.policy}); "
            f"last error: {error or 'connected, but no frame came'}"
        )

    def _outage_over(self) -> None:
        """A frame came: the next failure starts a new outage with the initial delay."""
        if self._outage is not None:
            if self._index:
                self._downtime_s += time.monotonic() - self._outage.started
            self._outage = None

    def frames(self) -> Iterator[Frame]:
        try:
            yield from self._frames_across_connections()
        finally:
            if self._stopped.is_set():  # close() from another thread may have left it open
                self._drop_container()

    def _frames_across_connections(self) -> Iterator[Frame]:
        import av

        resumed = False
        while not self._stopped.is_set():
            ended = False
            first_index = self._index
            try:
                for image, pts_s in self._decoded():
                    if self._outage is not None:
                        self._outage_over()
                    frame = Frame(self._index, pts_s, time.monotonic(), image, self._color)
                    self._index += 1
                    yield frame
                ended = True
                reason = "the stream ended"
            except av.ExitError:
                reason = f"no data for {self._timeouts[1]} s"
            except (av.FFmpegError, OSError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            if self._stopped.is_set():
                return
            if ended and not self.info.live:
                if self._reached_end() or (resumed and self._index == first_index):
                    return
                reason = f"the download ended at {self._last_pts_s} s of {self._duration_s} s"
            logger.warning(
                "%s: stream lost after frame %d (%s); reconnecting", self.url, self._index, reason
            )
            self._drop_container()
            self._shift_s = None
            if not self._connect(reason):
                return
            if not self.info.live and self._last_pts_s is not None:
                self._seek_to_last()
                resumed = True

    def _reached_end(self) -> bool:
        """Not live: whether the last frame given is the container's last (within 2 frames)."""
        if self._duration_s is None or self._last_pts_s is None:
            return True
        return self._last_pts_s >= self._duration_s - 2.5 * self._frame_s

    def _decoded(self) -> Iterator[tuple[np.ndarray, float]]:
        """Images and ``pts_s`` of the current connection; the lock is held per packet only.

        A packet that does not decode (a damaged frame) is skipped and counted; a failing read
        (raised from the demuxer) means the connection is lost.
        """
        import av

        container = self._container
        if container is None:
            return
        stream = container.streams.video[0]
        start_s = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        fmt = "rgb24" if self._color == "rgb" else "bgr24"
        width, height = self.info.size
        packets = container.demux(stream)
        while True:
            with self._lock:
                if self._stopped.is_set():
                    return
                packet = next(packets, None)
                if packet is None:
                    return
                try:
                    decoded = [  # BT.601, as `FileSource` and OpenCV convert
                        (to_image(frame, fmt, width, height), frame.time)
                        for frame in packet.decode()
                    ]
                except av.InvalidDataError as exc:
                    self._damaged_packets += 1
                    logger.debug("%s: skipped a damaged packet: %s", self.url, exc)
                    continue
            for image, time_s in decoded:
                pts_s = self._pts_s(time_s, start_s)
                if pts_s is not None:
                    yield image, pts_s

    def _pts_s(self, time_s: float | None, start_s: float) -> float | None:
        """The frame's ``pts_s``, increasing across reconnects; ``None``: already given (resume)."""
        last = self._last_pts_s
        if not self.info.live:
            if time_s is None:
                pts_s = (last + self._frame_s) if last is not None else 0.0
            else:
                pts_s = time_s - start_s
                if self._resume_after is not None:
                    if pts_s <= self._resume_after + 1e-6:
                        return None
                    self._resume_after = None
        elif time_s is None:
            pts_s = (last + self._frame_s) if last is not None else 0.0
        else:
            if self._shift_s is None:
                self._shift_s = time_s - ((last + self._frame_s) if last is not None else 0.0)
            pts_s = time_s - self._shift_s
            if last is not None and pts_s <= last:  # a timestamp jump back (wrap, restart)
                self._shift_s = time_s - (last + self._frame_s)
                pts_s = last + self._frame_s
        self._last_pts_s = pts_s
        return pts_s

    def _seek_to_last(self) -> None:
        """Not live: seek near the last frame given (frames up to it are then skipped)."""
        import av

        stream = self._container.streams.video[0]
        assert self._last_pts_s is not None
        self._resume_after = self._last_pts_s
        target = int(self._last_pts_s / stream.time_base) + (stream.start_time or 0)
        try:
            self._container.seek(target, stream=stream, backward=True)
        except av.FFmpegError as exc:  # not seekable: decode from the start, skipping
            logger.info("%s: cannot seek to %.3f s (%s)", self.url, self._last_pts_s, exc)

    def _drop_container(self) -> None:
        with self._lock:
            if self._container is not None:
                self._container.close()
                self._container = None

    def close(self) -> None:
        """End `frames` and close the connection; waits for a read in progress (bounded)."""
        self._stopped.set()
        if self._lock.acquire(timeout=self._timeouts[1] + 1.0):
            try:
                if self._container is not None:
                    self._container.close()
                    self._container = None
            finally:
                self._lock.release()
        else:
            logger.warning("%s: a read is still in progress; the reader closes it", self.url)
