"""Video -> keypoints -> hand-written annotations -> dataset, on the real demo video."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stream_pose_ml.features import FeatureSpec, PoseFeatureTransform
from stream_pose_ml.jobs.build_and_format_dataset_job import BuildAndFormatDatasetJob
from stream_pose_ml.jobs.process_videos_job import ProcessVideosJob
from stream_pose_ml.keypoints import PoseSequence

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "demo"


@pytest.fixture(scope="module")
def extracted(tmp_path_factory, demo_video) -> Path:
    """Sequence folder with the demo video's keypoints, extracted once for this module."""
    root = tmp_path_factory.mktemp("pipeline")
    videos = root / "videos"
    videos.mkdir()
    shutil.copy(demo_video, videos / "demo.mp4")
    results = ProcessVideosJob().process_videos(
        src_videos_path=videos,
        output_keypoints_data_path=root / "keypoints",
        output_sequence_data_path=root / "sequences",
        write_keypoints_to_file=True,
        write_serialized_sequence_to_file=True,
        limit=None,
        configuration={},
        preprocess_video=False,
        return_output=True,
        workers=1,
        progress=False,
    )
    assert [r.status for r in results] == ["processed"]
    return root / "sequences"


def annotated_frames() -> dict[str, dict[int, str]]:
    """Label class -> {frame: label} straight from the example annotation file."""
    entries = json.loads((EXAMPLE / "annotations" / "demo.json").read_text())["annotations"]
    classes = {"Arms Raised": "arms", "Arms Lowered": "arms"}
    out: dict[str, dict[int, str]] = {"movement": {}, "arms": {}}
    for entry in entries:
        system = entry["metadata"]["system"]
        cls = classes.get(entry["label"], "movement")
        for frame in range(system["frame"], system["endFrame"] + 1):
            out[cls][frame] = entry["label"]
    return out


def test_extraction_writes_a_plausible_sequence(extracted) -> None:
    seq = PoseSequence.from_npz(extracted / "demo.npz")
    assert seq.n_frames == 230 and seq.fps == 30 and seq.image_size == (1768, 994)
    assert seq.detected.mean() > 0.9
    assert seq.metadata["pose_model"] == "pose_landmarker_full"
    # While the man on the box does jumping jacks (frames 15-32) his wrists are above his shoulders.
    i = {name: k for k, name in enumerate(seq.landmark_names)}
    y = seq.data[15:33, :, 1]
    assert (y[:, i["left_wrist"]] < y[:, i["left_shoulder"]]).mean() > 0.8


def test_dataset_rows_columns_and_labels_match_the_annotations(extracted, tmp_path) -> None:
    job = BuildAndFormatDatasetJob(config=EXAMPLE / "config.yml")
    dataset = job.build_dataset_from_data_files(
        annotations_data_directory=EXAMPLE / "annotations",
        sequence_data_directory=extracted,
        limit=None,
    )
    table = job.format_dataset(
        dataset=dataset,
        pool_frame_data_by_clip=False,
        decimal_precision=4,
        include_unlabeled_data=False,
        include_angles=True,
        include_distances=True,
        include_normalized=False,
        segmentation_strategy="none",
    )
    labels = annotated_frames()
    labeled = sorted(set(labels["movement"]) | set(labels["arms"]))
    assert table["frame_number"].tolist() == labeled
    assert list(table.columns[:5]) == [
        "video_id",
        "step_frame_id",
        "frame_number",
        "movement",
        "arms",
    ]
    features = [c for c in table.columns[5:]]
    assert all(c.startswith(("angle_", "dist_")) for c in features)
    assert "angle_left_elbow" in features and "dist_left_wrist-right_wrist" in features
    for cls in ("movement", "arms"):
        expected = [labels[cls].get(f) for f in table["frame_number"]]
        got = [None if pd.isna(v) else v for v in table[cls]]
        assert got == expected

    # The feature values are the transform's, for the same frames.
    seq = PoseSequence.from_npz(extracted / "demo.npz")
    transform = PoseFeatureTransform(FeatureSpec(**table.attrs["feature_spec"]), columns=features)
    frames = table["frame_number"].to_numpy()
    expected_rows = transform.fit().transform(seq[frames])
    np.testing.assert_allclose(table[features].to_numpy(float), expected_rows, equal_nan=True)

    path = job.write_dataset_to_csv(
        csv_location=tmp_path, formatted_dataset=table, filename="demo_frames"
    )
    back = pd.read_csv(path)
    assert back.shape == table.shape
    assert back["arms"].value_counts()["Arms Raised"] == 18 + 19 + 19


def test_windowed_dataset_flattens_frames_into_columns(extracted) -> None:
    job = BuildAndFormatDatasetJob(config=EXAMPLE / "config.yml")
    dataset = job.build_dataset_from_data_files(
        annotations_data_directory=EXAMPLE / "annotations", sequence_data_directory=extracted
    )
    table = job.format_dataset(
        dataset=dataset,
        pool_frame_data_by_clip=False,
        decimal_precision=4,
        include_angles=True,
        include_distances=False,
        include_normalized=False,
        segmentation_strategy="flatten_into_columns",
        segmentation_splitter_label="movement",
        segmentation_window=10,
        segmentation_window_label="arms",
    )
    assert len(table) > 10
    assert "angle_left_elbow__t00" in table.columns and "angle_left_elbow__t09" in table.columns
    assert set(table["arms"].dropna()) <= {"Arms Raised", "Arms Lowered"}
    assert set(table["movement"].dropna()) <= {
        "Jumping Jacks",
        "Standing",
        "Jumping Off",
        "Walking",
    }
