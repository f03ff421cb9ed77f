"""The original StreamPoseML's documented Python calls, run as written (only paths filled in).

Sources: ../shared/seeds/000_*.txt (README) and 001_*.txt (Core Concepts). The annotation file uses
the seed's own schema (config.yml) on the real demo video; its labels exist to exercise the calls.
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest


def seed_annotations(directory) -> None:
    """An annotation file for demo.mp4 shaped exactly like the seed's example."""
    spans = [
        ("Left Step", 10, 40),
        ("Right Step", 41, 72),
        ("Left Step", 73, 110),
        ("Right Step", 111, 168),
        ("Successful Weight Transfer", 10, 60),
        ("Failure Weight Transfer", 61, 110),
        ("Successful Weight Transfer", 111, 168),
    ]
    annotations = [
        {
            "label": label,
            "metadata": {
                "system": {
                    "startTime": start / 30,
                    "endTime": end / 30,
                    "frame": start,
                    "endFrame": end,
                }
            },
        }
        for label, start, end in spans
    ]
    directory.mkdir(parents=True)
    (directory / "demo.json").write_text(
        json.dumps({"name": "demo.mp4", "annotations": annotations})
    )


@pytest.fixture(scope="module")
def seed_paths(tmp_path_factory, demo_video):
    root = tmp_path_factory.mktemp("seed")
    (root / "videos").mkdir()
    shutil.copy(demo_video, root / "videos" / "demo.mp4")
    seed_annotations(root / "annotations")
    return root


def test_readme_process_videos_call(seed_paths) -> None:
    import stream_pose_ml.jobs.process_videos_job as pv

    pv.ProcessVideosJob().process_videos(
        src_videos_path=str(seed_paths / "videos"),
        output_keypoints_data_path=str(seed_paths / "keypoints"),
        output_sequence_data_path=str(seed_paths / "sequences"),
        write_keypoints_to_file=True,
        write_serialized_sequence_to_file=True,
        limit=None,
        configuration={},  # mediapipe configuration
        preprocess_video=True,
        return_output=False,
    )
    assert (seed_paths / "sequences" / "demo.npz").is_file()
    frame_files = list((seed_paths / "keypoints").rglob("*.json"))
    assert len(frame_files) == 230
    frame = json.loads(sorted(frame_files)[100].read_text())
    assert {"sequence_id", "frame_number", "image_dimensions", "joint_positions"} <= set(frame)


def test_readme_and_core_concepts_dataset_calls(seed_paths, tmp_path) -> None:
    if not (seed_paths / "sequences" / "demo.npz").exists():
        test_readme_process_videos_call(seed_paths)
    import stream_pose_ml.jobs.build_and_format_dataset_job as data_builder

    source_annotations_directory = str(seed_paths / "annotations")
    sequence_data_directory = str(seed_paths / "sequences")
    merged_annotation_output_directory = str(tmp_path)

    # This is the main class that does all the work
    db = data_builder.BuildAndFormatDatasetJob()

    # Here you'll specify the path to you annotations and StreamPoseML generated sequences
    dataset = db.build_dataset_from_data_files(
        annotations_data_directory=source_annotations_directory,
        sequence_data_directory=sequence_data_directory,
        limit=None,
    )

    formatted_dataset = db.format_dataset(
        dataset=dataset,
        pool_frame_data_by_clip=False,
        decimal_precision=4,
        include_unlabeled_data=True,
        include_angles=True,
        include_distances=True,
        include_normalized=True,
        segmentation_strategy="flatten_into_columns",
        segmentation_splitter_label="step_type",
        segmentation_window=10,
        segmentation_window_label="weight_transfer_type",
    )

    db.write_dataset_to_csv(
        csv_location=merged_annotation_output_directory,
        formatted_dataset=formatted_dataset,
        filename="preprocessed_flatten_on_example_10_frames_5",
    )
    written = pd.read_csv(tmp_path / "preprocessed_flatten_on_example_10_frames_5.csv")
    assert len(written) == len(formatted_dataset) > 0
    assert {"step_type", "weight_transfer_type"} <= set(written.columns)

    # The simplest approach: one row per frame with x, y, z coordinates and the labels.
    formatted_dataset = db.format_dataset(
        dataset=dataset,
        pool_frame_data_by_clip=False,
        decimal_precision=4,
        include_unlabeled_data=True,
        include_angles=False,
        include_distances=False,
        include_normalized=False,
        segmentation_strategy="none",
    )
    assert len(formatted_dataset) == 230
    assert {"joint_nose_x", "joint_nose_y", "joint_nose_z"} <= set(formatted_dataset.columns)

    # Core Concepts: feature selection with joints and the z axis, flatten on example.
    formatted_dataset = db.format_dataset(
        dataset=dataset,
        pool_frame_data_by_clip=False,  # Whether to pool features across frames
        decimal_precision=4,  # Precision for numerical values
        include_unlabeled_data=True,  # Include frames without labels
        include_angles=True,  # Include angle features
        include_distances=True,  # Include distance features
        include_normalized=True,  # Include normalized features
        include_joints=False,  # Include raw joint positions
        include_z_axis=False,  # Include z-axis data
        segmentation_strategy="flatten_on_example",  # How to segment the data
        segmentation_splitter_label="step_type",  # Label to use for segmentation
        segmentation_window=10,  # Window size
        segmentation_window_label="weight_transfer_type",  # Label for window
    )
    assert len(formatted_dataset) == 4  # one row per step example
    assert "angle_left_knee__t09" in formatted_dataset.columns

    # Core Concepts: the short forms.
    for strategy in ("none", "flatten_into_columns", "flatten_on_example"):
        kwargs = {}
        if strategy != "none":
            kwargs = {
                "segmentation_splitter_label": "step_type",
                "segmentation_window": 10,
                "segmentation_window_label": "weight_transfer_type",
            }
        formatted_dataset = db.format_dataset(
            dataset=dataset,
            include_angles=True,
            include_distances=True,
            segmentation_strategy=strategy,
            **kwargs,
        )
        assert len(formatted_dataset) > 0
