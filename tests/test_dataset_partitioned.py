"""The partitioned dataset: one Parquet file per video, the same rows as the in-memory table,
from a folder or an fsspec URL, in this process or on a real Dask LocalCluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pandas as pd
import pytest

from stream_pose_ml.errors import AnnotationError, SegmentationError
from stream_pose_ml.jobs.build_and_format_dataset_job import BuildAndFormatDatasetJob
from stream_pose_ml.keypoints import PoseSequence
from stream_pose_ml.keypoints.formats.legacy_json_writer import write_legacy_sequence_json

R, L = "Right Step", "Left Step"
S, F = "Successful Weight Transfer", "Failure Weight Transfer"
FLATTEN: dict[str, Any] = {
    "pool_frame_data_by_clip": False,
    "decimal_precision": 4,
    "include_unlabeled_data": True,
    "segmentation_strategy": "flatten_into_columns",
    "segmentation_splitter_label": "step_type",
    "segmentation_window": 10,
    "segmentation_window_label": "weight_transfer_type",
}
POOLED: dict[str, Any] = {
    "segmentation_strategy": "window",
    "segmentation_window": 8,
    "segmentation_window_label": "step_type",
}


def pose(n_frames: int, seed: int) -> np.ndarray:
    """``(n_frames, 33, 4)`` a standing figure swaying a little, with one missed frame."""
    rng = np.random.default_rng(seed)
    data = np.empty((n_frames, 33, 4))
    data[:, :, 0] = (
        0.5 + rng.uniform(-0.12, 0.12, 33) + 0.03 * np.sin(np.arange(n_frames) / 5)[:, None]
    )
    data[:, :, 1] = np.linspace(0.15, 0.9, 33)
    data[:, :, 2] = rng.uniform(-0.2, 0.2, 33)
    data[:, :, 3] = 0.9
    data += rng.normal(0.0, 0.004, data.shape)
    data[3] = np.nan
    return data


def both(step: str, transfer: str, start: int, end: int) -> list[dict]:
    return [
        {"label": label, "metadata": {"system": {"frame": start, "endFrame": end}}}
        for label in (step, transfer)
    ]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three videos (two .npz, one of the original's sequence JSON), annotated."""
    root = tmp_path_factory.mktemp("corpus")
    annotations, sequences = root / "annotations", root / "sequences"
    annotations.mkdir()
    PoseSequence(pose(40, 1), fps=30.0, image_size=(1280, 720), name="clip_a").to_npz(
        sequences / "clip_a.npz"
    )
    clip_b = PoseSequence(pose(30, 2), frame_numbers=np.arange(1, 31), name="clip_b.webm")
    write_legacy_sequence_json(clip_b, sequences / "clip_b.webm_sequence.json")
    PoseSequence(pose(25, 3), fps=25.0, name="clip_c").to_npz(sequences / "clip_c.npz")
    documents = {
        "clip_a": both(R, S, 2, 11) + both(L, F, 12, 25) + both(R, S, 28, 37),
        "clip_b": both(L, S, 0, 14) + both(R, F, 15, 29),
        "clip_c": both(R, F, 0, 24),
    }
    for stem, entries in documents.items():
        name = "clip_b.webm" if stem == "clip_b" else f"{stem}.mp4"
        (annotations / f"{stem}.json").write_text(
            json.dumps({"name": name, "annotations": entries})
        )
    return {"annotations": annotations, "sequences": sequences}


def in_memory(corpus: dict[str, Path], sequences: str | Path, **options: Any) -> pd.DataFrame:
    job = BuildAndFormatDatasetJob()
    dataset = job.build_dataset_from_data_files(corpus["annotations"], sequences)
    return job.format_dataset(dataset, **options)


