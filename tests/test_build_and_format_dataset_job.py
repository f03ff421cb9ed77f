"""`BuildAndFormatDatasetJob`: the original's documented calls, run as written on small data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import stream_pose_ml.jobs.build_and_format_dataset_job as data_builder
from stream_pose_ml.datasets import Dataset
from stream_pose_ml.errors import AnnotationError
from stream_pose_ml.features import FeatureSpec, PoseFeatureTransform
from stream_pose_ml.keypoints import PoseSequence
from stream_pose_ml.keypoints.formats.legacy_json_writer import write_legacy_sequence_json

CLASSES = ["step_type", "weight_transfer_type"]
META = ["video_id", "step_frame_id", "frame_number", *CLASSES]


def walking_pose(n_frames: int, seed: int) -> np.ndarray:
    """``(n_frames, 33, 4)`` a standing figure swaying a little, with noise and one miss."""
    rng = np.random.default_rng(seed)
    base = np.empty((33, 4))
    base[:, 0] = 0.5 + rng.uniform(-0.12, 0.12, 33)
    base[:, 1] = np.linspace(0.15, 0.9, 33)
    base[:, 2] = rng.uniform(-0.2, 0.2, 33)
    base[:, 3] = 0.9
    sway = 0.03 * np.sin(np.arange(n_frames) / 5.0)
    data = base + rng.normal(0.0, 0.004, (n_frames, 33, 4))
    data[:, :, 0] += sway[:, None]
    data[3] = np.nan  # a frame without detection
    return data


def entry(label: str, start: int, end: int) -> dict:
    return {"label": label, "metadata": {"system": {"frame": start, "endFrame": end}}}


def both(step: str, transfer: str, start: int, end: int) -> list[dict]:
    return [entry(step, start, end), entry(transfer, start, end)]


R, L = "Right Step", "Left Step"
S, F = "Successful Weight Transfer", "Failure Weight Transfer"


@pytest.fixture(scope="module")
def data_dirs(tmp_path_factory) -> dict[str, Path]:
    """clip_a: 40 frames as .npz; clip_b: 30 frames as the original's 1-based sequence JSON."""
    root = tmp_path_factory.mktemp("dataset_files")
    annotations, sequences, output = root / "annotations", root / "sequences", root / "out"
    annotations.mkdir()
    clip_a = PoseSequence(walking_pose(40, 1), fps=30.0, image_size=(1280, 720), name="clip_a")
    clip_a.to_npz(sequences / "clip_a.npz")
    clip_b = PoseSequence(
        walking_pose(30, 2),
        frame_numbers=np.arange(1, 31),  # the original counted frames from 1
        image_size=(640, 480),
        name="clip_b.webm",
    )
    write_legacy_sequence_json(clip_b, sequences / "clip_b.webm_sequence.json")
    document_a = {
        "name": "clip_a.mp4",
        "annotations": both(R, S, 2, 11) + both(L, F, 12, 25) + both(R, S, 28, 37),
    }
    document_b = {"name": "clip_b.webm", "annotations": both(L, S, 0, 14) + both(R, F, 15, 29)}
    (annotations / "clip_a.json").write_text(json.dumps(document_a))
    (annotations / "clip_b.json").write_text(json.dumps(document_b))
    return {"annotations": annotations, "sequences": sequences, "output": output}


@pytest.fixture(scope="module")
def db() -> data_builder.BuildAndFormatDatasetJob:
    return data_builder.BuildAndFormatDatasetJob()


@pytest.fixture(scope="module")
def dataset(db, data_dirs) -> Dataset:
    return db.build_dataset_from_data_files(
        annotations_data_directory=data_dirs["annotations"],
        sequence_data_directory=data_dirs["sequences"],
        limit=None,
    )


def features(spec: FeatureSpec) -> list[str]:
    return list(PoseFeatureTransform(spec).get_feature_names_out())


def test_build_reads_npz_and_the_original_sequence_json(dataset, db):
    assert dataset.video_ids == ("clip_a", "clip_b")
    assert dataset.n_frames == 70
    assert db.problems == []
    b = slice(40, 70)
    steps = dataset.label_values("step_type")
    # Annotation frame 0 is clip_b's first decoded frame although its file numbers it 1.
    assert steps[b].tolist() == [L] * 15 + [R] * 15
    assert dataset.frame_numbers[b].tolist() == list(range(1, 31))
    assert steps[:14].tolist() == [None, None] + [R] * 10 + [L] * 2


