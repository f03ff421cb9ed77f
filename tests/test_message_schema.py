"""The Socket.IO message schema (schemas/socket-messages.schema.json) agrees with the server.

Client -> server: for every message of a corpus (each JSON shape the server accepts, and one
refused message per error code JSON Schema can express), the schema's verdict equals the server
parser's (``parse_keypoints`` / ``parse_configure`` / ``parse_image`` raising ``PayloadError`` or
not), and each case pins the server's error code. Server -> client: what the server really emits
(``frame_result``, ``configured``, ``heartbeat``, ``error``) validates. The web UI's types are
generated from the same schema (web_ui/src/lib/messages.gen.ts).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple

import numpy as np
import pytest
from api_server import frame_message, pose_frames, save_legacy_model
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from api.sockets import heartbeat_body
from stream_pose_ml.serving import (
    ClassificationResult,
    LiveService,
    ModelStore,
    PayloadError,
    PayloadLimits,
    ServingError,
    SessionLimitError,
    parse_configure,
    parse_image,
    parse_keypoints,
)
from stream_pose_ml.serving.payload import CONFIGURE_ALIASES, CONFIGURE_KEYS

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "socket-messages.schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
REGISTRY: Registry = Registry().with_resource(SCHEMA["$id"], Resource.from_contents(SCHEMA))


def validator(definition: str) -> Draft202012Validator:
    """A validator of one ``$defs`` entry of the schema (e.g. ``"KeypointsMessage"``)."""
    return Draft202012Validator({"$ref": f"{SCHEMA['$id']}#/$defs/{definition}"}, registry=REGISTRY)


def schema_errors(definition: str, message: Any) -> list[str]:
    """What the schema says is wrong with ``message`` as a ``definition`` ([] if nothing)."""
    return [
        f"{list(e.absolute_path)}: {e.message}" for e in validator(definition).iter_errors(message)
    ]


def server_code(parse: Callable[[Any], object], message: Any) -> str | None:
    """The server parser's error code for ``message``, or None if it accepts it."""
    try:
        parse(message)
    except PayloadError as exc:
        return exc.code
    return None


def wire(message: Any) -> Any:
    """``message`` as the other side decodes it (tuples become lists)."""
    return json.loads(json.dumps(message, allow_nan=False))


# -- client -> server corpus ----------------------------------------------------------------------
POINT = {"x": 0.51, "y": 0.22, "z": -0.31, "visibility": 0.99}
POINTS = [POINT] * 33
XYZ = [[0.5, 0.2, -0.3]] * 33
XYZV = [[0.5, 0.2, -0.3, 0.9]] * 33


def points(**change: Any) -> list[dict[str, Any]]:
    """33 landmark objects, the first one changed (``None``: a JSON null)."""
    return [{**POINT, **change}, *POINTS[1:]]


def without(*keys: str) -> list[dict[str, Any]]:
    """33 landmark objects, the first one without ``keys``."""
    return [{k: v for k, v in POINT.items() if k not in keys}, *POINTS[1:]]


class Case(NamedTuple):
    name: str
    message: Any
    code: str | None  # the server's error code; None: accepted


