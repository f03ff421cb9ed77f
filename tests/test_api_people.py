"""Several people in a live session, against the real server process with real clients.

Generated scenes (``tracking_scenes``: people with known names, detections shuffled in every
frame) go as JSON ``keypoints`` with ``configure {"num_poses": n}``; the real demo video's JPEG
frames go as ``frame`` events. Each message is answered with a ``people`` event; only the
subject's frames reach the window (``frame_result.track_id``), and the window holds exactly that
person's frames (its feature rows equal the offline rows of that person).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from api_server import ApiServer, LiveClient, save_legacy_model
from demo_people import ON_THE_BOX_UNTIL, detect_demo_people, who
from test_message_schema import assert_valid
from tracking_scenes import FPS, IMAGE_SIZE, Scene, hidden, make_scene, still, walk

from stream_pose_ml.demo_data import DEMO_FPS, DEMO_SIZE
from stream_pose_ml.features import sliding_windows
from stream_pose_ml.keypoints.sequence import PoseSequence
from stream_pose_ml.learning.loading import load_model
from stream_pose_ml.serving import encode_frames
from stream_pose_ml.tracking import TrackerSettings

pytestmark = pytest.mark.slow

WINDOW = 3
#: Frames a new track needs before it has an id.
MIN_HITS = TrackerSettings().min_hits
#: Demo frames sent as images (both people are found in most of the last 20).
DEMO_FRAMES = 80


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_legacy_model(tmp_path_factory.mktemp("people-models") / "w3.pkl", window=WINDOW)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> Iterator[ApiServer]:
    data = tmp_path_factory.mktemp("people-api") / "data"
    settings = {
        "STREAM_POSE_ML_MAX_MESSAGE_BYTES": "1000000",
        "STREAM_POSE_ML_POSE_MODEL": "lite",
        # the tests send faster than their 30 fps timestamps, waiting for each answer: after a
        # slow start that looks like a backlog, which the server would shed ("Overload")
        "STREAM_POSE_ML_STALE_FRAME_MS": "60000",
    }
    with ApiServer(data, settings) as api:
        response = api.upload(model_path, frame_window_size=WINDOW)
        assert response.status_code == 200, response.text
        yield api


@pytest.fixture
def client(server: ApiServer) -> Iterator[LiveClient]:
    """A live client that also records ``people`` events."""
    live = LiveClient(server.url, connect=False)
    live.sio.on("people", live._recorder("people"))
    live.sio.connect(server.url, transports=["websocket"], wait_timeout=10)
    try:
        yield live
    finally:
        live.close()


def configure(client: LiveClient, **settings: Any) -> dict[str, Any]:
    client.clear()
    client.emit("configure", settings)
    return client.wait_for("configured")[0]


def frame_body(detections: np.ndarray, frame_id: int, fps: float = FPS) -> dict[str, Any]:
    """One JSON frame holding every detection (the browser's list of poses), timed at ``fps``."""
    return {
        "landmarks": [pose.tolist() for pose in detections],
        "frame_id": frame_id,
        "timestamp": frame_id * 1000.0 / fps,
    }


def send(client: LiveClient, scene: Scene, frames: range, per_message: int = 1) -> None:
    """Send ``frames`` of the scene, ``per_message`` frames a message, and wait for each
    message's ``people`` event and ``frame_result`` (so that no window is dropped)."""
    for first in range(frames.start, frames.stop, per_message):
        ids = range(first, min(first + per_message, frames.stop))
        message = {
            "frames": [frame_body(scene.frames[i], i) for i in ids],
            "image_size": list(IMAGE_SIZE),
        }
        client.emit("keypoints", message)
        client.wait_for("people", lambda p, last=ids[-1]: p["frames"][-1]["frame_id"] == last)
        client.wait_for("frame_result", lambda r, last=ids[-1]: r["frame_id"] == last)


def windows(client: LiveClient, since: int = 0) -> list[dict[str, Any]]:
    """Every classified window's answer received, oldest first, from frame ``since`` on."""
    answers = [w for r in client.received("frame_result") for w in r.get("results", [r])]
    return [w for w in answers if w["label"] is not None and w["frame_id"] >= since]


def people_frames(client: LiveClient) -> dict[int, dict[str, Any]]:
    """Every frame of the ``people`` events received, by frame id."""
    return {f["frame_id"]: f for body in client.received("people") for f in body["frames"]}


def ids_by_name(scene: Scene, frames: dict[int, dict[str, Any]]) -> dict[str, set[int | None]]:
    """The ids each true person got in ``frames``."""
    named: dict[str, set[int | None]] = {}
    for frame_id, frame in frames.items():
        names = scene.truths[frame_id]
        assert len(frame["track_ids"]) == len(names) == len(frame["boxes"])
        for name, track_id in zip(names, frame["track_ids"], strict=True):
            named.setdefault(name, set()).add(track_id)
    return named


def person_frames(scene: Scene, name: str, frames: range) -> np.ndarray:
    """The frames of one person (NaN where they are not detected)."""
    out = np.full((len(frames), 33, 4), np.nan)
    for k, i in enumerate(frames):
        if name in scene.truths[i]:
            out[k] = scene.frames[i][scene.truths[i].index(name)]
    return out


def offline_rows(model_path: Path, frames: np.ndarray) -> np.ndarray:
    model = load_model(model_path)
    transform = model.feature_transform().with_input(image_size=IMAGE_SIZE)
    return transform.transform(sliding_windows(PoseSequence(data=frames), WINDOW, 1))


def features_of(result: dict[str, Any]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in result["features"]])


