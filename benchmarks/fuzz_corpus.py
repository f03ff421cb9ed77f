"""Malformed input for the fuzz benchmark (``fuzz_socketio.py``) and the attack tests: raw
Engine.IO / Socket.IO packets, each kind with the answer the server owes, malformed
``keypoints`` messages, and a plain WebSocket client that speaks the protocol by hand."""

from __future__ import annotations

import contextlib
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import websocket

from stream_pose_ml.serving import encode_frames

#: Answers a packet kind may owe besides an ``error`` code: the connection closed, or a
#: Socket.IO CONNECT_ERROR packet.
CLOSED = "closed"
CONNECT_ERROR = "connect_error"
DEEP = 10_000


@dataclass(frozen=True)
class PacketKind:
    """Raw WebSocket frames sent in order on a connected Socket.IO session, and the answer."""

    name: str
    frames: tuple[str | bytes, ...]
    answer: str  # an ``error`` code, CLOSED or CONNECT_ERROR


def _event(event: str, payload: Any) -> str:
    return "42" + json.dumps([event, payload])


PLACEHOLDER = {"_placeholder": True, "num": 0}
PACKET_KINDS = [
    # Socket.IO packets python-socketio decodes but cannot take apart (issue 12, part 3)
    PacketKind("event data an object", ("42{}",), "bad_packet"),
    PacketKind("event data an empty list", ("42[]",), "bad_packet"),
    PacketKind("event with an ack id and no data", ("421",), "bad_packet"),
    PacketKind("event without data", ("42",), "bad_packet"),
    PacketKind("empty Engine.IO message", ("4",), "bad_packet"),
    PacketKind("event name a list", ('42[["keypoints"]]',), "bad_packet"),
    PacketKind("event name an object", ("42[{}]",), "bad_packet"),
    PacketKind("event name a number", ("42[7]",), "unknown_event"),
    PacketKind("event name null", ("42[null]",), "unknown_event"),
    PacketKind("unknown event", (_event("dance", {}),), "unknown_event"),
    PacketKind("broken JSON", ('42["keypoints",{"landmarks": [',), "bad_json"),
    PacketKind(
        "10,000 nested arrays", ('42["keypoints",' + "[" * DEEP + "]" * DEEP + "]",), "bad_json"
    ),
    PacketKind("10,000 unclosed arrays", ('42["keypoints",' + "[" * DEEP,), "bad_json"),
    PacketKind(
        "10,000 nested objects",
        ('42["keypoints",' + '{"a":' * DEEP + "1" + "}" * DEEP + "]",),
        "bad_json",
    ),
    PacketKind(
        "nested JSON text payload", (_event("keypoints", "[" * DEEP + "]" * DEEP),), "bad_json"
    ),
    PacketKind(
        "nested configure", (_event("configure", {"window_size": [[[[[[[[1]]]]]]]]}),), "bad_type"
    ),
    PacketKind("Engine.IO JSON object", ('4{"a": 1}',), "bad_packet"),
    PacketKind("Engine.IO JSON string", ('4"x"',), "bad_packet"),
    PacketKind("Engine.IO deep JSON", ("4 " + "[" * DEEP + "]" * DEEP,), "bad_json"),
    PacketKind("Socket.IO type not a digit", ("4x",), "bad_packet"),
    PacketKind("unknown Socket.IO type", ("49",), "bad_packet"),
    PacketKind("CONNECT_ERROR from the client", ('44"x"',), "bad_packet"),
    PacketKind("acknowledgement for nothing", ("431[]",), "bad_packet"),
    PacketKind("binary acknowledgement", ("461-1[]",), "bad_packet"),
    PacketKind("other namespace", ('42/admin,["keypoints",{}]',), "bad_packet"),
    PacketKind("second connect", ("40",), CONNECT_ERROR),
    # binary events whose attachment count lies
    PacketKind(
        "attachment index beyond the count",
        ("451-" + json.dumps(["keypoints", {"_placeholder": True, "num": 3}]), b"SPK1"),
        "bad_packet",
    ),
    PacketKind(
        "attachment index a string",
        ("451-" + json.dumps(["keypoints", {"_placeholder": True, "num": "a"}]), b"SPK1"),
        "bad_packet",
    ),
    PacketKind(
        "zero attachments", ("450-" + json.dumps(["keypoints", PLACEHOLDER]),), "bad_packet"
    ),
    PacketKind(
        "nine attachments", ("459-" + json.dumps(["keypoints", PLACEHOLDER]),), "bad_packet"
    ),
    PacketKind(
        "attachments ending early",
        ("452-" + json.dumps(["keypoints", PLACEHOLDER]), b"SPK1", '42["heartbeat"]'),
        "bad_packet",
    ),
    PacketKind("binary data no event announced", (b"\x00\x01\x02",), "bad_packet"),
    # Engine.IO frames that do not decode at all: the connection is closed
    PacketKind("empty frame", ("",), CLOSED),
    PacketKind("Engine.IO type not a digit", ("x",), CLOSED),
    PacketKind("Engine.IO type 9", ("9",), CLOSED),
    PacketKind("bad base64", ("bQQ",), CLOSED),
]


