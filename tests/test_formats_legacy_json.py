"""The original StreamPoseML's keypoint JSON: per-frame dicts, files, sequence JSON, old layouts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stream_pose_ml.errors import PoseDataError
from stream_pose_ml.keypoints import BLAZEPOSE_33, PoseSequence
from stream_pose_ml.keypoints.formats import (
    from_legacy_frames,
    from_legacy_sequence,
    legacy_frame_directory,
    legacy_sequence_path,
    read_legacy_frame_files,
    read_legacy_sequence_json,
    to_legacy_frames,
    to_legacy_sequence,
    write_legacy_frame_files,
    write_legacy_sequence_json,
)
from stream_pose_ml.keypoints.formats.legacy_json_layout import FRAME_KEYS, JOINT_KEYS

SIZE = (1920, 1080)


def make_sequence(n_frames: int = 6, first_frame: int = 1) -> PoseSequence:
    """Random poses with a frame without detection (index 2) and two missing landmarks."""
    total = max(n_frames, 6)
    rng = np.random.default_rng(7)
    data = rng.uniform(0.05, 0.95, size=(total, 33, 4))
    data[..., 2] = rng.normal(0.0, 0.3, size=(total, 33))
    data[2] = np.nan
    data[0, 5] = np.nan
    data[4, 31] = np.nan
    return PoseSequence(
        data[:n_frames],
        frame_numbers=np.arange(first_frame, first_frame + n_frames),
        fps=29.97,
        image_size=SIZE,
        source="mediapipe",
        name="dance.mp4",
        metadata={"pose_model": "pose_landmarker_full", "sequence_id": 1677107027968938000},
    )


def documented_frame(frame_number: int, xn: np.ndarray, yn: np.ndarray, z: np.ndarray) -> dict:
    """A frame as the original's README documents it: pixels rounded to 0.1, no visibility key."""
    width, height = SIZE
    return {
        "sequence_id": 1234567890,
        "sequence_source": "mediapipe",
        "frame_number": frame_number,
        "image_dimensions": {"height": height, "width": width},
        "joint_positions": {
            name: {
                "x": round(float(xn[j]) * width, 1),
                "y": round(float(yn[j]) * height, 1),
                "z": float(z[j]),
                "x_normalized": float(xn[j]),
                "y_normalized": float(yn[j]),
                "z_normalized": float(z[j]),
            }
            for j, name in enumerate(BLAZEPOSE_33)
        },
    }


def same_fields(seq: PoseSequence) -> dict:
    return {"fps": seq.fps, "name": seq.name, "metadata": seq.metadata}


# -- the per-frame dict ----------------------------------------------------------------------
def test_frame_dicts_have_the_original_keys_pixels_and_normalized_values() -> None:
    seq = make_sequence()
    frames = to_legacy_frames(seq)
    assert len(frames) == 6
    first = frames[0]
    assert tuple(first) == FRAME_KEYS
    assert first["sequence_id"] == 1677107027968938000
    assert first["sequence_source"] == "mediapipe"
    assert first["frame_number"] == 1
    assert first["image_dimensions"] == {"height": 1080, "width": 1920}
    assert list(first["joint_positions"]) == list(BLAZEPOSE_33)
    nose = first["joint_positions"]["nose"]
    assert tuple(nose) == JOINT_KEYS
    x, y, z, vis = seq.data[0, 0]
    assert nose["x_normalized"] == x and nose["y_normalized"] == y
    assert nose["x"] == x * 1920 and nose["y"] == y * 1080
    assert nose["z"] == nose["z_normalized"] == z and nose["visibility"] == vis
    # a frame without detection has empty joint positions; a missing landmark has nulls
    assert frames[2]["joint_positions"] == {}
    assert set(first["joint_positions"]["right_eye"].values()) == {None}
    json.dumps(frames, allow_nan=False)  # standard JSON: no NaN anywhere


def test_frame_dicts_round_trip_losslessly_through_json() -> None:
    seq = make_sequence()
    frames = json.loads(json.dumps(to_legacy_frames(seq)))
    back = from_legacy_frames(frames, **same_fields(seq))
    assert back.equals(seq)
    assert back.detected.tolist() == [True, True, False, True, True, True]
    assert not back.present[4, 31] and back.present[4, 30]
    assert PoseSequence.from_legacy_frames(frames, **same_fields(seq)).equals(seq)
    assert seq.to_legacy_frames() == to_legacy_frames(seq)


def test_without_image_size_pixels_repeat_the_normalized_values() -> None:
    seq = PoseSequence(make_sequence().data, source="web")
    frames = to_legacy_frames(seq)
    assert frames[0]["image_dimensions"] is None and frames[0]["sequence_id"] is None
    nose = frames[0]["joint_positions"]["nose"]
    assert nose["x"] == nose["x_normalized"]
    assert from_legacy_frames(json.loads(json.dumps(frames))).equals(seq)


