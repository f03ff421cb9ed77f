"""The original StreamPoseML's README extraction call, as written, on the real demo video.

Every documented call of the original StreamPoseML (its README and Core Concepts pages) runs as
written in a test:
- ``ProcessVideosJob().process_videos(...)``: here (real video, whole README call) and in
  tests/test_process_videos_job.py;
- ``BuildAndFormatDatasetJob`` (README and Core Concepts ``format_dataset`` variants,
  ``write_dataset_to_csv``): tests/test_build_and_format_dataset_job.py, with exact rows;
- ``ModelBuilder`` (load, split, train, evaluate, save): tests/test_model_builder.py;
- the legacy ``{"classifier": model}`` pickle in the API: tests/test_api_routes.py;
- the original web UI's ``PoseLandmarkerResult`` payload: tests/test_api_sockets.py.
"""

from __future__ import annotations

import json
import shutil

import pytest


@pytest.fixture(scope="module")
def readme_paths(tmp_path_factory, demo_video):
    root = tmp_path_factory.mktemp("readme")
    (root / "videos").mkdir()
    shutil.copy(demo_video, root / "videos" / "demo.mp4")
    return root


def test_readme_process_videos_call(readme_paths) -> None:
    import stream_pose_ml.jobs.process_videos_job as pv

    pv.ProcessVideosJob().process_videos(
        src_videos_path=str(readme_paths / "videos"),
        output_keypoints_data_path=str(readme_paths / "keypoints"),
        output_sequence_data_path=str(readme_paths / "sequences"),
        write_keypoints_to_file=True,
        write_serialized_sequence_to_file=True,
        limit=None,
        configuration={},  # mediapipe configuration
        preprocess_video=True,
        return_output=False,
    )
    assert (readme_paths / "sequences" / "demo.npz").is_file()
    frame_files = list((readme_paths / "keypoints").rglob("*.json"))
    assert len(frame_files) == 230
    frame = json.loads(sorted(frame_files)[100].read_text())
    assert {"sequence_id", "frame_number", "image_dimensions", "joint_positions"} <= set(frame)
