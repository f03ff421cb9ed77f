"""OpenPose BODY-25 JSON in and out, and BlazePose-33 <-> BODY-25 conversion."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stream_pose_ml.errors import PoseDataError
from stream_pose_ml.keypoints import BLAZEPOSE_33, PoseSequence
from stream_pose_ml.keypoints.formats.openpose import (
    blazepose_to_body25,
    body25_to_blazepose,
    from_openpose_json,
    to_openpose_json,
    write_openpose_json,
)
from stream_pose_ml.keypoints.landmarks import OPENPOSE_BODY_25

SIZE = (1280, 720)


def openpose_frame(*people: list[float]) -> dict:
    """A frame as OpenPose 1.7 writes it (its floats have a few decimals)."""
    return {
        "version": 1.3,
        "people": [
            {
                "person_id": [-1],
                "pose_keypoints_2d": list(values),
                "face_keypoints_2d": [],
                "hand_left_keypoints_2d": [],
                "hand_right_keypoints_2d": [],
                "pose_keypoints_3d": [],
                "face_keypoints_3d": [],
                "hand_left_keypoints_3d": [],
                "hand_right_keypoints_3d": [],
            }
            for values in people
        ],
    }


def random_person(seed: int, missing: tuple[int, ...] = ()) -> list[float]:
    rng = np.random.default_rng(seed)
    points = np.stack(
        [
            np.round(rng.uniform(0, SIZE[0], 25), 3),
            np.round(rng.uniform(0, SIZE[1], 25), 3),
            np.round(rng.uniform(0.05, 0.95, 25), 6),
        ],
        axis=-1,
    )
    points[list(missing)] = 0.0
    return points.reshape(-1).tolist()


def body25_sequence() -> PoseSequence:
    """A BODY-25 sequence read from OpenPose frames: a missing frame and missing keypoints."""
    frames = [
        openpose_frame(random_person(0, missing=(3, 24))),
        openpose_frame(random_person(1)),
        openpose_frame(),
        openpose_frame(random_person(2, missing=(0,))),
    ]
    return from_openpose_json(
        frames, SIZE, frame_numbers=[0, 1, 2, 3], fps=25, name="walk.mp4", metadata={"k": 1}
    )


def test_reading_normalizes_pixels_and_keeps_confidence_and_missing_points() -> None:
    person = random_person(0, missing=(3,))
    seq = from_openpose_json([openpose_frame(person), openpose_frame()], SIZE)
    assert seq.landmark_names == OPENPOSE_BODY_25 and seq.image_size == SIZE
    assert seq.source == "openpose" and seq.frame_numbers.tolist() == [0, 1]
    points = np.array(person).reshape(25, 3)
    assert seq.data[0, 0, 0] == points[0, 0] / 1280 and seq.data[0, 0, 1] == points[0, 1] / 720
    assert seq.data[0, 0, 3] == points[0, 2]
    assert np.isnan(seq.channel("z")).all()
    assert not seq.present[0, 3] and seq.present[0, 4]
    assert seq.detected.tolist() == [True, False]


def test_writing_produces_openpose_frames_with_zeros_for_missing_points() -> None:
    seq = body25_sequence()
    frames = to_openpose_json(seq)
    assert len(frames) == 4 and frames[0]["version"] == 1.3
    person = frames[0]["people"][0]
    assert person["person_id"] == [-1] and len(person["pose_keypoints_2d"]) == 75
    assert person["pose_keypoints_2d"][9:12] == [0.0, 0.0, 0.0]  # keypoint 3 is missing
    assert frames[2]["people"] == []
    json.dumps(frames, allow_nan=False)


def test_body25_sequence_round_trips_through_openpose_json() -> None:
    seq = body25_sequence()
    frames = json.loads(json.dumps(to_openpose_json(seq)))
    back = from_openpose_json(
        frames, SIZE, frame_numbers=seq.frame_numbers, fps=25, name="walk.mp4", metadata={"k": 1}
    )
    assert back.equals(seq, atol=1e-15)  # x * width / width: at most one rounding
    assert PoseSequence.from_openpose_json(
        frames, SIZE, frame_numbers=seq.frame_numbers, fps=25, name="walk.mp4", metadata={"k": 1}
    ).equals(back)
    assert seq.to_openpose_json() == to_openpose_json(seq)


def test_openpose_json_round_trips_through_a_sequence() -> None:
    frames = [openpose_frame(random_person(5, missing=(7,))), openpose_frame()]
    again = to_openpose_json(from_openpose_json(frames, SIZE))
    np.testing.assert_allclose(
        again[0]["people"][0]["pose_keypoints_2d"],
        frames[0]["people"][0]["pose_keypoints_2d"],
        rtol=1e-15,
    )
    assert again[1]["people"] == []


def test_files_are_named_and_ordered_by_frame_number(tmp_path: Path) -> None:
    seq = body25_sequence()
    paths = write_openpose_json(seq, tmp_path)
    assert [p.name for p in paths][:2] == [
        "walk_000000000000_keypoints.json",
        "walk_000000000001_keypoints.json",
    ]
    back = from_openpose_json(tmp_path, SIZE, fps=25, name="walk.mp4", metadata={"k": 1})
    assert back.equals(seq, atol=1e-15)

    # names that are not zero-padded still sort by number, and give the frame numbers
    other = tmp_path / "unpadded"
    other.mkdir()
    for number in (2, 10, 1):
        person = random_person(number)
        (other / f"clip_{number}_keypoints.json").write_text(json.dumps(openpose_frame(person)))
    read = from_openpose_json(other, SIZE)
    assert read.frame_numbers.tolist() == [1, 2, 10]
    assert read.data[2, 0, 0] == random_person(10)[0] / 1280


def test_several_people_pick_the_most_confident_or_an_index() -> None:
    low = np.array(random_person(1)).reshape(25, 3)
    low[:, 2] = 0.1
    high = np.array(random_person(2)).reshape(25, 3)
    high[:, 2] = 0.9
    frame = openpose_frame(low.reshape(-1).tolist(), high.reshape(-1).tolist())
    assert from_openpose_json([frame], SIZE).data[0, 0, 3] == 0.9
    assert from_openpose_json([frame], SIZE, person=0).data[0, 0, 3] == 0.1
    assert not from_openpose_json([frame], SIZE, person=2).detected[0]


def test_blazepose_to_body25_uses_midpoints_and_the_lower_confidence() -> None:
    rng = np.random.default_rng(3)
    data = rng.uniform(0.1, 0.9, size=(2, 33, 4))
    data[1, BLAZEPOSE_33.index("left_hip")] = np.nan
    blaze = PoseSequence(data, image_size=SIZE, fps=30, name="a")
    body = blazepose_to_body25(blaze)
    assert body.landmark_names == OPENPOSE_BODY_25 and body.fps == 30 and body.name == "a"

    def at(seq: PoseSequence, name: str) -> np.ndarray:
        return seq.data[:, seq.index(name)]

    left, right = at(blaze, "left_shoulder"), at(blaze, "right_shoulder")
    np.testing.assert_allclose(at(body, "neck")[:, :3], (left[:, :3] + right[:, :3]) / 2)
    np.testing.assert_array_equal(at(body, "neck")[:, 3], np.minimum(left[:, 3], right[:, 3]))
    np.testing.assert_array_equal(at(body, "left_big_toe"), at(blaze, "left_foot_index"))
    np.testing.assert_array_equal(at(body, "right_small_toe"), at(blaze, "right_foot_index"))
    np.testing.assert_array_equal(at(body, "right_elbow"), at(blaze, "right_elbow"))
    assert not body.present[1, body.index("mid_hip")] and body.present[0, body.index("mid_hip")]
    assert not body.present[1, body.index("left_hip")]
    # a converted sequence can be written as OpenPose JSON and read back (z is not written)
    back = from_openpose_json(to_openpose_json(body), SIZE, fps=30, name="a")
    np.testing.assert_allclose(back.data[..., [0, 1, 3]], body.data[..., [0, 1, 3]], rtol=1e-15)


def test_body25_to_blazepose_fills_shared_names_and_foot_index() -> None:
    body = body25_sequence()
    blaze = body25_to_blazepose(body)
    assert blaze.landmark_names == BLAZEPOSE_33 and blaze.frame_numbers.tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(
        blaze.data[:, blaze.index("left_knee")], body.data[:, body.index("left_knee")]
    )
    np.testing.assert_array_equal(
        blaze.data[:, blaze.index("right_foot_index")], body.data[:, body.index("right_big_toe")]
    )
    for name in ("left_eye_inner", "mouth_left", "left_pinky", "right_thumb"):
        assert np.isnan(blaze.data[:, blaze.index(name)]).all()
    # BlazePose -> BODY-25 -> BlazePose keeps every landmark BODY-25 has
    original = PoseSequence(np.random.default_rng(0).uniform(size=(3, 33, 4)))
    again = body25_to_blazepose(blazepose_to_body25(original))
    shared = [BLAZEPOSE_33.index(n) for n in BLAZEPOSE_33 if n in OPENPOSE_BODY_25]
    np.testing.assert_array_equal(again.data[:, shared], original.data[:, shared])


def test_malformed_openpose_input_names_the_file_and_entry(tmp_path: Path) -> None:
    coco18 = openpose_frame([1.0] * 54)
    (tmp_path / "v_000000000000_keypoints.json").write_text(json.dumps(coco18))
    with pytest.raises(
        PoseDataError, match=r"v_000000000000_keypoints\.json: people\[0\].*54 values, expected 75"
    ):
        from_openpose_json(tmp_path, SIZE)
    values = random_person(0)
    values[13] = "12.5"  # keypoint 4 (right_wrist) y
    with pytest.raises(
        PoseDataError, match=r"frames\[1\]: pose_keypoints_2d\[13\] \(right_wrist y"
    ):
        from_openpose_json([openpose_frame(), openpose_frame(values)], SIZE)
    with pytest.raises(PoseDataError, match=r"frames\[0\]: expected an OpenPose frame"):
        from_openpose_json([{"version": 1.3}], SIZE)
    with pytest.raises(PoseDataError, match="image size"):
        from_openpose_json([openpose_frame()], None)  # type: ignore[arg-type]

    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for name in ("a_000000000000_keypoints.json", "b_000000000001_keypoints.json"):
        (mixed / name).write_text(json.dumps(openpose_frame()))
    with pytest.raises(PoseDataError, match="more than one video"):
        from_openpose_json(mixed, SIZE)
    with pytest.raises(PoseDataError, match="blazepose_to_body25"):
        to_openpose_json(PoseSequence.empty(2, image_size=SIZE))