# -- per-frame files -------------------------------------------------------------------------
def test_frame_files_are_laid_out_like_the_original_and_read_back(tmp_path: Path) -> None:
    seq = make_sequence()
    folder = legacy_frame_directory(tmp_path / "keypoints", "videos/dance.mp4", 1677107027968938000)
    assert folder == tmp_path / "keypoints" / "dance-1677107027968938000"
    paths = write_legacy_frame_files(seq, folder)
    assert [p.name for p in paths] == [f"keypoints-000{i}.json" for i in range(1, 7)]
    assert json.loads(paths[2].read_text())["joint_positions"] == {}
    back = read_legacy_frame_files(folder, **same_fields(seq))
    assert back.equals(seq)
    assert not list(folder.glob(".*partial"))


def test_frame_files_are_ordered_by_number_past_four_digits(tmp_path: Path) -> None:
    seq = make_sequence(n_frames=4, first_frame=9998)
    paths = write_legacy_frame_files(seq, tmp_path)
    assert [p.name for p in paths][-1] == "keypoints-10001.json"  # sorts before 9998 by name
    back = read_legacy_frame_files(tmp_path, **same_fields(seq))
    assert back.frame_numbers.tolist() == [9998, 9999, 10000, 10001]
    assert back.equals(seq)


def test_frame_files_refuse_to_mix_with_old_ones_unless_overwriting(tmp_path: Path) -> None:
    write_legacy_frame_files(make_sequence(n_frames=6), tmp_path)
    shorter = make_sequence(n_frames=3)
    with pytest.raises(PoseDataError, match="already holds 6 keypoint files"):
        write_legacy_frame_files(shorter, tmp_path)
    write_legacy_frame_files(shorter, tmp_path, overwrite=True)
    assert len(list(tmp_path.glob("keypoints-*.json"))) == 3
    assert read_legacy_frame_files(tmp_path, **same_fields(shorter)).equals(shorter)