KEYPOINTS = [
    # accepted: every shape of docs/api.md and payload.py
    Case(
        "canonical frame",
        {
            "landmarks": POINTS,
            "frame_id": 120,
            "timestamp": 4000.0,
            "image_size": {"width": 1280, "height": 720},
        },
        None,
    ),
    Case("landmarks only", {"landmarks": POINTS}, None),
    Case("no z or visibility", {"landmarks": without("z", "visibility")}, None),
    Case("integer coordinates", {"landmarks": points(x=1, y=0)}, None),
    Case("extra landmark key", {"landmarks": points(presence=0.5)}, None),
    Case("lists x, y, z", {"landmarks": XYZ}, None),
    Case("lists x, y, z, v", {"landmarks": XYZV}, None),
    Case("no detection", {"landmarks": [], "frame_id": 3}, None),
    Case(
        "PoseLandmarkerResult",
        {"landmarks": [POINTS, POINTS], "worldLandmarks": [POINTS]},
        None,
    ),
    Case("PoseLandmarkerResult, nobody", {"landmarks": [[]], "worldLandmarks": [[]]}, None),
    Case("poses of lists", {"landmarks": [XYZV]}, None),
    Case("other poses unchecked", {"landmarks": [POINTS, "anything"]}, None),
    Case("bare list", POINTS, None),
    Case("bare list of lists", XYZ, None),
    Case("bare empty list", [], None),
    Case(
        "batch",
        {
            "frames": [{"landmarks": POINTS, "frame_id": 1}, {"landmarks": [], "frame_id": 2}],
            "image_size": [1280, 720],
        },
        None,
    ),
    Case("batch of bare lists", {"frames": [POINTS, XYZ, []]}, None),
    Case("batch ignores other keys", {"frames": [POINTS], "landmarks": "ignored"}, None),
    Case(
        "nulls are absent",
        {"landmarks": POINTS, "frame_id": None, "timestamp": None, "image_size": None},
        None,
    ),
    Case("largest frame id", {"landmarks": [], "frame_id": 2**53 - 1}, None),
    Case("image size as list", {"landmarks": [], "image_size": [1, 65535]}, None),
    Case("unknown keys ignored", {"landmarks": [], "source": "webcam"}, None),
    # refused: each error code JSON Schema can express
    Case("a number", 42, "bad_type"),
    Case("an object without landmarks", {"frame_id": 1}, "bad_type"),
    Case("landmarks not a list", {"landmarks": {"x": 1}}, "bad_type"),
    Case("landmarks null", {"landmarks": None}, "bad_type"),
    Case("32 landmarks", {"landmarks": POINTS[:32]}, "landmark_count"),
    Case("34 landmarks", {"landmarks": [*POINTS, POINT]}, "landmark_count"),
    Case("pose of 17", {"landmarks": [POINTS[:17]]}, "landmark_count"),
    Case("bare list of 5", POINTS[:5], "landmark_count"),
    Case("null x", {"landmarks": points(x=None)}, "non_finite"),
    Case("null y in a list", {"landmarks": [[0.5, None, 0.1]] * 33}, "non_finite"),
    Case("null z", {"landmarks": points(z=None)}, "non_finite"),
    Case("null visibility", {"landmarks": points(visibility=None)}, "non_finite"),
    Case("lists with null z", {"landmarks": [[0.5, 0.2, None, 0.9]] * 33}, "non_finite"),
    Case("lists with null visibility", {"landmarks": [[0.5, 0.2, 0.1, None]] * 33}, "non_finite"),
    Case("boolean y", {"landmarks": points(y=False)}, "bad_type"),
    Case("boolean visibility in a list", {"landmarks": [[0.5, 0.2, 0.1, True]] * 33}, "bad_type"),
    Case("string x", {"landmarks": points(x="0.5")}, "bad_type"),
    Case("object x", {"landmarks": points(x={"v": 1})}, "bad_type"),
    Case("missing y", {"landmarks": without("y")}, "bad_type"),
    Case("landmark a number", {"landmarks": [*POINTS[:32], 7]}, "bad_type"),
    Case("objects and lists mixed", {"landmarks": [*POINTS[:32], [0.1, 0.2, 0.3]]}, "bad_type"),
    Case("lists of 3 and 4 mixed", {"landmarks": [*XYZ[:32], XYZV[0]]}, "bad_type"),
    Case("lists of 2", {"landmarks": [[0.5, 0.5]] * 33}, "bad_type"),
    Case("lists of 5", {"landmarks": [[0.5, 0.5, 0.1, 0.9, 1.0]] * 33}, "bad_type"),
    Case("33 numbers", {"landmarks": [0.5] * 33}, "bad_type"),
    Case("negative frame id", {"landmarks": [], "frame_id": -1}, "bad_type"),
    Case("frame id too large", {"landmarks": [], "frame_id": 2**53}, "bad_type"),
    Case("frame id a string", {"landmarks": [], "frame_id": "7"}, "bad_type"),
    Case("frame id a bool", {"landmarks": [], "frame_id": True}, "bad_type"),
    Case("timestamp a string", {"landmarks": [], "timestamp": "now"}, "bad_type"),
    Case("timestamp a bool", {"landmarks": [], "timestamp": False}, "bad_type"),
    Case("image width 0", {"landmarks": [], "image_size": {"width": 0, "height": 9}}, "bad_type"),
    Case("image side over 65535", {"landmarks": [], "image_size": [65536, 9]}, "bad_type"),
    Case("image height missing", {"landmarks": [], "image_size": {"width": 9}}, "bad_type"),
    Case("image size of 3", {"landmarks": [], "image_size": [9, 9, 9]}, "bad_type"),
    Case("image width a float", {"landmarks": [], "image_size": [9.5, 9]}, "bad_type"),
    Case("image size a string", {"landmarks": [], "image_size": "9x9"}, "bad_type"),
    Case("empty batch", {"frames": []}, "bad_type"),
    Case("batch frames null", {"frames": None, "landmarks": POINTS}, "bad_type"),
    Case("batch frame a string", {"frames": ["x"]}, "bad_type"),
    Case("batch frame without landmarks", {"frames": [{"frame_id": 1}]}, "bad_type"),
    Case("batch frame of 3", {"frames": [POINTS[:3]]}, "landmark_count"),
    Case("batch frame null x", {"frames": [{"landmarks": points(x=None)}]}, "non_finite"),
    Case("batch image size bad", {"frames": [POINTS], "image_size": [0, 1]}, "bad_type"),
]

