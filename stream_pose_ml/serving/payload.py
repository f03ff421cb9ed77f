"""Live messages -> validated arrays: keypoint frames (JSON or binary), images and settings.

Every accepted keypoint message becomes a :class:`FrameBatch` of ``(n, 33, 4)`` float64
``x, y, z, visibility`` (x, y normalized to the image width and height, as MediaPipe reports them).
Anything else raises :class:`PayloadError` with a stable ``code`` (see docs/api.md):

- ``bad_json``        a string that is not JSON, or nests deeper than ``MAX_JSON_DEPTH``;
- ``bad_type``        a wrong type, a missing field, a string or bool where a number belongs,
                      a frame id beyond ``MAX_FRAME_ID``, an image side beyond ``MAX_IMAGE_SIDE``;
- ``landmark_count``  a frame without exactly 33 landmarks;
- ``non_finite``      NaN, null or infinity in a coordinate (an omitted z or visibility is NaN);
- ``out_of_range``    a coordinate beyond +-``landmark_parser.MAX_ABS_VALUE`` (1e4);
- ``too_large``       a message over ``PayloadLimits.max_bytes`` or ``max_frames``;
- ``bad_image``       an image that is not a JPEG or PNG of acceptable size;
- ``unknown_field``   a ``configure`` key this server does not know.

JSON shapes accepted by the ``keypoints`` event (one frame unless it says otherwise):

- ``{"landmarks": [{"x", "y", "z", "visibility"} x 33], "frame_id", "timestamp", "image_size"}``
  (``z``/``visibility`` may be omitted: NaN; a landmark may also be a list ``[x, y, z(, v)]``);
- the browser's whole ``PoseLandmarkerResult``: ``{"landmarks": [[... 33 ...]], "worldLandmarks":
  ...}`` (first pose; ``"landmarks": []`` is a frame without a detection);
- a batch: ``{"frames": [<one frame as above>, ...], "image_size": ...}``;
- a bare list of 33 landmarks.

With ``max_poses`` > 1 (``configure {"num_poses"}``) a frame's list of poses is kept whole: up to
``max_poses`` poses per frame in ``FrameBatch.people`` (more are ignored, unchecked); binary
frames, one pose each, are then refused (``bad_type``).

The binary form (:func:`encode_frames` / :func:`decode_frames`) packs several frames as float32.
"""

from __future__ import annotations

import json
import math
import re
import reprlib
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

import numpy as np

from stream_pose_ml.errors import LandmarkFormatError, PayloadError
from stream_pose_ml.keypoints.landmark_parser import (
    ALL_OPTIONAL,
    N_CHANNELS,
    N_LANDMARKS,
    check_values,
    json_kind,
    parse_landmarks,
)

#: Largest accepted image side, in pixels, in an ``image_size``.
MAX_IMAGE_SIDE = 65535
#: Frame id sent by a client that leaves numbering to the server.
NO_FRAME_ID = -1
#: Largest frame id (2^53 - 1, the largest integer a JavaScript number holds exactly); the
#: server's own numbering wraps to 0 after it.
MAX_FRAME_ID = 2**53 - 1
#: Deepest nesting of arrays and objects accepted in a message's JSON (a frame needs 7).
MAX_JSON_DEPTH = 32
#: Most people a live session may follow per frame (``configure {"num_poses"}``).
MAX_NUM_POSES = 5
#: Largest live track id a client may name (``configure {"subject"}``).
MAX_TRACK_ID = 2**31 - 1

#: Binary keypoints, little-endian: magic, frames (uint16), landmarks (uint8), channels (uint8),
#: image width and height (uint32, 0 = unknown); then frame ids (int64 x n, -1 = none),
#: timestamps in ms (float64 x n, NaN = none) and the data (float32 x n x 33 x 4, frame-major).
BINARY_MAGIC = b"SPK1"
BINARY_HEADER = struct.Struct("<4sHBBII")

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class PayloadLimits:
    """Bounds on one message: ``max_bytes`` of JSON text, binary data or image, ``max_frames``
    frames per batch, ``max_image_pixels`` decoded pixels per image."""

    max_bytes: int = 1_000_000
    max_frames: int = 256
    max_image_pixels: int = 4096 * 4096