def test_readme_flatten_into_columns_then_csv(dataset, data_dirs):
    db = data_builder.BuildAndFormatDatasetJob()
    source_annotations_directory = data_dirs["annotations"]
    sequence_data_directory = data_dirs["sequences"]
    merged_annotation_output_directory = data_dirs["output"]
    # -- the README, as written --
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
    # -- end --
    spec = FeatureSpec(decimal_precision=4, window=10)
    assert list(formatted_dataset.columns) == META + features(spec)
    assert "angle_left_knee__t09" in formatted_dataset.columns
    # Tiles 0-9, 10-19, 20-29 (30-39 ends unlabelled) of clip_a and all three of clip_b.
    assert formatted_dataset["frame_number"].tolist() == [9, 19, 29, 10, 20, 30]
    assert formatted_dataset["weight_transfer_type"].tolist() == [S, F, S, S, F, F]
    assert formatted_dataset["step_frame_id"].tolist() == [8, 8, 2, 10, 5, 15]
    values = formatted_dataset[features(spec)].to_numpy()
    assert np.array_equal(values, np.round(values, 4), equal_nan=True)

    written = merged_annotation_output_directory / "preprocessed_flatten_on_example_10_frames_5.csv"
    back = pd.read_csv(written)
    assert list(back.columns) == list(formatted_dataset.columns)
    assert back["video_id"].tolist() == ["clip_a"] * 3 + ["clip_b"] * 3
    assert np.allclose(back[features(spec)], values, equal_nan=True, atol=1e-12)


def test_readme_simplest_approach_gives_raw_xyz(dataset, db):
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
    coordinates = [c for c in formatted_dataset.columns if c not in META]
    assert len(coordinates) == 33 * 3
    assert coordinates[:3] == ["joint_nose_x", "joint_nose_y", "joint_nose_z"]
    assert len(formatted_dataset) == 70
    raw = np.concatenate([s.data[:, :, :3].reshape(-1, 99) for s in dataset.sequences])
    assert np.allclose(formatted_dataset[coordinates], np.round(raw, 4), equal_nan=True)
    assert formatted_dataset["step_type"].isna().sum() == 6  # clip_a frames 0, 1, 26, 27, 38, 39


def test_core_concepts_calls(dataset, db):
    # Feature selection (the "Making Movement Measurable" example).
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
    assert list(formatted_dataset.columns) == META + features(
        FeatureSpec(decimal_precision=4, window=10)
    )
    # The last 10 frames of each step: clip_a 2-11, 12-25, 28-37; clip_b 0-14, 15-29.
    assert formatted_dataset["frame_number"].tolist() == [11, 25, 37, 15, 30]
    assert formatted_dataset["step_type"].tolist() == [R, L, R, L, R]
    assert formatted_dataset["step_frame_id"].tolist() == [10, 14, 10, 15, 15]

    # Raw frame-by-frame data (no segmentation).
    formatted_dataset = db.format_dataset(
        dataset=dataset, include_angles=True, include_distances=True, segmentation_strategy="none"
    )
    assert len(formatted_dataset) == 10 + 14 + 10 + 30  # labelled frames only, by default
    assert list(formatted_dataset.columns) == META + features(FeatureSpec(decimal_precision=None))

    # Flatten columns over window.
    formatted_dataset = db.format_dataset(
        dataset=dataset,
        include_angles=True,
        include_distances=True,
        segmentation_strategy="flatten_into_columns",
        segmentation_splitter_label="step_type",
        segmentation_window=10,
        segmentation_window_label="weight_transfer_type",
    )
    assert formatted_dataset.shape == (6, len(META) + len(features(FeatureSpec(window=10))))

    # Flatten on example with window.
    formatted_dataset = db.format_dataset(
        dataset=dataset,
        include_angles=True,
        include_distances=True,
        segmentation_strategy="flatten_on_example",
        segmentation_splitter_label="step_type",
        segmentation_window=10,
        segmentation_window_label="weight_transfer_type",
    )
    assert formatted_dataset["frame_number"].tolist() == [11, 25, 37, 15, 30]


def test_features_are_the_transforms_own(dataset, db):
    table = db.format_dataset(dataset, include_unlabeled_data=True, include_joints=True)
    spec = FeatureSpec(joints=True, decimal_precision=None)
    transform = PoseFeatureTransform(spec)
    expected = np.concatenate([transform.transform(s) for s in dataset.sequences])
    assert np.array_equal(table[features(spec)].to_numpy(), expected, equal_nan=True)
    assert table.attrs["feature_spec"] == spec.to_dict()