def assert_same_rows(partitioned: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(partitioned.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(
        partitioned.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=True
    )


@pytest.mark.parametrize("options", [FLATTEN, POOLED, {}], ids=["flatten", "window", "default"])
def test_partitioned_dataset_has_the_rows_of_the_in_memory_table(
    corpus: dict[str, Path], tmp_path: Path, options: dict[str, Any]
) -> None:
    expected = in_memory(corpus, corpus["sequences"], **options)
    job = BuildAndFormatDatasetJob()
    parts = job.write_partitioned_dataset(
        corpus["annotations"], corpus["sequences"], tmp_path / "table", **options
    )
    assert [p.video_id for p in parts] == ["clip_a", "clip_b", "clip_c"]
    assert all(p.error is None for p in parts) and job.problems == []
    files = sorted(path.name for path in (tmp_path / "table").iterdir())
    assert files == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert [p.rows for p in parts] == expected.groupby("video_id", sort=False).size().tolist()
    assert_same_rows(pd.read_parquet(tmp_path / "table"), expected)


def test_sequences_and_parts_at_a_memory_url(corpus: dict[str, Path]) -> None:
    fs = fsspec.filesystem("memory")
    for path in corpus["sequences"].iterdir():
        fs.put_file(str(path), f"/corpus-seq/{path.name}")
    fs.pipe_file("/corpus-seq/.manifest/clip_a.json", b"{}")  # never taken for a sequence
    expected = in_memory(corpus, corpus["sequences"], **FLATTEN)
    assert_same_rows(in_memory(corpus, "memory://corpus-seq", **FLATTEN), expected)

    parts = BuildAndFormatDatasetJob().write_partitioned_dataset(
        corpus["annotations"], "memory://corpus-seq", "memory://corpus-table", **FLATTEN
    )
    assert [p.path for p in parts] == [
        f"memory://corpus-table/part-0000{i}.parquet" for i in range(3)
    ]
    assert not [n for n in fs.ls("/corpus-table", detail=False) if ".partial" in n]
    assert_same_rows(pd.read_parquet("memory://corpus-table"), expected)


def test_a_broken_sequence_is_reported_and_the_others_are_written(
    corpus: dict[str, Path], tmp_path: Path
) -> None:
    sequences = tmp_path / "seq"
    sequences.mkdir()
    for path in corpus["sequences"].iterdir():
        (sequences / path.name).write_bytes(path.read_bytes())
    (sequences / "clip_c.npz").write_bytes(b"not a zip")
    job = BuildAndFormatDatasetJob()
    parts = job.write_partitioned_dataset(corpus["annotations"], sequences, tmp_path / "t")
    by_id = {p.video_id: p for p in parts}
    assert by_id["clip_c"].path is None and by_id["clip_c"].rows == 0
    (problem,) = by_id["clip_c"].problems
    assert "cannot be read" in problem.message and problem.path.name == "clip_c.json"
    assert job.problems == [problem]
    assert sorted(path.name for path in (tmp_path / "t").iterdir()) == [
        "part-00000.parquet",
        "part-00001.parquet",
    ]
    assert by_id["clip_a"].rows == 34 and by_id["clip_b"].rows == 30  # the labelled frames
    expected = in_memory(corpus, corpus["sequences"])
    assert_same_rows(pd.read_parquet(tmp_path / "t"), expected[expected.video_id != "clip_c"])

    with pytest.raises(AnnotationError, match="cannot be read"):
        BuildAndFormatDatasetJob(strict=True).write_partitioned_dataset(
            corpus["annotations"], sequences, tmp_path / "strict"
        )


def test_bad_options_are_refused(corpus: dict[str, Path], tmp_path: Path) -> None:
    job = BuildAndFormatDatasetJob()
    with pytest.raises(TypeError, match="segmentation_windw"):
        job.write_partitioned_dataset(
            corpus["annotations"], corpus["sequences"], tmp_path / "t", segmentation_windw=3
        )
    with pytest.raises(SegmentationError, match="segmentation_window_label"):
        job.write_partitioned_dataset(
            corpus["annotations"],
            corpus["sequences"],
            tmp_path / "t",
            segmentation_strategy="window",
            segmentation_window=8,
        )
    assert not (tmp_path / "t").exists()


def test_partitioned_dataset_on_a_dask_local_cluster(
    corpus: dict[str, Path], tmp_path: Path
) -> None:
    distributed = pytest.importorskip("distributed")
    expected = in_memory(corpus, corpus["sequences"], **FLATTEN)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        parts = BuildAndFormatDatasetJob().write_partitioned_dataset(
            corpus["annotations"], corpus["sequences"], tmp_path / "t", executor=client, **FLATTEN
        )
        workers = {w["id"] for w in client.scheduler_info()["workers"].values()}
    assert len(workers) == 2 and [p.error for p in parts] == [None] * 3
    assert_same_rows(pd.read_parquet(tmp_path / "t"), expected)
