"""PoseSequence: shape validation, masks, slicing, the .npz format and MediaPipe constructors."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from stream_pose_ml.errors import PoseDataError
from stream_pose_ml.keypoints import BLAZEPOSE_33, CHANNELS, PoseSequence


def make_sequence(n_frames: int = 6, missing: tuple[int, ...] = (2,)) -> PoseSequence:
    rng = np.random.default_rng(0)
    data = rng.uniform(0.1, 0.9, size=(n_frames, 33, 4))
    data[list(missing)] = np.nan
    return PoseSequence(
        data,
        frame_numbers=np.arange(10, 10 + n_frames),
        fps=30,
        image_size=(640, 480),
        source="test",
        name="clip",
        metadata={"pose_model": "pose_landmarker_full"},
    )


def test_masks_mark_missing_frames_and_landmarks() -> None:
    seq = make_sequence()
    data = seq.data.copy()
    data[0, 5] = np.nan
    seq = PoseSequence(data, image_size=(640, 480))
    assert seq.detected.tolist() == [True, True, False, True, True, True]
    assert not seq.present[0, 5] and seq.present[0, 4]
    assert seq.present.shape == (6, 33)


def test_slicing_returns_pose_sequence_with_its_frames() -> None:
    seq = make_sequence()
    part = seq[1:4]
    assert isinstance(part, PoseSequence)
    assert part.frame_numbers.tolist() == [11, 12, 13]
    assert part.image_size == seq.image_size and part.name == "clip"
    assert seq[-1].frame_numbers.tolist() == [15]
    assert seq[seq.detected].n_frames == 5
    assert seq[[0, 5]].frame_numbers.tolist() == [10, 15]


def test_pixel_coordinates_scale_by_image_size() -> None:
    seq = make_sequence()
    px = seq.pixel_xy()
    np.testing.assert_allclose(px[0, 0], seq.data[0, 0, :2] * [640, 480])
    with pytest.raises(PoseDataError, match="image size"):
        PoseSequence(seq.data).pixel_xy()


def test_npz_round_trip_is_lossless(tmp_path) -> None:
    seq = make_sequence()
    path = seq.to_npz(tmp_path / "sub" / "clip.npz")
    back = PoseSequence.from_npz(path)
    assert back.equals(seq)
    assert np.isnan(back.data[2]).all()
    assert not list(tmp_path.rglob("*.partial.npz"))


def test_npz_rejects_other_files(tmp_path) -> None:
    bad = tmp_path / "bad.npz"
    np.savez(bad, something=np.zeros(3))
    with pytest.raises(PoseDataError, match=r"bad\.npz"):
        PoseSequence.from_npz(bad)
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(PoseDataError, match=r"text\.npz"):
        PoseSequence.from_npz(tmp_path / "text.npz")


@pytest.mark.parametrize(
    ("shape", "frames"),
    [((4, 33), None), ((4, 32, 4), None), ((4, 33, 3), None), ((4, 33, 4), [1, 2, 3])],
)
def test_bad_shapes_raise(shape, frames) -> None:
    with pytest.raises(PoseDataError):
        PoseSequence(np.zeros(shape), frame_numbers=frames)


def test_concatenate_and_equals() -> None:
    seq = make_sequence()
    joined = PoseSequence.concatenate([seq[:3], seq[3:]])
    assert joined.equals(seq)
    assert not joined.equals(seq.with_metadata(extra=1))
    other = PoseSequence(np.zeros((2, 2, 4)), landmark_names=("a", "b"))
    with pytest.raises(PoseDataError, match="different landmarks"):
        PoseSequence.concatenate([seq, other])


def test_from_mediapipe_accepts_every_result_shape() -> None:
    points = [SimpleNamespace(x=i / 100, y=0.5, z=-0.1, visibility=0.9) for i in range(33)]
    solutions = SimpleNamespace(pose_landmarks=SimpleNamespace(landmark=points))
    tasks = SimpleNamespace(pose_landmarks=[points])
    browser = [{"x": p.x, "y": p.y, "z": p.z, "visibility": p.visibility} for p in points]
    no_pose = SimpleNamespace(pose_landmarks=[])
    seq = PoseSequence.from_mediapipe([solutions, tasks, browser, None, no_pose], fps=30)
    assert seq.detected.tolist() == [True, True, True, False, False]
    for i in range(3):
        np.testing.assert_allclose(seq.data[i, :, 0], np.arange(33) / 100)
        np.testing.assert_allclose(seq.data[i, :, 3], 0.9)
    assert seq.source == "mediapipe" and seq.landmark_names == BLAZEPOSE_33
    assert seq.channels == CHANNELS


def test_from_mediapipe_rejects_wrong_landmark_count() -> None:
    with pytest.raises(PoseDataError, match="expected 33 landmarks, got 2"):
        PoseSequence.from_mediapipe([[{"x": 0, "y": 0, "z": 0}] * 2])


def test_missing_visibility_becomes_nan() -> None:
    seq = PoseSequence.from_mediapipe([[{"x": 0.1, "y": 0.2, "z": 0.0}] * 33])
    assert np.isnan(seq.channel("visibility")).all()
    assert seq.detected.all()


def test_from_mediapipe_accepts_landmark_arrays() -> None:
    row = np.random.default_rng(1).uniform(size=(33, 4))
    seq = PoseSequence.from_mediapipe([row, None])
    np.testing.assert_array_equal(seq.data[0], row)
    assert seq.detected.tolist() == [True, False]
    with pytest.raises(PoseDataError, match=r"\(33, 4\) landmark array"):
        PoseSequence.from_mediapipe([np.zeros((33, 3))])