@dataclass(frozen=True, eq=False)
class FrameBatch:
    """Frames of one message.

    ``data`` ``(n, 33, 4)`` float64 (a frame without detection is all NaN); ``frame_ids`` ``(n,)``
    int64 (``NO_FRAME_ID`` where the client gave none); ``timestamps`` ``(n,)`` float64 client
    milliseconds (NaN where none); ``image_size`` (width, height) in pixels if the message said.
    Parsed for several people (``max_poses`` > 1), ``people`` holds each frame's poses ``(k, 33,
    4)`` (``data`` their first, or NaN) and ``people_sent`` how many the client sent (>= k).
    """

    data: np.ndarray
    frame_ids: np.ndarray
    timestamps: np.ndarray
    image_size: tuple[int, int] | None = None
    people: tuple[np.ndarray, ...] | None = None
    people_sent: tuple[int, ...] = ()

    def __len__(self) -> int:
        return self.data.shape[0]


@dataclass(frozen=True, eq=False)
class ImageFrame:
    """One encoded image (JPEG or PNG bytes) from a ``frame`` event."""

    data: bytes
    frame_id: int = NO_FRAME_ID
    timestamp: float = math.nan


# -- keypoints ------------------------------------------------------------------------------------
def parse_keypoints(
    message: Any, limits: PayloadLimits | None = None, max_poses: int = 1
) -> FrameBatch:
    """Validate one ``keypoints`` message (JSON object, JSON text or binary) into a FrameBatch;
    with ``max_poses`` > 1 each frame keeps up to that many poses (``FrameBatch.people``)."""
    limits = limits or PayloadLimits()
    if isinstance(message, (bytes, bytearray, memoryview)):
        if max_poses > 1:
            raise PayloadError(
                "bad_type",
                "several people need JSON frames (binary SPK1 carries one pose per frame); send "
                "keypoints as JSON or configure num_poses 1",
            )
        return decode_frames(message, limits)
    if isinstance(message, str):
        message = _loads(message, limits)
    if isinstance(message, list):
        message = {"landmarks": message}
    if not isinstance(message, Mapping):
        raise PayloadError(
            "bad_type",
            f"a keypoints message is a JSON object with 'landmarks' (or 'frames'), not "
            f"{json_kind(message)}",
        )
    if max_poses > 1:
        from stream_pose_ml.serving.payload_people import people_batch

        return people_batch(message, limits, max_poses)
    if "frames" in message:
        frames = frame_list(message, limits)
        size = _image_size(message.get("image_size"), "image_size")
        parsed = [_frame(frame, f"frames[{i}]") for i, frame in enumerate(frames)]
        for _, _, _, frame_size in parsed:
            size = frame_size or size
        return FrameBatch(
            data=np.stack([data for data, _, _, _ in parsed]),
            frame_ids=np.array([fid for _, fid, _, _ in parsed], dtype=np.int64),
            timestamps=np.array([ts for _, _, ts, _ in parsed], dtype=np.float64),
            image_size=size,
        )
    data, frame_id, timestamp, size = _frame(message, "message")
    return FrameBatch(
        data=data[None],
        frame_ids=np.array([frame_id], dtype=np.int64),
        timestamps=np.array([timestamp], dtype=np.float64),
        image_size=size,
    )


def frame_list(message: Mapping[str, Any], limits: PayloadLimits) -> list[Any]:
    """A batch's ``frames``, checked: a non-empty list of at most ``max_frames``."""
    frames = message["frames"]
    if not isinstance(frames, list) or not frames:
        raise PayloadError("bad_type", "'frames' must be a non-empty list of frame objects")
    if len(frames) > limits.max_frames:
        raise PayloadError(
            "too_large",
            f"{len(frames)} frames in one message; send at most {limits.max_frames}",
        )
    return frames