def two_people(n_frames: int, seed: int = 0) -> Scene:
    """A tall person ("near", the largest) and a smaller one ("far"), both standing."""
    return make_scene(
        {"near": still(0.3, 0.95, 0.6), "far": walk(0.9, 0.6, 0.7, 0.35, n_frames)},
        n_frames,
        seed=seed,
    )


def test_two_people_keep_their_ids_and_the_largest_is_classified(
    client: LiveClient, model_path: Path
) -> None:
    scene = two_people(24)
    settings = configure(client, num_poses=2, include_features=True)
    assert (settings["num_poses"], settings["subject"]) == (2, None)
    send(client, scene, range(24))
    frames = people_frames(client)
    assert sorted(frames) == list(range(24))
    confirmed = {i: f for i, f in frames.items() if i >= MIN_HITS - 1}
    named = ids_by_name(scene, confirmed)
    assert all(len(ids) == 1 and None not in ids for ids in named.values()), named
    (near,), (far,) = named["near"], named["far"]
    assert near != far and {near, far} <= {0, 1}
    assert all(f["subject"] == near for f in confirmed.values())
    assert all(f["subject"] is None for i, f in frames.items() if i < MIN_HITS - 1)
    assert client.received("people")[-1]["tracks"] == sorted([near, far])
    for body in client.received("people"):
        assert_valid("People", body)
    # before confirmation the detections are tentative (no id), with their boxes
    first = frames[0]
    assert first["track_ids"] == [None, None] and all(len(b) == 4 for b in first["boxes"])
    box = first["boxes"][scene.truths[0].index("near")]
    pose = scene.frames[0][scene.truths[0].index("near")]
    assert box == pytest.approx([*pose[:, :2].min(axis=0), *pose[:, :2].max(axis=0)], abs=1e-4)
    # before anyone is confirmed the window holds frames without a detection (no track); from
    # the confirmation on it restarts with the near person's frames only
    start = MIN_HITS - 1
    results = windows(client)
    assert {r["track_id"] for r in results if r["frame_id"] < start} == {None}
    live = {r["frame_id"]: features_of(r) for r in results if r["track_id"] == near}
    assert sorted(live) == list(range(start + WINDOW - 1, 24))
    rows = offline_rows(model_path, person_frames(scene, "near", range(start, 24)))
    np.testing.assert_allclose(np.stack([live[i] for i in sorted(live)]), rows, atol=1e-9)
    for result in client.received("frame_result"):
        assert_valid("FrameResult", result)
    assert not client.received("error")


def test_three_people_in_batches_keep_their_ids(client: LiveClient) -> None:
    scene = make_scene(
        {
            "a": walk(0.15, 0.85, 0.9, 0.45, 60),
            "b": walk(0.85, 0.15, 0.75, 0.38, 60),
            "c": still(0.5, 0.3, 0.2),  # above the two crossing
        },
        60,
        seed=3,
    )
    configure(client, num_poses=3)
    send(client, scene, range(60), per_message=6)
    frames = people_frames(client)
    named = ids_by_name(scene, {i: f for i, f in frames.items() if i >= MIN_HITS - 1})
    assert all(len(ids) == 1 and None not in ids for ids in named.values()), named
    assert len({next(iter(ids)) for ids in named.values()}) == 3
    assert client.received("people")[-1]["tracks"] == [0, 1, 2]