def test_a_file_in_the_documented_layout_reads_without_visibility(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    xn, yn, z = rng.uniform(0.1, 0.9, 33), rng.uniform(0.1, 0.9, 33), rng.normal(0, 0.2, 33)
    folder = tmp_path / "dance-1234567890"
    folder.mkdir()
    (folder / "keypoints-0001.json").write_text(json.dumps(documented_frame(1, xn, yn, z)))
    empty = documented_frame(2, xn, yn, z) | {"joint_positions": {}}
    (folder / "keypoints-0002.json").write_text(json.dumps(empty))
    seq = read_legacy_frame_files(folder, fps=30)
    assert seq.frame_numbers.tolist() == [1, 2]
    assert seq.image_size == SIZE and seq.source == "mediapipe"
    assert seq.metadata == {"sequence_id": 1234567890}
    np.testing.assert_array_equal(seq.data[0, :, 0], xn)  # the exact normalized values
    np.testing.assert_array_equal(seq.data[0, :, 1], yn)
    np.testing.assert_array_equal(seq.data[0, :, 2], z)
    assert np.isnan(seq.channel("visibility")).all()
    assert seq.detected.tolist() == [True, False]


def test_pixels_alone_are_divided_by_the_image_size() -> None:
    rng = np.random.default_rng(4)
    xn, yn, z = rng.uniform(0.1, 0.9, 33), rng.uniform(0.1, 0.9, 33), rng.normal(0, 0.2, 33)
    frame = documented_frame(1, xn, yn, z)
    for joint in frame["joint_positions"].values():
        del joint["x_normalized"], joint["y_normalized"], joint["z_normalized"]
    seq = from_legacy_frames([frame])
    np.testing.assert_allclose(seq.data[0, :, 0], xn, atol=0.05 / 1920)
    np.testing.assert_allclose(seq.data[0, :, 1], yn, atol=0.05 / 1080)
    np.testing.assert_array_equal(seq.data[0, :, 2], z)


def test_the_layouts_the_original_code_wrote_read_as_normalized_coordinates() -> None:
    """StreamPoseML 0.x wrote x/y normalized and *_normalized hip-centred; pose_parser pixels."""
    rng = np.random.default_rng(5)
    x, y, z = rng.uniform(0.1, 0.9, 33), rng.uniform(0.1, 0.9, 33), rng.normal(0, 0.2, 33)
    left, right = BLAZEPOSE_33.index("left_hip"), BLAZEPOSE_33.index("right_hip")
    hip_width = float(np.hypot(x[left] - x[right], y[left] - y[right]))
    mid = ((x[left] + x[right]) / 2, (y[left] + y[right]) / 2)
    hip_layout = {
        name: {
            "x": float(x[j]),
            "y": float(y[j]),
            "z": float(z[j]),
            "x_normalized": float(x[j]) / hip_width - mid[0],
            "y_normalized": float(y[j]) / hip_width - mid[1],
            "z_normalized": float(z[j]),
        }
        for j, name in enumerate(BLAZEPOSE_33)
    }
    pixel_layout = {
        name: {
            "x": float(x[j]),
            "y": float(y[j]),
            "z": float(z[j]),
            "x_normalized": float(x[j]) * 1920,
            "y_normalized": float(y[j]) * 1080,
            "z_normalized": float(z[j]) * 1920,
        }
        for j, name in enumerate(BLAZEPOSE_33)
    }
    header = {"sequence_id": 1, "sequence_source": "mediapipe"}
    dims = {"height": 1080, "width": 1920}
    frames = [
        {**header, "frame_number": 1, "image_dimensions": dims, "joint_positions": hip_layout},
        # the original live client sent frames without image dimensions
        {**header, "frame_number": 2, "image_dimensions": None, "joint_positions": hip_layout},
        {**header, "frame_number": 3, "image_dimensions": dims, "joint_positions": pixel_layout},
    ]
    seq = from_legacy_frames(frames)
    for i in range(3):
        np.testing.assert_array_equal(seq.data[i, :, :3], np.stack([x, y, z], axis=-1))


# -- the per-video sequence JSON -------------------------------------------------------------
def test_sequence_json_has_the_original_shape_and_round_trips(tmp_path: Path) -> None:
    seq = make_sequence()
    obj = to_legacy_sequence(seq)
    assert obj["name"] == "dance.mp4" and obj["type"] == "BlazePoseSequence"
    assert list(obj["frames"]) == ["1", "2", "3", "4", "5", "6"]
    frame = obj["frames"]["1"]
    assert frame["type"] == "BlasePoseFrame" and frame["has_joint_positions"] is True
    assert obj["frames"]["3"]["has_joint_positions"] is False
    assert obj["frames"]["3"]["joint_positions"] == {}
    nose = frame["joint_positions"]["nose"]
    assert nose["type"] == "Joint" and nose["name"] == "nose"
    assert nose["image_dimensions"] == {"height": 1080, "width": 1920}
    assert obj["fps"] == 29.97 and obj["metadata"] == seq.metadata

    path = legacy_sequence_path(tmp_path / "sequences", "videos/dance.mp4")
    assert path == tmp_path / "sequences" / "dance.mp4_sequence.json"
    write_legacy_sequence_json(seq, path)
    assert read_legacy_sequence_json(path).equals(seq)
    assert from_legacy_sequence(json.loads(path.read_text())).equals(seq)
    assert PoseSequence.from_legacy_sequence(seq.to_legacy_sequence()).equals(seq)


def test_sequence_json_keeps_other_landmark_sets_and_empty_sequences() -> None:
    names = tuple(f"point_{i}" for i in range(5))
    data = np.random.default_rng(1).uniform(size=(3, 5, 4))
    seq = PoseSequence(data, landmark_names=names, image_size=(64, 48), name="x")
    assert from_legacy_sequence(json.loads(json.dumps(to_legacy_sequence(seq)))).equals(seq)
    empty = PoseSequence.empty(0, image_size=(64, 48), fps=25, name="none")
    assert from_legacy_sequence(to_legacy_sequence(empty)).equals(empty)


def test_a_sequence_file_in_the_original_shape_reads(tmp_path: Path) -> None:
    """Frames keyed by number, angles/distances present, no fps or landmark names."""
    rng = np.random.default_rng(6)
    xn, yn, z = rng.uniform(0.1, 0.9, 33), rng.uniform(0.1, 0.9, 33), rng.normal(0, 0.2, 33)
    frames = {}
    for number in (1, 2):
        frame = documented_frame(number, xn, yn, z)
        if number == 2:
            frame["joint_positions"] = {}
        frame |= {
            "type": "BlasePoseFrame",
            "has_joint_positions": bool(frame["joint_positions"]),
            "angles": {},
            "distances": {},
        }
        frames[str(number)] = frame
    path = tmp_path / "dance.mp4_sequence.json"
    path.write_text(
        json.dumps({"name": "dance.mp4", "type": "BlazePoseSequence", "frames": frames})
    )
    seq = read_legacy_sequence_json(path)
    assert seq.name == "dance.mp4" and seq.fps is None and seq.image_size == SIZE
    assert seq.frame_numbers.tolist() == [1, 2] and seq.detected.tolist() == [True, False]
    np.testing.assert_array_equal(seq.data[0, :, 0], xn)


# -- malformed input -------------------------------------------------------------------------
def write_frame(folder: Path, frame: dict, number: int = 1) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"keypoints-{number:04d}.json"
    path.write_text(json.dumps(frame))
    return path


def test_wrong_landmark_count_names_the_file(tmp_path: Path) -> None:
    frame = to_legacy_frames(make_sequence(n_frames=1))[0]
    del frame["joint_positions"]["left_heel"]
    write_frame(tmp_path, frame)
    with pytest.raises(PoseDataError, match=r"keypoints-0001\.json.*32 landmarks.*left_heel"):
        read_legacy_frame_files(tmp_path)


def test_a_string_for_a_number_names_the_file_landmark_and_key(tmp_path: Path) -> None:
    frame = to_legacy_frames(make_sequence(n_frames=1))[0]
    frame["joint_positions"]["left_knee"]["y_normalized"] = "0.5"
    write_frame(tmp_path, frame)
    with pytest.raises(
        PoseDataError, match=r"keypoints-0001\.json: landmark 'left_knee' 'y_normalized'.*str"
    ):
        read_legacy_frame_files(tmp_path)
    frame["joint_positions"]["left_knee"]["y_normalized"] = True
    with pytest.raises(PoseDataError, match=r"frames\[0\].*'left_knee'.*bool"):
        from_legacy_frames([frame])


def test_missing_keys_name_the_entry(tmp_path: Path) -> None:
    frame = to_legacy_frames(make_sequence(n_frames=1))[0]
    no_number = {k: v for k, v in frame.items() if k != "frame_number"}
    with pytest.raises(PoseDataError, match=r"frames\[1\]: missing key\(s\) frame_number"):
        from_legacy_frames([frame, no_number])
    joint = frame["joint_positions"]["nose"]
    del joint["x"], joint["x_normalized"]
    path = tmp_path / "seq.json"
    path.write_text(json.dumps({"name": "a", "frames": [frame]}))
    with pytest.raises(PoseDataError, match=r"seq\.json: frames\[0\]: landmark 'nose' has neither"):
        read_legacy_sequence_json(path)


def test_disagreeing_pixel_and_normalized_values_are_an_error() -> None:
    frame = to_legacy_frames(make_sequence(n_frames=1))[0]
    frame["joint_positions"]["nose"]["x"] += 50.0
    with pytest.raises(PoseDataError, match=r"frames\[0\]: x/y and x_normalized.*'nose'"):
        from_legacy_frames([frame])


def test_broken_files_and_names_are_reported(tmp_path: Path) -> None:
    (tmp_path / "keypoints-0001.json").write_text("{not json")
    with pytest.raises(PoseDataError, match=r"keypoints-0001\.json: not a readable JSON"):
        read_legacy_frame_files(tmp_path)
    frame = to_legacy_frames(make_sequence(n_frames=1))[0]
    other = tmp_path / "other"
    write_frame(other, frame, number=7)  # frame_number 1 inside
    with pytest.raises(PoseDataError, match=r"keypoints-0007\.json: frame_number 1 does not match"):
        read_legacy_frame_files(other)
    (tmp_path / "empty").mkdir()
    with pytest.raises(PoseDataError, match=r"empty: no keypoints-\*\.json files"):
        read_legacy_frame_files(tmp_path / "empty")
    with pytest.raises(PoseDataError, match="not a folder"):
        read_legacy_frame_files(tmp_path / "missing")
    with pytest.raises(PoseDataError, match="'frames'"):
        from_legacy_sequence({"name": "a"})


# -- real MediaPipe output -------------------------------------------------------------------
@pytest.fixture(scope="module")
def mediapipe_sequence() -> PoseSequence:
    """Real MediaPipe BlazePose landmarks of four frames of the demo video."""
    import cv2
    import mediapipe as mp

    from stream_pose_ml.demo_data import DEMO_FPS, DEMO_SIZE, demo_video_path

    capture = cv2.VideoCapture(str(demo_video_path()))
    for _ in range(100):  # the dancers are in view from about frame 80
        assert capture.grab()
    frames = []
    for _ in range(4):
        ok, bgr = capture.read()
        assert ok
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
        results = [pose.process(rgb) for rgb in frames]
    results.insert(2, None)  # a frame without detection
    return PoseSequence.from_mediapipe(
        results,
        frame_numbers=[100, 101, 102, 103, 104],
        fps=DEMO_FPS,
        image_size=DEMO_SIZE,
        name="demo.mp4",
    )


@pytest.mark.slow
def test_real_mediapipe_landmarks_round_trip_through_files(
    mediapipe_sequence: PoseSequence, tmp_path: Path
) -> None:
    seq = mediapipe_sequence
    assert seq.detected.tolist() == [True, True, False, True, True]
    write_legacy_frame_files(seq, tmp_path / "frames")
    assert read_legacy_frame_files(tmp_path / "frames", **same_fields(seq)).equals(seq)
    path = write_legacy_sequence_json(seq, tmp_path / "demo.mp4_sequence.json")
    back = read_legacy_sequence_json(path)
    assert back.equals(seq)
    assert np.isfinite(back.channel("visibility")[back.detected]).all()