class RawSocket:
    """A plain WebSocket speaking Engine.IO 4 / Socket.IO 5 by hand, connected to ``/``."""

    def __init__(self, port: int, timeout: float = 10.0, connect: bool = True) -> None:
        url = f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"
        self.ws = websocket.create_connection(url, timeout=timeout)
        opening = self.ws.recv()
        assert isinstance(opening, str) and opening.startswith("0"), opening
        self.closed = False
        if connect:
            self.ws.send("40")
            self.expect(lambda frame: isinstance(frame, str) and frame.startswith("40"))

    def send(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            self.ws.send_binary(frame)
        else:
            self.ws.send(frame)

    def recv(self, timeout: float) -> str | bytes | None:
        """The next frame (None at the deadline); answers Engine.IO pings; sets ``closed``."""
        self.ws.settimeout(max(timeout, 0.01))
        try:
            frame = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return None
        except (websocket.WebSocketConnectionClosedException, OSError):
            self.closed = True
            return None
        if frame == "2":
            self.ws.send("3")
        if frame == "" or frame == "1":  # close frame, or Engine.IO close
            self.closed = True
        return frame

    def expect(self, match: Callable[[Any], bool], timeout: float = 10.0) -> Any:
        """The first frame that ``match``es (AssertionError at the deadline)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0 and not self.closed:
            frame = self.recv(left)
            if frame is not None and match(frame):
                return frame
        raise AssertionError("no matching frame" + (" (closed)" if self.closed else ""))

    def answer(self, kind: PacketKind, timeout: float = 10.0) -> str:
        """Send ``kind`` and return what came back: an error code, CLOSED or CONNECT_ERROR."""
        for sent in kind.frames:
            self.send(sent)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            frame = self.recv(left)
            if self.closed:
                return CLOSED
            if isinstance(frame, str) and frame.startswith('42["error"'):
                return str(json.loads(frame[2:])[1]["code"])
            if isinstance(frame, str) and frame.startswith("44"):
                return CONNECT_ERROR
        return "nothing"

    def heartbeat(self, timeout: float = 10.0) -> bool:
        """Whether the session still answers a heartbeat."""
        self.send('42["heartbeat"]')
        try:
            self.expect(lambda f: isinstance(f, str) and f.startswith('42["heartbeat"'), timeout)
        except AssertionError:
            return False
        return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.ws.close()


# -- malformed keypoints messages -----------------------------------------------------------------
BAD_VALUES: list[Any] = [True, False, None, "0.5", [], {}, 2e4, -2e4, 10**400, math.nan, math.inf]
BAD_FRAME_IDS: list[Any] = [-5, 2**53, 2**63, "7", True, 1.5, [1]]
BAD_IMAGE_SIZES: list[Any] = [[0, 1], [65536, 9], "9x9", {"width": 9}, [1, 2, 3], [True, 9]]
BAD_TIMESTAMPS: list[Any] = ["now", True, [], {"t": 1}]


def frame_json(frame: np.ndarray, frame_id: int | None = None) -> dict[str, Any]:
    """The JSON message of one ``(33, 4)`` frame (landmark objects)."""
    keys = ("x", "y", "z", "visibility")
    message: dict[str, Any] = {
        "landmarks": [dict(zip(keys, map(float, point), strict=True)) for point in frame]
    }
    if frame_id is not None:
        message["frame_id"] = frame_id
    return message


def malformed_keypoints(frame: np.ndarray, rng: random.Random) -> Any:
    """One malformed ``keypoints`` payload made from a valid ``(33, 4)`` frame."""
    message = frame_json(frame)
    points = message["landmarks"]
    kind = rng.randrange(14)
    if kind <= 3:  # a bad value (each one is) in a random landmark and channel
        point = points[rng.randrange(33)]
        point[rng.choice(("x", "y", "z", "visibility"))] = rng.choice(BAD_VALUES)
    elif kind == 4:
        message["landmarks"] = points[: rng.choice((0, 1, 17, 32))] or points[:5]
    elif kind == 5:
        message["landmarks"] = [*points, points[0]]
    elif kind == 6:
        message["frame_id"] = rng.choice(BAD_FRAME_IDS)
    elif kind == 7:
        message["image_size"] = rng.choice(BAD_IMAGE_SIZES)
    elif kind == 8:
        message["timestamp"] = rng.choice(BAD_TIMESTAMPS)
    elif kind == 9:  # a batch with one bad frame, an empty batch, or frames not a list
        bad = rng.choice(({"landmarks": points[:3]}, "x", None, {"frame_id": 1}))
        return {"frames": [message, bad]} if rng.random() < 0.7 else {"frames": rng.choice(([], 7))}
    elif kind == 10:  # a landmark that is not an object or list
        points[rng.randrange(33)] = rng.choice((7, "x", None, True))
    elif kind == 11:  # broken or deep JSON text
        text = json.dumps(message)
        return rng.choice((text[: rng.randrange(1, len(text))], "[" * 100 + "]" * 100, "nan"))
    elif kind == 12:
        return _malformed_binary(frame, rng)
    else:  # not an object at all
        return rng.choice((42, "", None, True, [1, 2], {"landmarks": {"x": 1}}))
    return message


def _malformed_binary(frame: np.ndarray, rng: random.Random) -> bytes:
    good = bytearray(encode_frames(frame[None], [1], image_size=(640, 480)))
    kind = rng.randrange(6)
    if kind == 0:
        good[:4] = b"SPK2"
    elif kind == 1:
        return bytes(good[: rng.randrange(1, len(good))])
    elif kind == 2:  # an image side beyond 65535
        good[8:12] = int(rng.choice((65536, 2**32 - 1))).to_bytes(4, "little")
    elif kind == 3:  # a frame id beyond 2^53 - 1
        good[16:24] = int(rng.choice((2**53, 2**63 - 1))).to_bytes(8, "little", signed=True)
    elif kind == 4:  # infinity in a coordinate
        data = np.frombuffer(bytes(good[32:]), "<f4").copy()
        data[rng.randrange(len(data))] = np.inf
        good[32:] = data.tobytes()
    else:  # a frame count that lies
        good[4:6] = int(rng.choice((0, 2, 300))).to_bytes(2, "little")
    return bytes(good)


# -- long polling ---------------------------------------------------------------------------------
#: POST bodies that are not Engine.IO payloads: each closes its polling session (HTTP 400).
POLLING_BODIES = {
    "not UTF-8": b"\xff\xfe\x00",
    "not an Engine.IO type": b"x",
    "an empty packet": b'42["heartbeat"]\x1e',
    "17 packets": "\x1e".join(['42["heartbeat"]'] * 17).encode(),
    "bad base64": b"bQQ",
}


def polling_refused(base_url: str, body: bytes, timeout: float = 10.0) -> bool:
    """Whether a connected long-polling session that POSTs ``body`` gets 400 and is closed."""
    import requests

    url = f"{base_url}/socket.io/?EIO=4&transport=polling"
    sid = json.loads(requests.get(url, timeout=timeout).text[1:])["sid"]
    session = f"{url}&sid={sid}"
    if requests.post(session, data="40", timeout=timeout).status_code != 200:
        return False
    packets = requests.get(session, timeout=timeout).text.split("\x1e")
    if not any(p.startswith("40") for p in packets):
        return False
    refused = requests.post(session, data=body, timeout=timeout).status_code == 400
    gone = requests.post(session, data='42["heartbeat"]', timeout=timeout).status_code == 400
    return refused and gone