def _loads(text: str, limits: PayloadLimits) -> Any:
    if len(text) > limits.max_bytes:
        raise PayloadError(
            "too_large", f"message of {len(text)} characters; the limit is {limits.max_bytes}"
        )
    if json_too_deep(text):
        raise PayloadError("bad_json", f"the message nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise PayloadError("bad_json", f"the message is not valid JSON: {exc}") from None


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
#: ``bytes.translate`` arguments that keep only brackets (``{}`` written as ``[]``), and quotes
#: and backslashes too.
_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_NOT_BRACKETS_OR_QUOTES = bytes(b for b in range(256) if b not in b'[]{}"\\')


def json_too_deep(text: str | bytes | bytearray, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``text``'s arrays and objects nest deeper than ``limit`` (brackets in strings do
    not count): a few passes of C string methods over the raw text, so that a recursive JSON
    decoder never sees it. Text that is not JSON may be reported too deep (it is refused
    either way)."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    kept = data.translate(_SQUARE, _NOT_BRACKETS_OR_QUOTES)
    if kept.count(b"[") <= limit:  # most packets: too few brackets to nest that deep
        return False
    brackets = kept.replace(b'""', b"")  # strings without brackets (a quote stays otherwise)
    if b"\\" in kept:  # escaped quotes possible: strings by a regular expression
        brackets = _JSON_STRING.sub(b"", data).translate(_SQUARE, _NOT_BRACKETS)
    elif b'"' in brackets:  # every other quote opens a string
        brackets = b"".join(kept.split(b'"')[::2])
    for depth in range(limit + 1):
        inner = brackets.replace(b"[]", b"")  # removes exactly the innermost pairs
        if len(inner) == len(brackets):  # empty, or unbalanced ("]]][[["): the opening rest
            return depth + brackets.count(b"[") > limit
        brackets = inner
    return True


_PREVIEW = reprlib.Repr()
_PREVIEW.maxlevel, _PREVIEW.maxstring, _PREVIEW.maxother, _PREVIEW.maxlong = 2, 40, 40, 40


def _preview(value: Any) -> str:
    """A short repr for error messages (bounded in length and depth, whatever was sent)."""
    return _PREVIEW.repr(value)


def _frame(frame: Any, where: str) -> tuple[np.ndarray, int, float, tuple[int, int] | None]:
    frame = frame_object(frame, where)
    try:
        data = parse_landmarks(frame["landmarks"], f"{where}.landmarks")
    except LandmarkFormatError as exc:
        raise PayloadError(exc.code, str(exc)) from None
    return (
        data,
        _frame_id(frame.get("frame_id"), f"{where}.frame_id"),
        _timestamp(frame.get("timestamp"), f"{where}.timestamp"),
        _image_size(frame.get("image_size"), f"{where}.image_size"),
    )


def frame_object(frame: Any, where: str) -> Mapping[str, Any]:
    """A frame as an object with ``landmarks`` (a bare list of landmarks is one)."""
    if isinstance(frame, list):
        return {"landmarks": frame}
    if not isinstance(frame, Mapping):
        raise PayloadError("bad_type", f"{where} must be a JSON object, not {json_kind(frame)}")
    if "landmarks" not in frame:
        raise PayloadError(
            "bad_type",
            f"{where} has no 'landmarks'; send {{'landmarks': [33 x {{x, y, z, visibility}}]}}",
        )
    return frame


def _frame_id(value: Any, where: str) -> int:
    if value is None:
        return NO_FRAME_ID
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FRAME_ID:
        raise PayloadError(
            "bad_type", f"{where} must be an integer 0..{MAX_FRAME_ID}, got {_preview(value)}"
        )
    return value


def _timestamp(value: Any, where: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PayloadError(
            "bad_type", f"{where} must be a finite number of milliseconds, got {_preview(value)}"
        )
    return float(value)


def _image_size(value: Any, where: str) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        width, height = value.get("width"), value.get("height")
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        width, height = value
    else:
        raise PayloadError(
            "bad_type",
            f"{where} must be {{'width': w, 'height': h}} in pixels, got {_preview(value)}",
        )
    if not (_image_side(width) and _image_side(height)):
        raise PayloadError(
            "bad_type",
            f"{where} width and height must be integers 1..{MAX_IMAGE_SIDE}, got {_preview(value)}",
        )
    return int(width), int(height)


def _image_side(side: Any) -> TypeGuard[int]:
    return isinstance(side, int) and not isinstance(side, bool) and 0 < side <= MAX_IMAGE_SIDE


# -- binary keypoints -----------------------------------------------------------------------------
def encode_frames(
    data: np.ndarray,
    frame_ids: Sequence[int] | np.ndarray | None = None,
    timestamps: Sequence[float] | np.ndarray | None = None,
    image_size: tuple[int, int] | None = None,
) -> bytes:
    """Pack ``(n, 33, 4)`` frames (float32 on the wire) into one binary ``keypoints`` message."""
    frames = np.asarray(data, dtype="<f4")
    if frames.ndim == 2:
        frames = frames[None]
    if frames.ndim != 3 or frames.shape[1:] != (N_LANDMARKS, N_CHANNELS):
        raise PayloadError("bad_type", f"frames must be (n, 33, 4), got {frames.shape}")
    n = frames.shape[0]
    ids = np.full(n, NO_FRAME_ID, "<i8") if frame_ids is None else np.asarray(frame_ids, "<i8")
    stamps = np.full(n, np.nan, "<f8") if timestamps is None else np.asarray(timestamps, "<f8")
    if ids.shape != (n,) or stamps.shape != (n,):
        raise PayloadError("bad_type", f"need {n} frame ids and {n} timestamps")
    width, height = image_size or (0, 0)
    header = BINARY_HEADER.pack(BINARY_MAGIC, n, N_LANDMARKS, N_CHANNELS, width, height)
    return header + ids.tobytes() + stamps.tobytes() + frames.tobytes()


def decode_frames(message: bytes | bytearray | memoryview, limits: PayloadLimits) -> FrameBatch:
    """Unpack a binary ``keypoints`` message (see ``BINARY_HEADER``) into a FrameBatch.

    Unlike JSON, NaN is accepted (a missing landmark; an all-NaN frame has no detection); inf and
    magnitudes over ``landmark_parser.MAX_ABS_VALUE`` are not.
    """
    buf = memoryview(message).cast("B")
    if len(buf) > limits.max_bytes:
        raise PayloadError(
            "too_large", f"binary message of {len(buf)} bytes; the limit is {limits.max_bytes}"
        )
    if len(buf) < BINARY_HEADER.size or bytes(buf[:4]) != BINARY_MAGIC:
        raise PayloadError(
            "bad_type",
            f"binary keypoints start with the {BINARY_HEADER.size}-byte header "
            f"{BINARY_MAGIC!r}...; send JSON or use encode_frames()",
        )
    _, n, landmarks, channels, width, height = BINARY_HEADER.unpack_from(buf)
    if landmarks != N_LANDMARKS:
        raise PayloadError(
            "landmark_count", f"binary frames have {landmarks} landmarks; expected {N_LANDMARKS}"
        )
    if channels != N_CHANNELS or n == 0:
        raise PayloadError(
            "bad_type", f"binary header says {n} frames x {channels} channels; need >= 1 x 4"
        )
    if n > limits.max_frames:
        raise PayloadError(
            "too_large", f"{n} frames in one message; send at most {limits.max_frames}"
        )
    expected = BINARY_HEADER.size + n * (16 + N_LANDMARKS * N_CHANNELS * 4)
    if len(buf) != expected:
        raise PayloadError(
            "bad_type",
            f"binary message of {len(buf)} bytes does not match its header ({n} frames: "
            f"{expected} bytes)",
        )
    offset = BINARY_HEADER.size
    ids = np.frombuffer(buf, "<i8", n, offset).astype(np.int64)
    stamps = np.frombuffer(buf, "<f8", n, offset + 8 * n).astype(np.float64)
    data = np.frombuffer(buf, "<f4", n * N_LANDMARKS * N_CHANNELS, offset + 16 * n)
    data = data.astype(np.float64).reshape(n, N_LANDMARKS, N_CHANNELS)
    try:
        check_values(data, "binary frames", ALL_OPTIONAL)
    except LandmarkFormatError as exc:
        raise PayloadError(exc.code, str(exc)) from None
    if (ids < NO_FRAME_ID).any() or (ids > MAX_FRAME_ID).any() or np.isinf(stamps).any():
        raise PayloadError(
            "bad_type",
            f"binary frame ids must be -1 (none) or 0..{MAX_FRAME_ID}, timestamps finite or NaN",
        )
    if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE:
        raise PayloadError(
            "bad_type",
            f"binary image size {width} x {height}: sides must be 1..{MAX_IMAGE_SIDE} (0: unknown)",
        )
    size = (width, height) if width and height else None
    return FrameBatch(data=data, frame_ids=ids, timestamps=stamps, image_size=size)


# -- images and settings --------------------------------------------------------------------------
def parse_image(message: Any, limits: PayloadLimits | None = None) -> ImageFrame:
    """Validate a ``frame`` message: JPEG/PNG bytes, or ``{"image": bytes, "frame_id",
    "timestamp"}``. Decoding happens later (see ``images.decode_image``)."""
    limits = limits or PayloadLimits()
    frame_id, timestamp = NO_FRAME_ID, math.nan
    if isinstance(message, Mapping):
        frame_id = _frame_id(message.get("frame_id"), "frame_id")
        timestamp = _timestamp(message.get("timestamp"), "timestamp")
        message = message.get("image")
    if not isinstance(message, (bytes, bytearray, memoryview)):
        raise PayloadError(
            "bad_type",
            "a frame is binary JPEG or PNG data (or {'image': <bytes>}), not " + json_kind(message),
        )
    data = bytes(message)
    if len(data) > limits.max_bytes:
        raise PayloadError(
            "too_large", f"image of {len(data)} bytes; the limit is {limits.max_bytes}"
        )
    if not (data.startswith(_JPEG_MAGIC) or data.startswith(_PNG_MAGIC)):
        raise PayloadError("bad_image", "the frame is neither JPEG nor PNG data")
    return ImageFrame(data=data, frame_id=frame_id, timestamp=timestamp)


#: ``configure`` keys and their meaning (the original StreamPoseML's ``frame_window_*`` names are
#: accepted too).
CONFIGURE_KEYS: dict[str, str] = {
    "window_size": "frames per window (must match the model's window)",
    "overlap": "frames shared by consecutive windows (stride = window_size - overlap)",
    "stride": "frames between the ends of consecutive windows",
    "model_id": "id of a stored model for this session (null: follow the active model)",
    "image_size": "{width, height} of the client's video, in pixels",
    "include_features": "true: frame_result also carries the feature row",
    "analyzer": "squat, falls or gait: the frames also go to that movement analyzer, whose "
    "findings come as 'analysis' events (null: none)",
    "num_poses": f"1..{MAX_NUM_POSES}: people tracked per frame (1: the first pose only)",
    "subject": "the track id whose frames are classified (null: the largest person)",
}
CONFIGURE_ALIASES = {"frame_window_size": "window_size", "frame_window_overlap": "overlap"}


def parse_configure(message: Any) -> dict[str, Any]:
    """Validate a ``configure`` message; returns only the keys given, with checked values."""
    if isinstance(message, str):
        message = _loads(message, PayloadLimits())
    if not isinstance(message, Mapping):
        raise PayloadError("bad_type", f"configure takes a JSON object, not {json_kind(message)}")
    out: dict[str, Any] = {}
    for raw_key, value in message.items():
        key = CONFIGURE_ALIASES.get(raw_key, raw_key)
        if key not in CONFIGURE_KEYS:
            known = ", ".join(sorted([*CONFIGURE_KEYS, *CONFIGURE_ALIASES]))
            raise PayloadError(
                "unknown_field", f"unknown configure key {_preview(raw_key)}; known: {known}"
            )
        if key in ("window_size", "stride"):
            if value is not None and not _int_in(value, 1, 100_000):
                raise PayloadError(
                    "bad_type", f"{raw_key} must be an integer >= 1, got {_preview(value)}"
                )
        elif key == "overlap":
            if value is not None and not _int_in(value, 0, 100_000):
                raise PayloadError(
                    "bad_type", f"{raw_key} must be an integer >= 0, got {_preview(value)}"
                )
        elif key == "model_id":
            if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 128):
                raise PayloadError("bad_type", "model_id must be a model id string or null")
        elif key == "image_size":
            value = _image_size(value, "image_size")
        elif key == "include_features" and not isinstance(value, bool):
            raise PayloadError(
                "bad_type", f"include_features must be true or false, got {_preview(value)}"
            )
        elif key == "num_poses" and not _int_in(value, 1, MAX_NUM_POSES):
            raise PayloadError(
                "bad_type",
                f"num_poses must be an integer 1..{MAX_NUM_POSES}, got {_preview(value)}",
            )
        elif key == "subject" and value is not None and not _int_in(value, 0, MAX_TRACK_ID):
            raise PayloadError(
                "bad_type",
                f"subject must be a track id (an integer >= 0) or null (the largest person), got "
                f"{_preview(value)}",
            )
        elif key == "analyzer" and value is not None:
            from stream_pose_ml.analysis.registry import ANALYZERS

            if value not in ANALYZERS:
                raise PayloadError(
                    "unknown_analyzer",
                    f"analyzer must be one of {', '.join(sorted(ANALYZERS))} or null, "
                    f"got {_preview(value)}",
                )
        out[key] = value
    if out.get("overlap") is not None and out.get("stride") is not None:
        raise PayloadError("bad_type", "give overlap or stride, not both")
    return out


def _int_in(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