CONFIGURE = [
    Case("nothing", {}, None),
    Case(
        "every key",
        {
            "window_size": 30,
            "overlap": 25,
            "model_id": "a9e96998f0c8259c",
            "image_size": {"width": 1280, "height": 720},
            "include_features": True,
        },
        None,
    ),
    Case("stride", {"stride": 5, "window_size": None}, None),
    Case("aliases", {"frame_window_size": 30, "frame_window_overlap": 0}, None),
    Case("nulls", {"overlap": None, "model_id": None, "image_size": None}, None),
    Case("null overlap with stride", {"overlap": None, "stride": 3}, None),
    Case("image size as list", {"image_size": [640, 360]}, None),
    Case("largest values", {"window_size": 100_000, "overlap": 100_000}, None),
    Case("unknown key", {"frame_rate": 30}, "unknown_field"),
    Case("a list", [], "bad_type"),
    Case("window 0", {"window_size": 0}, "bad_type"),
    Case("window too large", {"frame_window_size": 100_001}, "bad_type"),
    Case("window a string", {"window_size": "30"}, "bad_type"),
    Case("window a bool", {"window_size": True}, "bad_type"),
    Case("negative overlap", {"overlap": -1}, "bad_type"),
    Case("stride 0", {"stride": 0}, "bad_type"),
    Case("overlap and stride", {"overlap": 2, "stride": 3}, "bad_type"),
    Case("alias overlap and stride", {"frame_window_overlap": 2, "stride": 3}, "bad_type"),
    Case("empty model id", {"model_id": ""}, "bad_type"),
    Case("model id too long", {"model_id": "m" * 129}, "bad_type"),
    Case("model id a number", {"model_id": 7}, "bad_type"),
    Case("bad image size", {"image_size": {"width": 1280}}, "bad_type"),
    Case("include_features null", {"include_features": None}, "bad_type"),
    Case("include_features a number", {"include_features": 1}, "bad_type"),
]

JPEG = b"\xff\xd8\xff\xe0" + bytes(16)
FRAMES = [
    Case("image object", {"image": JPEG, "frame_id": 4, "timestamp": 12.5}, None),
    Case("image only", {"image": JPEG}, None),
    Case("no image", {"frame_id": 4}, "bad_type"),
    Case("negative frame id", {"image": JPEG, "frame_id": -1}, "bad_type"),
    Case("timestamp a string", {"image": JPEG, "timestamp": "t"}, "bad_type"),
]


def _ids(cases: list[Case]) -> list[str]:
    return [case.name for case in cases]


@pytest.mark.parametrize("case", KEYPOINTS, ids=_ids(KEYPOINTS))
def test_keypoints_schema_agrees_with_the_server(case: Case) -> None:
    assert server_code(parse_keypoints, case.message) == case.code
    # the same message as JSON text (the server decodes it first)
    assert server_code(parse_keypoints, json.dumps(case.message)) == case.code
    errors = schema_errors("KeypointsMessage", case.message)
    assert (not errors) == (case.code is None), errors


@pytest.mark.parametrize("case", CONFIGURE, ids=_ids(CONFIGURE))
def test_configure_schema_agrees_with_the_server(case: Case) -> None:
    assert server_code(parse_configure, case.message) == case.code
    errors = schema_errors("ConfigureMessage", case.message)
    assert (not errors) == (case.code is None), errors


