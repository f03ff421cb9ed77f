"""Malformed packets and messages against the real server (gunicorn, gevent) and real clients.

Each raw Engine.IO / Socket.IO packet kind of ``benchmarks/fuzz_corpus.py`` is sent on a plain
WebSocket: it gets its ``error`` code (or the connection is closed, with the reason logged), the
attacked session still answers, an honest client in another session gets the same answers as
before any attack, and the server log holds no traceback. Then the validation gaps of issue 12
(booleans, huge integers, null or NaN z/visibility, image sizes, frame ids) through a real
Socket.IO client, and long-polling bodies that are not Engine.IO payloads.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from api_server import (
    ApiServer,
    LiveClient,
    frame_message,
    live_clients,
    pose_frames,
    save_legacy_model,
)

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCHMARKS) not in sys.path:  # the benchmarks are scripts, not a package
    sys.path.insert(0, str(BENCHMARKS))

from fuzz_corpus import (  # noqa: E402
    CLOSED,
    PACKET_KINDS,
    POLLING_BODIES,
    PacketKind,
    RawSocket,
    polling_refused,
)

from api.fast_json import loads  # noqa: E402
from stream_pose_ml.serving import encode_frames  # noqa: E402
from stream_pose_ml.serving.payload import MAX_FRAME_ID  # noqa: E402

pytestmark = pytest.mark.slow

HONEST_FRAMES = pose_frames(6, seed=11)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("packet-attacks")
    model = save_legacy_model(folder / "window3.pkl", window=3)
    with ApiServer(folder / "data", worker="gevent") as api:
        response = api.upload(model, frame_window_size=3)
        assert response.status_code == 200, response.text
        yield api


def honest_answers(server: ApiServer) -> list[tuple[int, str | None]]:
    """``(frame id, label)`` of each result of a fresh session streaming the honest frames."""
    with live_clients(server.url, 1) as (client,):
        for i, frame in enumerate(HONEST_FRAMES):  # one at a time: nothing is dropped
            client.emit("keypoints", frame_message(frame, frame_id=i))
            client.wait_for("frame_result", lambda r, i=i: bool(r["frame_id"] == i))
        assert not client.received("error")
        return [(r["frame_id"], r["label"]) for r in client.received("frame_result")]


@pytest.fixture(scope="module")
def reference(server: ApiServer) -> list[tuple[int, str | None]]:
    answers = honest_answers(server)
    assert [i for i, _ in answers] == list(range(6)) and answers[-1][1] is not None
    return answers


def assert_unharmed(server: ApiServer, reference: list[tuple[int, str | None]]) -> None:
    assert server.process is not None and server.process.poll() is None, "the server exited"
    assert honest_answers(server) == reference
    assert "Traceback" not in server.log_text()


def _kind_id(kind: PacketKind) -> str:
    return kind.name.replace(" ", "_").replace(",", "")


@pytest.mark.parametrize("kind", PACKET_KINDS, ids=[_kind_id(k) for k in PACKET_KINDS])
def test_each_malformed_packet_is_answered_and_breaks_nothing(
    server: ApiServer, reference: list[tuple[int, str | None]], kind: PacketKind
) -> None:
    raw = RawSocket(server.port)
    try:
        assert raw.answer(kind) == kind.answer
        if kind.answer == CLOSED:
            assert "event=transport_refused" in server.log_text()
        else:
            assert raw.heartbeat(), "the attacked session stopped answering"
    finally:
        raw.close()
    assert_unharmed(server, reference)


def test_a_bad_packet_before_the_socketio_connect_closes_the_connection(
    server: ApiServer, reference: list[tuple[int, str | None]]
) -> None:
    raw = RawSocket(server.port, connect=False)
    try:
        assert raw.answer(PacketKind("event data an object", ("42{}",), CLOSED)) == CLOSED
    finally:
        raw.close()
    assert "event=packet_refused" in server.log_text()
    assert_unharmed(server, reference)


def test_a_binary_event_after_a_lying_count_is_read_again(server: ApiServer) -> None:
    """The announced-but-missing attachment does not swallow the session's next packets."""
    raw = RawSocket(server.port)
    try:
        placeholder = {"_placeholder": True, "num": 0}
        raw.send("452-" + json.dumps(["keypoints", placeholder]))
        raw.send(encode_frames(HONEST_FRAMES[:1], [0]))
        assert raw.answer(PacketKind("early end", ('42["heartbeat"]',), "")) == "bad_packet"
        raw.send("451-" + json.dumps(["keypoints", placeholder]))
        raw.send(encode_frames(HONEST_FRAMES[:1], [5]))
        result = raw.expect(lambda f: isinstance(f, str) and f.startswith('42["frame_result"'))
        assert json.loads(result[2:])[1]["frame_id"] == 5
    finally:
        raw.close()


