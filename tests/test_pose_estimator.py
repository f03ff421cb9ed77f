"""PoseEstimator: real MediaPipe Tasks PoseLandmarker on the real demo video."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import mediapipe as mp
import numpy as np
import pytest

from stream_pose_ml.demo_data import DEMO_FPS, DEMO_SIZE
from stream_pose_ml.errors import ExtractionError, ModelAssetError
from stream_pose_ml.extraction.model_assets import (
    BUNDLE_SHA256,
    PoseModelConfigError,
    model_sha256,
    pose_model_path,
)
from stream_pose_ml.extraction.pose_estimator import PoseEstimator, PoseSettings
from stream_pose_ml.keypoints.landmark_parser import landmark_array
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_INDEX as IX

pytestmark = pytest.mark.slow

ASPECT = DEMO_SIZE[0] / DEMO_SIZE[1]
# Frames 73-85: a person detected from each frame alone by all three models (the detector
# misses the man against the bright sky in most earlier frames; tracking then keeps him).
FOUND_ALONE = range(73, 86)


def run(estimator: PoseEstimator, frames: list[np.ndarray], start: int = 0) -> np.ndarray:
    """``(frames, 33, 4)`` with NaN rows where nothing was detected."""
    out = np.full((len(frames), 33, 4), np.nan)
    for i, rgb in enumerate(frames):
        points = estimator.detect(rgb, timestamp_ms=round((start + i) * 1000 / DEMO_FPS))
        if points is not None:
            out[i] = points
    return out


def mid_y(poses: np.ndarray, a: str, b: str) -> np.ndarray:
    return poses[:, [IX[a], IX[b]], 1].mean(axis=1)


def assert_plausible(poses: np.ndarray, min_share: float) -> None:
    """Upright people: shoulders above hips above knees above ankles (image y grows down)."""
    assert poses.ndim == 3 and poses.shape[1:] == (33, 4) and np.isfinite(poses).all()
    shoulders = mid_y(poses, "left_shoulder", "right_shoulder")
    hips = mid_y(poses, "left_hip", "right_hip")
    knees = mid_y(poses, "left_knee", "right_knee")
    ankles = mid_y(poses, "left_ankle", "right_ankle")
    upright = (shoulders < hips) & (hips < knees) & (knees < ankles)
    assert upright.mean() >= min_share
    # Visibility comes back as numbers in [0, 1] with the Tasks API.
    assert ((poses[..., 3] >= 0) & (poses[..., 3] <= 1)).all()
    xy = poses[..., :2]
    assert ((xy >= 0) & (xy <= 1)).all(axis=-1).mean() >= 0.95


@pytest.fixture(scope="module")
def full_video_poses(demo_frames: list[np.ndarray]) -> np.ndarray:
    with PoseEstimator("full") as estimator:
        return run(estimator, demo_frames)


def test_full_model_tracks_the_demo_video(full_video_poses: np.ndarray) -> None:
    detected = ~np.isnan(full_video_poses[:, 0, 0])
    assert detected.mean() >= 0.90
    poses = full_video_poses[detected]
    assert_plausible(poses, min_share=0.85)
    # Left and right are different points: shoulders apart (in units of the image height;
    # the walkers are often side-on, so this is a median), and a torso of real length.
    dx = (poses[:, IX["left_shoulder"], 0] - poses[:, IX["right_shoulder"], 0]) * ASPECT
    dy = poses[:, IX["left_shoulder"], 1] - poses[:, IX["right_shoulder"], 1]
    assert np.median(np.hypot(dx, dy)) > 0.015
    torso = mid_y(poses, "left_hip", "right_hip") - mid_y(poses, "left_shoulder", "right_shoulder")
    assert np.median(torso) > 0.05
    assert np.median(poses[..., 3]) > 0.5


@pytest.mark.parametrize("complexity", ["lite", "heavy"])
def test_lite_and_heavy_run_on_a_few_frames(complexity: str, demo_frames: list[np.ndarray]) -> None:
    frames = [demo_frames[i] for i in FOUND_ALONE]
    with PoseEstimator(complexity) as estimator:
        assert estimator.model_name == f"pose_landmarker_{complexity}"
        assert estimator.model_sha256 == BUNDLE_SHA256[complexity]
        poses = run(estimator, frames, start=FOUND_ALONE[0])
    assert not np.isnan(poses[:, 0, 0]).any()
    assert_plausible(poses, min_share=1.0)


def test_image_mode_matches_mediapipe_solutions_pose(demo_frames: list[np.ndarray]) -> None:
    """Our full bundle is the model behind ``mediapipe.solutions.pose.Pose(model_complexity=1)``."""
    frames = [demo_frames[i] for i in FOUND_ALONE[::3]]
    with PoseEstimator("full", running_mode="image") as estimator:
        ours = np.stack([estimator.detect(f) for f in frames])
    with mp.solutions.pose.Pose(model_complexity=1, static_image_mode=True) as pose:
        theirs = np.stack([landmark_array(pose.process(f)) for f in frames])
    assert_plausible(ours, min_share=1.0)
    assert np.abs(ours[..., :2] - theirs[..., :2]).mean() < 0.003


def test_properties_describe_the_model() -> None:
    with PoseEstimator(1, running_mode="IMAGE") as estimator:
        assert estimator.model_name == "pose_landmarker_full"
        assert estimator.model_path == pose_model_path("full")
        assert estimator.model_sha256 == model_sha256(estimator.model_path)
        assert estimator.running_mode == "image"
        assert estimator.get_params()["complexity"] == "full"
        assert "pose_landmarker_full" in repr(estimator)


def test_solutions_configuration_maps_to_tasks_options(caplog: pytest.LogCaptureFixture) -> None:
    solutions = {
        "static_image_mode": True,
        "model_complexity": 0,
        "smooth_landmarks": True,
        "enable_segmentation": False,
        "min_detection_confidence": 0.6,
        "min_tracking_confidence": 0.7,
    }
    with caplog.at_level(logging.INFO), PoseEstimator.from_configuration(solutions) as estimator:
        assert estimator.complexity == "lite"
        assert estimator.running_mode == "image"
        assert estimator.min_pose_detection_confidence == 0.6
        # Pose's min_tracking_confidence thresholds the landmark presence score.
        assert estimator.min_pose_presence_confidence == 0.7
        assert estimator.min_tracking_confidence == 0.7
    assert "smooth_landmarks" in caplog.text and "enable_segmentation" in caplog.text


def test_own_keys_and_an_empty_configuration() -> None:
    with PoseEstimator.from_configuration({}) as default:
        assert default.get_params() == {**PoseEstimator().get_params()}
        assert (default.complexity, default.running_mode) == ("full", "video")
    config = {"complexity": "heavy", "running_mode": "image", "min_pose_presence_confidence": 0.4}
    with PoseEstimator.from_configuration(config) as estimator:
        assert estimator.model_name == "pose_landmarker_heavy"
        assert estimator.min_pose_presence_confidence == 0.4


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"model_complexity": 1, "upper_body_only": True}, "'upper_body_only'"),
        ({"model_complexity": 0, "complexity": "heavy"}, "both model_complexity"),
        ({"static_image_mode": "yes"}, "static_image_mode must be"),
        ({"min_detection_confidence": 1.5}, r"min_pose_detection_confidence must be .* \[0, 1\]"),
        ({"running_mode": "live_stream"}, "unknown running mode"),
        ({"model_complexity": 3}, "unknown model complexity"),
    ],
)
def test_bad_configuration_is_a_clear_error(config: dict, message: str) -> None:
    with pytest.raises(PoseModelConfigError, match=message):
        PoseEstimator.from_configuration(config)


def test_missing_or_broken_model_files_raise_model_asset_error(tmp_path: Path) -> None:
    with pytest.raises(ModelAssetError, match="does not exist"):
        PoseEstimator(model_path=tmp_path / "nope.task")
    broken = tmp_path / "broken.task"
    broken.write_bytes(b"not a bundle")
    with pytest.raises(ModelAssetError, match=r"broken\.task is not a usable"):
        PoseEstimator(model_path=broken)


def test_video_timestamps_must_increase(demo_frames: list[np.ndarray]) -> None:
    with PoseEstimator("lite") as estimator:
        assert estimator.detect(demo_frames[73], timestamp_ms=100) is not None
        assert estimator.detect(demo_frames[74]) is not None  # 101 ms
        with pytest.raises(ExtractionError, match="must increase: got 101 ms after 101 ms"):
            estimator.detect(demo_frames[75], timestamp_ms=101)


def test_bad_frames_and_closed_estimators_raise(demo_frames: list[np.ndarray]) -> None:
    estimator = PoseEstimator("lite", running_mode="image")
    # Nothing to find in an all-black frame.
    assert estimator.detect(np.zeros((240, 320, 3), np.uint8)) is None
    for bad in (
        demo_frames[0][..., 0],
        demo_frames[0].astype(np.float32),
        np.zeros((4, 4, 4), np.uint8),
    ):
        with pytest.raises(ExtractionError, match=r"\(H, W, 3\) uint8 RGB"):
            estimator.detect(bad)
    estimator.close()
    estimator.close()
    with pytest.raises(ExtractionError, match="closed"):
        estimator.detect(demo_frames[73])


def test_settings_validate_and_normalize_without_loading_mediapipe(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from stream_pose_ml.extraction.pose_estimator import PoseSettings\n"
        "s = PoseSettings.from_configuration({'model_complexity': 2, 'static_image_mode': True,"
        " 'min_tracking_confidence': 0.7})\n"
        "assert (s.complexity, s.running_mode) == ('heavy', 'image'), s\n"
        "assert s.min_pose_presence_confidence == s.min_tracking_confidence == 0.7, s\n"
        "assert 'mediapipe' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    settings = PoseSettings(complexity=0, running_mode="VIDEO", min_tracking_confidence=1)
    assert (settings.complexity, settings.running_mode) == ("lite", "video")
    assert settings.min_tracking_confidence == 1.0
    assert settings.bundle_path() == pose_model_path("lite")
    with pytest.raises(PoseModelConfigError, match="min_pose_detection_confidence"):
        PoseSettings(min_pose_detection_confidence=1.5)
    with pytest.raises(ModelAssetError, match="does not exist"):
        PoseSettings(model_path=tmp_path / "nope.task").bundle_path()