@pytest.mark.parametrize("case", FRAMES, ids=_ids(FRAMES))
def test_frame_schema_agrees_with_the_server(case: Case) -> None:
    assert server_code(parse_image, case.message) == case.code
    errors = schema_errors("FrameMessage", case.message)
    assert (not errors) == (case.code is None), errors


def test_every_configure_key_and_alias_is_in_the_schema() -> None:
    described = set(SCHEMA["$defs"]["ConfigureMessage"]["properties"])
    assert described == set(CONFIGURE_KEYS) | set(CONFIGURE_ALIASES)


# what the schema's descriptions say only the server checks: the schema accepts these
SERVER_ONLY = [
    Case("coordinate beyond 1e4", {"landmarks": points(x=2e4)}, "out_of_range"),
    Case("frame id written as 1.0", {"landmarks": [], "frame_id": 1.0}, "bad_type"),
    Case("image side written as 9.0", {"landmarks": [], "image_size": [9.0, 9]}, "bad_type"),
    Case("NaN x (not JSON)", {"landmarks": points(x=math.nan)}, "non_finite"),
    Case("NaN z (not JSON)", {"landmarks": points(z=math.nan)}, "non_finite"),
    Case("NaN visibility (not JSON)", {"landmarks": points(visibility=math.nan)}, "non_finite"),
    Case("infinite timestamp (not JSON)", {"landmarks": [], "timestamp": math.inf}, "bad_type"),
]


@pytest.mark.parametrize("case", SERVER_ONLY, ids=_ids(SERVER_ONLY))
def test_what_only_the_server_checks(case: Case) -> None:
    assert server_code(parse_keypoints, case.message) == case.code
    assert schema_errors("KeypointsMessage", case.message) == []


def test_only_the_server_limits_frames_per_message() -> None:
    batch = {"frames": [POINTS] * 3}
    assert server_code(lambda m: parse_keypoints(m, PayloadLimits(max_frames=2)), batch) == (
        "too_large"
    )
    assert schema_errors("KeypointsMessage", batch) == []


def test_only_the_server_checks_configure_integers_written_as_floats() -> None:
    assert server_code(parse_configure, {"window_size": 30.0}) == "bad_type"
    assert schema_errors("ConfigureMessage", {"window_size": 30.0}) == []


def test_a_key_and_its_alias_depend_on_their_order_on_the_server() -> None:
    """The server keeps the later of ``overlap`` and ``frame_window_overlap``; the schema, which
    cannot see key order, refuses overlap with stride whichever comes last."""
    later_null = {"overlap": 5, "frame_window_overlap": None, "stride": 3}
    assert server_code(parse_configure, later_null) is None
    assert schema_errors("ConfigureMessage", later_null) != []


def test_boolean_coordinates_are_refused_by_the_server() -> None:
    message = {"landmarks": points(x=True)}
    assert schema_errors("KeypointsMessage", message) != []
    assert server_code(parse_keypoints, message) == "bad_type"


def test_a_huge_integer_coordinate_is_out_of_range_on_the_server() -> None:
    message = {"landmarks": points(x=10**400)}
    assert schema_errors("KeypointsMessage", message) == []
    assert server_code(parse_keypoints, message) == "out_of_range"


# -- server -> client -----------------------------------------------------------------------------
def assert_valid(definition: str, body: Any) -> None:
    errors = schema_errors(definition, wire(body))
    assert not errors, errors


def result(**change: Any) -> ClassificationResult:
    fields: dict[str, Any] = {
        "label": "Arms Raised",
        "probabilities": {"Arms Lowered": 0.25, "Arms Raised": 0.75},
        "frame_id": 120,
        "window_fill": 1.0,
        "window_size": 30,
        "processing_ms": 2.123456,
        "dropped": 0,
        "model_id": "a9e96998f0c8259c",
        "backend": "in_process",
        "timestamp": 4000.0,
    }
    return ClassificationResult(**{**fields, **change})