def test_pooled_runs_equal_the_transform_on_each_run(dataset, db):
    table = db.format_dataset(
        dataset, segmentation_strategy="split_on_label", segmentation_splitter_label="step_type"
    )
    assert table["frame_number"].tolist() == [11, 25, 37, 15, 30]
    assert table["step_frame_id"].tolist() == [10, 14, 10, 15, 15]
    clip_a = dataset.sequences[0]
    run = clip_a[12:26]  # the 14-frame Left Step, pooled with other runs up to 15 frames
    spec = FeatureSpec(decimal_precision=None, window=14, window_mode="pool")
    expected = PoseFeatureTransform(spec).transform(run)[0]
    assert np.allclose(table.iloc[1][features(spec)].to_numpy(float), expected, equal_nan=True)


def test_unpooled_runs_give_one_row_per_frame(dataset, db):
    table = db.format_dataset(
        dataset,
        pool_frame_data_by_clip=False,
        segmentation_strategy="split_on_label",
        segmentation_splitter_label="step_type",
        segmentation_window=3,
    )
    # The last 3 frames of each step; clip_b's frame numbers are its file's (from 1).
    clip_a_frames = [9, 10, 11, 23, 24, 25, 35, 36, 37]
    assert table["frame_number"].tolist() == [*clip_a_frames, 13, 14, 15, 28, 29, 30]
    assert table["step_frame_id"].tolist() == [8, 9, 10, 12, 13, 14, 8, 9, 10] + [13, 14, 15] * 2
    assert table["step_type"].tolist() == [R] * 3 + [L] * 3 + [R] * 3 + [L] * 3 + [R] * 3


def test_parquet_round_trip(dataset, db, tmp_path):
    table = db.format_dataset(
        dataset,
        include_unlabeled_data=True,
        segmentation_strategy="window",
        segmentation_window=5,
        segmentation_window_label="step_type",
    )
    path = db.write_dataset_to_parquet(tmp_path / "new_dir", table, "windows.parquet")
    assert path == tmp_path / "new_dir" / "windows.parquet"
    back = pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, table, check_dtype=False)
    assert back["step_frame_id"].dtype == "Int64"
    assert table.columns[5].endswith("__mean")


def test_problems_are_kept_and_strict_raises(tmp_path, data_dirs):
    annotations = tmp_path / "annotations"
    annotations.mkdir()
    for name in ("clip_a.json", "clip_b.json"):
        (annotations / name).write_text((data_dirs["annotations"] / name).read_text())
    (annotations / "clip_c.json").write_text(json.dumps({"annotations": [entry(L, 0, 4)]}))
    db = data_builder.BuildAndFormatDatasetJob()
    built = db.build_dataset_from_data_files(annotations, data_dirs["sequences"])
    assert built.video_ids == ("clip_a", "clip_b")
    assert [str(p) for p in db.problems] == [
        f"{annotations / 'clip_c.json'}: no sequence file for video 'clip_c' in "
        f"{data_dirs['sequences']} (expected <video>{{.npz,.json}} or "
        "<video>.<ext>_sequence.json)"
    ]
    with pytest.raises(AnnotationError, match=r"clip_c\.json: no sequence file"):
        data_builder.BuildAndFormatDatasetJob(strict=True).build_dataset_from_data_files(
            annotations, data_dirs["sequences"]
        )


def test_schema_from_a_config_path(tmp_path, data_dirs):
    config = tmp_path / "config.yml"
    config.write_text(
        "annotation_schema:\n"
        "  annotations_key: annotations\n"
        "  annotation_fields:\n"
        "    label: label\n"
        "    start_frame: metadata.system.frame\n"
        "    end_frame: metadata.system.endFrame\n"
        "  label_class_mapping:\n"
        "    Left Step: foot\n"
        "    Right Step: foot\n"
    )
    db = data_builder.BuildAndFormatDatasetJob(config)
    built = db.build_dataset_from_data_files(data_dirs["annotations"], data_dirs["sequences"])
    assert built.label_classes == ("foot",)
    assert [p.entry for p in db.problems] == [1, 3, 5, 1, 3]  # weight transfer labels unknown
    table = db.format_dataset(built, include_unlabeled_data=True)
    assert list(table.columns[:4]) == ["video_id", "step_frame_id", "frame_number", "foot"]