def test_the_standard_library_fallback_never_recurses() -> None:
    """orjson refuses nesting beyond 1024 levels; the standard library would then recurse."""
    with pytest.raises(ValueError, match="nested deeper"):
        loads("[" * 100_000 + "]" * 100_000)
    assert loads("[NaN]")[0] != loads("[NaN]")[0]  # what orjson refuses is still read


# -- validation gaps (issue 12, part 4) through a real Socket.IO client ---------------------------
def _frame(**change: object) -> dict[str, object]:
    message = frame_message(HONEST_FRAMES[0], frame_id=0)
    message["landmarks"][4].update(change)
    return message


def _binary(frame_id: int = 0, image_size: tuple[int, int] = (640, 480)) -> bytes:
    return encode_frames(HONEST_FRAMES[:1], [frame_id], image_size=image_size)


VALIDATION = {
    "boolean x": (_frame(x=True), "bad_type"),
    "boolean visibility": (_frame(visibility=False), "bad_type"),
    "huge integer x": (_frame(x=10**400), "out_of_range"),
    "null z": (_frame(z=None), "non_finite"),
    "NaN z": (_frame(z=math.nan), "non_finite"),
    "null visibility": (_frame(visibility=None), "non_finite"),
    "NaN visibility": (_frame(visibility=math.nan), "non_finite"),
    "frame id beyond 2^53 - 1": ({**_frame(), "frame_id": MAX_FRAME_ID + 1}, "bad_type"),
    "frame id 2^63 - 1": ({**_frame(), "frame_id": 2**63 - 1}, "bad_type"),
    "binary frame id beyond 2^53 - 1": (_binary(frame_id=MAX_FRAME_ID + 1), "bad_type"),
    "binary image width 65536": (_binary(image_size=(65536, 480)), "bad_type"),
    "binary image height 2^32 - 1": (_binary(image_size=(640, 2**32 - 1)), "bad_type"),
}


@pytest.mark.parametrize("case", sorted(VALIDATION))
def test_validation_gaps_are_refused_with_their_code(
    server: ApiServer, reference: list[tuple[int, str | None]], case: str
) -> None:
    message, code = VALIDATION[case]
    with live_clients(server.url, 1) as (client,):
        client.emit("keypoints", message)
        error = client.wait_for("error")[0]
        assert error["code"] == code, error
        assert not client.received("frame_result")
    assert_unharmed(server, reference)


def test_omitted_z_and_visibility_are_still_accepted(server: ApiServer) -> None:
    frame = frame_message(HONEST_FRAMES[0], frame_id=0)
    for point in frame["landmarks"]:
        del point["visibility"]
    del frame["landmarks"][3]["z"]
    with live_clients(server.url, 1) as (client,):
        client.emit("keypoints", frame)
        assert client.wait_for("frame_result")[0]["frame_id"] == 0
        assert not client.received("error")


def test_server_numbering_after_the_largest_frame_id_wraps_to_zero(
    server: ApiServer, reference: list[tuple[int, str | None]]
) -> None:
    with live_clients(server.url, 1) as (client,):
        client.emit("keypoints", frame_message(HONEST_FRAMES[0], frame_id=MAX_FRAME_ID))
        client.wait_for("frame_result", lambda r: r["frame_id"] == MAX_FRAME_ID)
        for frame in HONEST_FRAMES[1:3]:  # numbered by the server
            client.emit("keypoints", frame_message(frame))
        last = client.wait_for("frame_result", lambda r: r["frame_id"] == 1)[0]
        assert [r["frame_id"] for r in client.received("frame_result")] == [MAX_FRAME_ID, 0, 1]
        assert last["label"] is not None
        assert not client.received("error")
    assert_unharmed(server, reference)


# -- long polling ---------------------------------------------------------------------------------
@pytest.mark.parametrize("case", sorted(POLLING_BODIES))
def test_a_polling_body_that_is_not_engineio_closes_that_session(
    server: ApiServer, reference: list[tuple[int, str | None]], case: str
) -> None:
    assert polling_refused(server.url, POLLING_BODIES[case])
    assert "event=transport_refused" in server.log_text()
    assert_unharmed(server, reference)


def test_a_polling_client_still_works(server: ApiServer) -> None:
    client = LiveClient(server.url, connect=False)
    try:
        client.sio.connect(server.url, transports=["polling"], wait_timeout=10)
        client.emit("keypoints", frame_message(HONEST_FRAMES[0], frame_id=0))
        assert client.wait_for("frame_result")[0]["frame_id"] == 0
        client.emit("keypoints", np.float32(1).tobytes())  # binary over polling: base64
        assert client.wait_for("error")[0]["code"] == "bad_type"
    finally:
        client.close()