def test_classification_results_validate() -> None:
    assert_valid("FrameResult", result().to_message())
    assert_valid("FrameResult", result(features=[0.5, None, 1.25]).to_message())
    assert_valid("FrameResult", result(probabilities=None, backend="mlflow").to_message())
    progress = result(label=None, probabilities=None, window_fill=0.4, backend=None)
    assert_valid("FrameResult", result(timestamp=math.nan).to_message())
    assert_valid("FrameResult", progress.to_message())
    several = [result(frame_id=118).to_message(), result(frame_id=120).to_message()]
    assert_valid("FrameResult", {**several[-1], "results": several})


def test_a_frame_result_with_a_field_the_contract_does_not_name_is_refused() -> None:
    assert schema_errors("FrameResult", {**result().to_message(), "extra": 1})
    one = result().to_message()
    several = {**one, "results": [one, one]}
    assert schema_errors("FrameResult", several) == []
    assert schema_errors("FrameResult", {**one, "results": [several, one]})  # never nested
    assert schema_errors("FrameResult", {**one, "results": [one]})  # several means two or more


def test_error_bodies_validate() -> None:
    assert_valid("ServerError", PayloadError("landmark_count", "send 33").to_dict())
    assert_valid("ServerError", ServingError(None, "bad request").to_dict())
    assert_valid("ServerError", SessionLimitError(None, "try again later").to_dict())
    assert_valid("ServerError", {"code": "idle_timeout", "message": "reconnect"})


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_legacy_model(tmp_path_factory.mktemp("schema-model") / "w3.pkl", window=3)


def test_what_a_live_session_emits_validates(tmp_path: Path, model_path: Path) -> None:
    emitted: list[tuple[str, dict[str, Any]]] = []
    service = LiveService(
        ModelStore(tmp_path / "models"),
        emit=lambda event, body, sid: emitted.append((event, body)),
        spawn=lambda fn: fn(),
    )
    state = SimpleNamespace(service=service)  # what heartbeat_body reads of the API's state
    service.open_session("s")
    assert_valid("Heartbeat", heartbeat_body(state, "s"))  # before any model
    assert_valid("Heartbeat", heartbeat_body(state, "gone"))  # a closed session
    with open(model_path, "rb") as handle:
        service.set_model(handle, model_path.name)
    assert_valid("Configured", service.configure("s", {"image_size": [1280, 720]}))
    assert_valid("Configured", service.configure("s", {"include_features": True, "stride": 1}))
    frames = pose_frames(6, seed=2)
    for i, frame in enumerate(frames[:4]):
        service.keypoints("s", frame_message(frame, frame_id=i, timestamp=33.3 * i))
    service.keypoints("s", {"frames": [frame_message(f) for f in frames[4:]]})
    with pytest.raises(PayloadError) as refused:
        service.keypoints("s", {"landmarks": np.zeros((5, 4)).tolist()})
    assert_valid("ServerError", refused.value.to_dict())
    assert_valid("Heartbeat", heartbeat_body(state, "s"))

    results = [body for event, body in emitted if event == "frame_result"]
    assert {r["label"] is None for r in results} == {True, False}  # progress and classified
    assert any("results" in r for r in results) and all("features" in r for r in results[2:])
    for body in results:
        assert_valid("FrameResult", body)
    assert {event for event, _ in emitted} == {"frame_result"}


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    for name in SCHEMA["$defs"]:
        validator(name)  # every definition resolves


def test_warning_bodies_validate(tmp_path: Path) -> None:
    """The 'warning' a session gets when its frames are read late and shed."""
    from api_server import frame_message, pose_frames, save_legacy_model

    from stream_pose_ml.serving import LiveService, ModelStore

    events: list[tuple[str, dict]] = []
    service = LiveService(
        ModelStore(tmp_path / "models"),
        emit=lambda event, body, sid: events.append((event, body)),
        spawn=lambda fn: fn(),
    )
    model = save_legacy_model(tmp_path / "w3.pkl", window=3, seed=1)
    with open(model, "rb") as upload:
        service.set_model(upload, model.name)
    service.open_session("s")
    frames = pose_frames(40, seed=1)
    for i in range(40):  # the last 35 read at once, up to 1.2 s late
        read_s = 0.005 + i * 0.033 if i < 5 else 1.4
        service.keypoints("s", frame_message(frames[i], i, timestamp=i * 33.0), read_s)
    warnings = [body for event, body in events if event == "warning"]
    assert warnings
    for body in warnings:
        assert_valid("ServerWarning", body)
