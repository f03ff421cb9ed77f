"""COCO-17 keypoint arrays and COCO annotation JSON, in and out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stream_pose_ml.errors import PoseDataError
from stream_pose_ml.keypoints import BLAZEPOSE_33, PoseSequence
from stream_pose_ml.keypoints.formats.coco import (
    from_coco,
    from_coco_annotations,
    read_coco_annotations,
    to_coco,
    to_coco_annotations,
    write_coco_annotations,
)
from stream_pose_ml.keypoints.landmarks import COCO_17

SIZE = (640, 480)
COCO_INDEX = [BLAZEPOSE_33.index(name) for name in COCO_17]
OTHER_INDEX = [i for i in range(33) if i not in COCO_INDEX]


def yolo_output(n_frames: int = 4) -> np.ndarray:
    """``(frames, 17, 3)`` pixel x, y, score like YOLO-pose: a frame with no person, 0-scores."""
    rng = np.random.default_rng(11)
    points = np.stack(
        [
            rng.uniform(0, SIZE[0], (n_frames, 17)),
            rng.uniform(0, SIZE[1], (n_frames, 17)),
            rng.uniform(0.2, 1.0, (n_frames, 17)),
        ],
        axis=-1,
    )
    points[1] = [np.nan, np.nan, 0.0]  # no person in frame 1
    points[0, 3, 2] = 0.0  # left ear not found
    points[2, 16, :2] = np.nan  # right ankle not found
    return points


def coco_sequence() -> PoseSequence:
    """A BlazePose sequence restricted to the COCO landmarks (no z, NaN elsewhere)."""
    return from_coco(yolo_output(), SIZE, fps=30, name="run.mp4", metadata={"model": "yolov8n"})


def test_from_coco_maps_onto_blazepose_names() -> None:
    points = yolo_output()
    seq = from_coco(points, SIZE)
    assert seq.landmark_names == BLAZEPOSE_33 and seq.source == "coco" and seq.image_size == SIZE
    nose = seq.data[0, seq.index("nose")]
    assert nose[0] == points[0, 0, 0] / 640 and nose[1] == points[0, 0, 1] / 480
    assert nose[3] == points[0, 0, 2] and np.isnan(nose[2])
    assert np.isnan(seq.data[:, OTHER_INDEX]).all()  # BlazePose landmarks COCO lacks
    assert not seq.present[0, seq.index("left_ear")]  # score 0
    assert not seq.present[2, seq.index("right_ankle")]  # NaN point
    assert seq.detected.tolist() == [True, False, True, True]
    assert PoseSequence.from_coco(points, SIZE).equals(seq)


def test_from_coco_takes_separate_scores_normalized_points_and_one_frame() -> None:
    points = yolo_output()
    seq = from_coco(points[..., :2], SIZE, scores=points[..., 2])
    assert seq.equals(from_coco(points, SIZE))
    normalized = points.copy()
    normalized[..., :2] /= SIZE
    assert from_coco(normalized, None, normalized=True).data[0, 0, 0] == normalized[0, 0, 0]
    without_scores = from_coco(points[0, :, :2], SIZE)
    assert without_scores.n_frames == 1
    assert np.isnan(without_scores.channel("visibility")).all()
    assert without_scores.present[0, COCO_INDEX].all()


def test_to_coco_returns_pixels_scores_and_nan_for_missing_points() -> None:
    seq = coco_sequence()
    out = to_coco(seq)
    points = yolo_output()
    assert out.shape == (4, 17, 3)
    np.testing.assert_allclose(out[0, 0], points[0, 0], rtol=1e-15)
    assert np.isnan(out[0, 3, :2]).all() and out[0, 3, 2] == 0.0
    assert np.isnan(out[1, :, :2]).all() and (out[1, :, 2] == 0).all()
    np.testing.assert_array_equal(
        to_coco(seq, normalized=True)[..., :2], seq.data[:, COCO_INDEX, :2]
    )
    np.testing.assert_array_equal(seq.to_coco(), out)


def test_coco_arrays_round_trip_losslessly() -> None:
    seq = coco_sequence()
    fields = {"fps": 30, "name": "run.mp4", "metadata": {"model": "yolov8n"}}
    assert from_coco(to_coco(seq), SIZE, **fields).equals(seq, atol=1e-15)
    exact = from_coco(to_coco(seq, normalized=True), SIZE, normalized=True, **fields)
    assert exact.equals(seq)
    # a MediaPipe sequence restricted to the COCO landmarks (z dropped) round-trips too
    data = np.random.default_rng(2).uniform(0.1, 0.9, size=(3, 33, 4))
    data[1] = np.nan
    data[:, OTHER_INDEX] = np.nan
    data[..., 2] = np.nan
    blaze = PoseSequence(data, image_size=SIZE, source="mediapipe")
    assert from_coco(to_coco(blaze), SIZE, source="mediapipe").equals(blaze, atol=1e-15)


def test_annotations_round_trip_with_missing_frames_and_points(tmp_path: Path) -> None:
    seq = coco_sequence().with_metadata(extra=True)
    annotations = to_coco_annotations(seq)
    first = annotations[0]
    assert first["image_id"] == 0 and first["category_id"] == 1 and len(first["keypoints"]) == 51
    assert first["keypoints"][9:12] == [0.0, 0.0, 0.0]  # left ear missing
    assert first["num_keypoints"] == 16
    assert annotations[1]["num_keypoints"] == 0 and annotations[1]["score"] == 0.0
    xs = to_coco(seq)[0, :, 0]
    assert first["bbox"][0] == np.nanmin(xs) and first["bbox"][2] == np.nanmax(xs) - np.nanmin(xs)
    fields = {"fps": 30, "name": "run.mp4", "metadata": seq.metadata}
    back = from_coco_annotations(json.loads(json.dumps(annotations)), SIZE, **fields)
    assert back.equals(seq, atol=1e-15)

    path = write_coco_annotations(seq, tmp_path / "run.json")
    assert read_coco_annotations(path, SIZE, **fields).equals(seq, atol=1e-15)


def test_annotation_flags_and_whole_coco_files() -> None:
    seq = coco_sequence()
    flagged = to_coco_annotations(seq, flags=True)
    assert flagged[0]["keypoints"][2] == 2 and flagged[0]["keypoints"][11] == 0
    assert "score" not in flagged[0]
    flagged[0]["keypoints"][2] = 1  # nose labelled but hidden
    coco = {
        "images": [{"id": i, "width": 640, "height": 480} for i in range(5)],
        "annotations": flagged,
        "categories": [{"id": 1, "name": "person"}],
    }
    read = from_coco_annotations(coco, flags=True)
    assert read.image_size == SIZE and read.frame_numbers.tolist() == [0, 1, 2, 3, 4]
    assert read.detected.tolist() == [True, False, True, True, False]  # image 4: no annotation
    assert read.data[0, read.index("nose"), 3] == 0.0
    assert read.data[0, read.index("left_eye"), 3] == 1.0
    np.testing.assert_allclose(read.data[..., :2][:4], seq.data[..., :2], rtol=1e-15)


def test_several_annotations_of_one_image_keep_the_best() -> None:
    seq = coco_sequence()[:1]
    good = to_coco_annotations(seq)[0]
    worse = json.loads(json.dumps(good)) | {"score": good["score"] / 2}
    worse["keypoints"][0] = 1.0
    read = from_coco_annotations([worse, good], SIZE)
    assert read.n_frames == 1 and read.data[0, 0, 0] == good["keypoints"][0] / 640


def test_malformed_coco_input_names_the_entry(tmp_path: Path) -> None:
    good = to_coco_annotations(coco_sequence())
    short = json.loads(json.dumps(good))
    short[2]["keypoints"] = short[2]["keypoints"][:48]
    with pytest.raises(PoseDataError, match=r"annotations\[2\] \(image_id 2\).*51 numbers.*48"):
        from_coco_annotations(short, SIZE)
    text = json.loads(json.dumps(good))
    text[3]["keypoints"][4] = "17"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(text))
    with pytest.raises(PoseDataError, match=r"bad\.json\[3\].*keypoints\[4\] \(left_eye y\).*str"):
        read_coco_annotations(path, SIZE)
    no_id = [{k: v for k, v in good[0].items() if k != "image_id"}]
    with pytest.raises(PoseDataError, match=r"annotations\[0\]: missing key\(s\) image_id"):
        from_coco_annotations(no_id, SIZE)
    with pytest.raises(PoseDataError, match="image size"):
        from_coco_annotations(good, None)

    points = yolo_output()
    with pytest.raises(
        PoseDataError, match=r"\(frames, 17, 2\) or \(frames, 17, 3\), got \(4, 16, 3\)"
    ):
        from_coco(points[:, :16], SIZE)
    with pytest.raises(PoseDataError, match="must be numbers"):
        from_coco(points.astype(str), SIZE)
    with pytest.raises(PoseDataError, match="either as the third"):
        from_coco(points, SIZE, scores=points[..., 2])
    with pytest.raises(PoseDataError, match="image size"):
        from_coco(points, None)
    with pytest.raises(PoseDataError, match="lacks"):
        to_coco(PoseSequence(np.zeros((1, 2, 4)), landmark_names=("nose", "neck")))