def test_configure_subject_switches_the_window_to_that_person(
    client: LiveClient, model_path: Path
) -> None:
    scene = two_people(30, seed=1)
    configure(client, num_poses=2, include_features=True)
    send(client, scene, range(12))
    named = ids_by_name(scene, {i: f for i, f in people_frames(client).items() if i >= 8})
    (near,), (far,) = named["near"], named["far"]
    settings = configure(client, subject=far)
    assert (settings["subject"], settings["num_poses"]) == (far, 2)
    send(client, scene, range(12, 24))
    results = [r for r in client.received("frame_result") if r["frame_id"] >= 12]
    # the window restarts filling with the far person's frames
    assert results[0]["label"] is None and results[0]["track_id"] == far
    assert results[0]["window_fill"] == pytest.approx(1 / WINDOW)
    classified = windows(client, since=12)
    assert classified and all(r["track_id"] == far for r in classified)
    assert [r["frame_id"] for r in classified] == list(range(12 + WINDOW - 1, 24))
    rows = offline_rows(model_path, person_frames(scene, "far", range(12, 24)))
    np.testing.assert_allclose(np.stack([features_of(r) for r in classified]), rows, atol=1e-9)
    assert all(f["subject"] == far for f in people_frames(client).values())
    # back to automatic: the current subject is kept while its track lives
    assert configure(client, subject=None)["subject"] is None
    send(client, scene, range(24, 30))
    assert {f["subject"] for f in people_frames(client).values()} == {far}
    assert {r["track_id"] for r in windows(client, since=24)} == {far} != {near}


def test_a_chosen_subject_that_leaves_gives_frames_without_a_detection(
    client: LiveClient,
) -> None:
    scene = make_scene(
        {"near": still(0.3, 0.95, 0.6), "far": hidden(still(0.8, 0.7, 0.35), range(15, 99))},
        24,
        seed=2,
    )
    configure(client, num_poses=2, include_features=True)
    send(client, scene, range(10))
    (far,) = ids_by_name(scene, {i: f for i, f in people_frames(client).items() if i >= 8})["far"]
    configure(client, subject=far)
    send(client, scene, range(10, 24))
    frames = people_frames(client)
    assert all(frames[i]["subject"] == far for i in range(10, 15))
    assert all(frames[i]["subject"] is None for i in range(15, 24))
    results = {r["frame_id"]: r for r in windows(client, since=10)}
    assert all(r["track_id"] == far for r in results.values())
    assert np.isfinite(features_of(results[14])).all()
    assert np.isnan(features_of(results[23])).all()  # a window of frames without the person


def test_an_automatic_subject_that_leaves_is_replaced_by_the_largest_left(
    client: LiveClient,
) -> None:
    unseen = TrackerSettings().max_unseen_s
    leaves = 12
    n = leaves + int(unseen * FPS) + 12
    scene = make_scene(
        {"near": hidden(still(0.3, 0.95, 0.6), range(leaves, n)), "far": still(0.8, 0.7, 0.35)},
        n,
        seed=4,
    )
    configure(client, num_poses=2)
    send(client, scene, range(n), per_message=8)
    frames = people_frames(client)
    named = ids_by_name(scene, {i: f for i, f in frames.items() if i >= MIN_HITS - 1})
    (near,), (far,) = named["near"], named["far"]
    assert all(frames[i]["subject"] == near for i in range(MIN_HITS - 1, leaves))
    # the near person's track lives on for max_unseen_s (no frames of theirs), then ends
    switch = min(i for i, f in frames.items() if f["subject"] == far)
    assert leaves < switch <= leaves + unseen * FPS + 2
    assert all(frames[i]["subject"] is None for i in range(leaves, switch))
    assert all(frames[i]["subject"] == far for i in range(switch, n))
    # the window restarted with the far person: no window spans the switch
    after = windows(client, since=switch)
    assert {r["track_id"] for r in after} == {far}
    assert after[0]["frame_id"] == switch + WINDOW - 1


