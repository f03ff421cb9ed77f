"""The documented workflow keeps the dataset's rounding: format_dataset -> CSV -> ModelBuilder ->
bundle -> the live service gives exactly the dataset's rows; a model that cannot know its
rounding says so in its warnings."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from api_server import live_feature_rows, save_legacy_model

from stream_pose_ml.datasets import Dataset
from stream_pose_ml.jobs.build_and_format_dataset_job import BuildAndFormatDatasetJob
from stream_pose_ml.keypoints import PoseSequence
from stream_pose_ml.learning import ModelBuilder, load_model
from stream_pose_ml.learning.synthetic import IMAGE_SIZE, synthetic_sequence
from stream_pose_ml.learning.training_data import dataset_precision, read_table
from stream_pose_ml.serving import ModelStore

WINDOW = 5
N_FRAMES = 60


@pytest.fixture(scope="module")
def sequences() -> list[PoseSequence]:
    rng = np.random.default_rng(12)
    classes = np.where(np.arange(N_FRAMES) % 20 < 10, 0, 1)
    return [synthetic_sequence(classes, rng, name=f"video_{v}") for v in range(4)]


def dataset_table(sequences: list[PoseSequence], precision: int | None) -> pd.DataFrame:
    """The documented training table: tiles of ``WINDOW`` frames flattened into columns."""
    labels = [
        {"arms": ["up" if (i // 10) % 2 else "down" for i in range(len(s))]} for s in sequences
    ]
    dataset = Dataset.from_labels(sequences, labels, video_ids=[s.name for s in sequences])
    return BuildAndFormatDatasetJob().format_dataset(
        dataset=dataset,
        decimal_precision=precision,
        include_unlabeled_data=True,
        segmentation_strategy="flatten_into_columns",
        segmentation_window=WINDOW,
        segmentation_window_label="arms",
    )


def bundle_from_csv(tmp_path: Path, table: pd.DataFrame) -> Path:
    """format_dataset's table written as CSV, then ModelBuilder from the CSV, saved as a bundle."""
    csv = BuildAndFormatDatasetJob.write_dataset_to_csv(tmp_path, table, "dataset")
    builder = ModelBuilder(data_dir=tmp_path, verbose=False)
    builder.load_and_prep_dataset_from_csv(csv, target="arms")
    builder.set_train_test_split(test_size=0.25, random_state=0)
    builder.train_logistic_regression()
    return builder.save_bundle(tmp_path / "model.zip", window_stride=WINDOW)


@pytest.mark.parametrize("precision", [None, 3], ids=["not-rounded", "rounded-3"])
def test_live_rows_equal_the_csv_datasets_rows(
    tmp_path: Path, sequences: list[PoseSequence], precision: int | None
) -> None:
    table = dataset_table(sequences, precision)
    bundle = bundle_from_csv(tmp_path, table)
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["feature_spec"]["decimal_precision"] == precision
    columns = manifest["input_columns"]
    csv_rows = read_table(tmp_path / "dataset.csv")  # the rows ModelBuilder trained on
    for video, sequence in enumerate(sequences[:2]):
        live, _ = live_feature_rows(tmp_path / f"live{video}", bundle, sequence.data, IMAGE_SIZE)
        rows = table[table["video_id"] == sequence.name]
        assert sorted(live) == rows["frame_number"].tolist()
        for frame, row in zip(rows["frame_number"], rows[columns].to_numpy(), strict=True):
            np.testing.assert_array_equal(live[int(frame)], row, err_msg=f"frame {frame}")
        from_csv = csv_rows[csv_rows["video_id"] == sequence.name][columns].to_numpy()
        np.testing.assert_array_equal(
            np.stack([live[int(f)] for f in rows["frame_number"]]), from_csv
        )


def test_the_precision_is_read_from_the_values() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(0, 100, (50, 40))
    assert dataset_precision(values) is None
    for decimals in (0, 2, 4, 7):
        assert dataset_precision(np.round(values, decimals)) == decimals
    text = pd.DataFrame(np.round(values, 4)).to_csv(index=False)
    assert dataset_precision(pd.read_csv(io.StringIO(text)).to_numpy()) == 4
    with_nan = np.round(values, 2)
    with_nan[3, 5] = np.nan
    assert dataset_precision(with_nan) == 2
    assert dataset_precision(np.full((3, 3), np.nan)) is None


def test_a_model_without_its_spec_warns_about_the_rounding(tmp_path: Path) -> None:
    legacy = save_legacy_model(tmp_path / "legacy.pkl", window=3)  # {"classifier": model}
    model = load_model(legacy)
    assert model.feature_spec is not None and model.feature_spec.decimal_precision == 4
    assert len(model.warnings) == 1 and "rounded to 4 decimals" in model.warnings[0]
    store = ModelStore(tmp_path / "models")
    with open(legacy, "rb") as upload:
        record = store.add(upload, legacy.name).record
    assert record.warnings == model.warnings
    assert store.records()[0].warnings == model.warnings  # what GET /models lists
    _, warnings = store.activate(record.id, window_size=5)
    assert len(warnings) == 1 and "frame_window_size 5 ignored" in warnings[0]


def test_a_model_saved_with_its_spec_has_no_warning(
    tmp_path: Path, sequences: list[PoseSequence]
) -> None:
    builder = ModelBuilder(data_dir=tmp_path, verbose=False)
    table = dataset_table(sequences, None)
    builder.load_and_prep_dataset(table, target="arms")
    builder.set_train_test_split(test_size=0.25, random_state=0)
    builder.train_logistic_regression()
    saved = builder.save_model_and_datasets(model_path=tmp_path)
    model = load_model(saved)
    assert model.warnings == []
    assert model.feature_spec is not None and model.feature_spec.decimal_precision is None
    with open(saved, "rb") as handle:
        assert pickle.load(handle)["feature_spec"]["decimal_precision"] is None