def test_binary_frames_are_refused_with_several_people_and_the_session_goes_on(
    client: LiveClient,
) -> None:
    scene = two_people(8)
    # one person (the default): binary frames as before, no people events, no track_id
    configure(client)
    client.emit("keypoints", encode_frames(scene.frames[0][:1], [0], image_size=IMAGE_SIZE))
    result = client.wait_for("frame_result")[0]
    assert "track_id" not in result and not client.received("people")
    configure(client, num_poses=2)
    client.emit("keypoints", encode_frames(scene.frames[1][:1], [1], image_size=IMAGE_SIZE))
    error = client.wait_for("error")[0]
    assert error["code"] == "bad_type" and "several people need JSON frames" in error["message"]
    send(client, scene, range(2, 8))
    assert len(people_frames(client)) == 6
    assert client.wait_for("frame_result", lambda r: r["frame_id"] == 7)


def test_poses_beyond_num_poses_are_ignored_and_bad_poses_refused(client: LiveClient) -> None:
    scene = make_scene(
        {"a": still(0.2, 0.95, 0.6), "b": still(0.5, 0.9, 0.5), "c": still(0.8, 0.85, 0.4)},
        8,
        seed=6,
    )
    in_order = [f[np.argsort(names)] for f, names in zip(scene.frames, scene.truths, strict=True)]
    scene = Scene(in_order, [sorted(names) for names in scene.truths], in_order)
    configure(client, num_poses=2)
    send(client, scene, range(8))  # a, b, c in every frame: c is beyond num_poses
    for frame in people_frames(client).values():  # the detections as sent, the third ignored
        assert len(frame["track_ids"]) == len(frame["boxes"]) == 3
        assert frame["track_ids"][2] is None and frame["boxes"][2] is None
    assert len(client.received("people")[-1]["tracks"]) == 2
    # an empty pose keeps its place; a pose of 32 landmarks is refused, the session goes on
    pose = scene.frames[8 - 1][0].tolist()
    client.emit("keypoints", {"landmarks": [[], pose], "frame_id": 8, "timestamp": 8000 / FPS})
    frame = client.wait_for("people", lambda p: p["frames"][0]["frame_id"] == 8)[0]["frames"][0]
    assert frame["track_ids"][0] is None and frame["boxes"][0] is None
    assert frame["track_ids"][1] is not None
    client.emit("keypoints", {"landmarks": [pose, pose[:32]], "frame_id": 9})
    error = client.wait_for("error")[0]
    assert error["code"] == "landmark_count" and "landmarks[1]" in error["message"]
    client.emit("keypoints", {"landmarks": [pose], "frame_id": 10, "timestamp": 10000 / FPS})
    assert client.wait_for("people", lambda p: p["frames"][0]["frame_id"] == 10)


@pytest.mark.parametrize(
    "settings",
    [
        {"num_poses": 0},
        {"num_poses": 6},
        {"num_poses": "2"},
        {"num_poses": 2.0},
        {"num_poses": True},
        {"num_poses": None},
        {"subject": -1},
        {"subject": -3},
        {"subject": "1"},
        {"subject": 1.5},
        {"subject": False},
    ],
)
def test_bad_num_poses_and_subject_are_errors_and_change_nothing(
    client: LiveClient, settings: dict[str, Any]
) -> None:
    configure(client, num_poses=2, subject=4)
    client.clear()
    client.emit("configure", settings)
    error = client.wait_for("error")[0]
    assert error["code"] == "bad_type" and next(iter(settings)) in error["message"]
    client.emit("heartbeat")
    session = client.wait_for("heartbeat")[0]["session"]
    assert (session["num_poses"], session["subject"]) == (2, 4)
    assert_valid("Heartbeat", client.received("heartbeat")[0])


def test_analysis_events_name_the_subject(client: LiveClient) -> None:
    scene = two_people(60, seed=5)
    configure(client, num_poses=2, analyzer="gait")
    send(client, scene, range(60), per_message=10)
    analyses = client.received("analysis")
    assert analyses, "the analyzer said nothing"
    named = ids_by_name(scene, {i: f for i, f in people_frames(client).items() if i >= 8})
    assert {a["track_id"] for a in analyses} <= {None, *named["near"]}
    assert analyses[-1]["track_id"] in named["near"]
    for body in analyses:
        assert_valid("Analysis", body)


def test_frame_events_with_two_people_on_the_demo_video(
    client: LiveClient, demo_video: Path
) -> None:
    """The server's MediaPipe (lite, video mode) finds the man on the box and the woman walking
    in: both get an id, side by side in the same frames."""
    capture = cv2.VideoCapture(str(demo_video))
    jpegs = []
    while len(jpegs) < DEMO_FRAMES:
        ok, bgr = capture.read()
        assert ok, f"the demo video has fewer than {DEMO_FRAMES} frames"
        jpegs.append(cv2.imencode(".jpg", bgr)[1].tobytes())
    capture.release()
    configure(client, num_poses=2)
    for i, jpeg in enumerate(jpegs):
        client.emit("frame", {"image": jpeg, "frame_id": i, "timestamp": i * 1000 / 30})
        client.wait_for("people", lambda p, i=i: p["frames"][0]["frame_id"] == i, timeout=60)
    frames = people_frames(client)
    assert sorted(frames) == list(range(DEMO_FRAMES))
    both = [i for i, f in frames.items() if len(set(f["track_ids"]) - {None}) == 2]
    assert len(both) >= 5, " ".join(str(f["track_ids"]) for f in frames.values())
    last = frames[DEMO_FRAMES - 1]["track_ids"]
    assert DEMO_FRAMES - 1 in both and set(last) <= set(client.received("people")[-1]["tracks"])
    # the subject (the largest person, kept while its track lives) is one of the ids named
    named = [i for i, f in frames.items() if f["subject"] is not None]
    assert named, "no frame named its subject"
    last = named[-1]
    assert frames[last]["subject"] in frames[last]["track_ids"]
    result = client.wait_for("frame_result", lambda r: r["frame_id"] == last)[-1]
    assert result["track_id"] == frames[last]["subject"]
    assert not client.received("error")


@pytest.mark.parametrize("every", [6, 8])
def test_the_demo_at_the_browsers_pose_rate_keeps_one_id_per_person(
    client: LiveClient, every: int
) -> None:
    """The browser runs pose at 3.5-5.5 fps: MediaPipe's people of every 6th (5 fps) or 8th
    (3.75 fps) demo frame, sent one frame a message with their timestamps in a
    new order every frame. While the man is on the box both keep one id each, and both are
    named in most frames where both are found (confirmation takes ``confirm_s``, not 5 frames).
    No id is ever given to both. At 5 fps the man keeps his id through his jump off the box; at
    3.75 fps he gets a new one: he is next seen on the ground 1.6 s later, half the frame away."""
    detections = detect_demo_people(every=every)
    rng = np.random.default_rng(every)
    configure(client, num_poses=2)
    for index, poses in detections.items():
        shuffled = [poses[j] for j in rng.permutation(len(poses))]
        body = frame_body(np.array(shuffled).reshape(-1, 33, 4), index, DEMO_FPS)
        client.emit("keypoints", {"frames": [body], "image_size": list(DEMO_SIZE)})
        client.wait_for("people", lambda p, i=index: p["frames"][-1]["frame_id"] == i)
        detections[index] = shuffled
    on_box: dict[str, set[int]] = {"man": set(), "woman": set()}
    ever: dict[str, set[int]] = {"man": set(), "woman": set()}
    both_found = both_named = 0
    for index, frame in people_frames(client).items():
        poses = detections[index]
        assert len(frame["track_ids"]) == len(poses)
        names = {who(pose, index) for pose in poses}
        for pose, track_id in zip(poses, frame["track_ids"], strict=True):
            if track_id is not None:
                ever[who(pose, index)].add(track_id)
                if index <= ON_THE_BOX_UNTIL:
                    on_box[who(pose, index)].add(track_id)
        if index <= ON_THE_BOX_UNTIL and names == {"man", "woman"}:
            both_found += 1
            both_named += None not in frame["track_ids"]
    assert {name: len(ids) for name, ids in on_box.items()} == {"man": 1, "woman": 1}, on_box
    assert not ever["man"] & ever["woman"], ever
    assert len(ever["woman"]) == 1, ever
    if every == 6:  # seen every 0.2 s, the man is matched through his jump (prediction_doubt)
        assert len(ever["man"]) == 1, ever
    assert both_found >= 60 // every and both_named >= 0.75 * both_found, (both_found, both_named)
    assert not client.received("error")
