"""`BuildAndFormatDatasetJob`: the original StreamPoseML's dataset entry point, kept thin.

Annotations + pose sequences -> `Dataset` -> segmentation -> one feature table (a pandas
DataFrame) -> CSV or Parquet. The features come from `PoseFeatureTransform`, the same object
the live server uses. The sequences may be in a folder or at an fsspec URL, where the
extraction job wrote them; a corpus too large for memory is formatted one video at a time into
a partitioned Parquet dataset (`write_partitioned_dataset`, `jobs.partitioned_dataset`).
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from stream_pose_ml.datasets.annotations import AnnotationProblem, AnnotationSchema
from stream_pose_ml.datasets.dataset import Dataset
from stream_pose_ml.datasets.feature_table import feature_table
from stream_pose_ml.datasets.segmentation import SegmentationOptions, segment
from stream_pose_ml.features import FeatureSpec
from stream_pose_ml.jobs.partitioned_dataset import (
    VideoPart,
    local_sequences,
    write_partitioned_dataset,
)

logger = logging.getLogger(__name__)


def feature_spec_from_flags(
    include_angles: bool = True,
    include_distances: bool = True,
    include_normalized: bool = True,
    include_joints: bool = False,
    include_z_axis: bool = False,
    decimal_precision: int | None = None,
) -> FeatureSpec:
    """Per-frame `FeatureSpec` for the original's ``include_*`` flags of `format_dataset`.

    ``include_joints`` -> ``joint_*`` raw coordinates, ``include_normalized`` -> ``norm_*``,
    ``include_angles`` -> ``angle_*``, ``include_distances`` -> ``dist_*``, ``include_z_axis``
    -> z coordinates and 3-D geometry. With none of the four kinds selected the original promises
    "columns for each x, y, z coordinate": raw joints with z.
    """
    if not (include_angles or include_distances or include_normalized or include_joints):
        return FeatureSpec(
            joints=True,
            normalized=False,
            angles=False,
            distances=False,
            include_z=True,
            decimal_precision=decimal_precision,
        )
    return FeatureSpec(
        joints=bool(include_joints),
        normalized=bool(include_normalized),
        angles=bool(include_angles),
        distances=bool(include_distances),
        include_z=bool(include_z_axis),
        decimal_precision=decimal_precision,
    )


class BuildAndFormatDatasetJob:
    """Build labelled datasets from annotation files and pose sequence files.

    ``config`` is a path to a YAML file with an ``annotation_schema`` block, a mapping, an
    `AnnotationSchema`, or None for ``./config.yml`` if present, else the packaged default.
    With ``strict`` the first bad annotation file or entry raises ``AnnotationError``;
    otherwise problems are logged, skipped and kept in ``problems``.
    """

    def __init__(
        self,
        config: str | Path | Mapping[str, Any] | AnnotationSchema | None = None,
        strict: bool = False,
    ) -> None:
        self.schema = AnnotationSchema.load(config)
        self.strict = strict
        self.problems: list[AnnotationProblem] = []

    def build_dataset_from_data_files(
        self,
        annotations_data_directory: str | Path,
        sequence_data_directory: str | Path,
        limit: int | None = None,
    ) -> Dataset:
        """Pair ``<video>.json`` annotation files with ``<video>.npz`` (or the original's sequence
        JSON) files and label every frame; ``limit`` caps the number of videos. The sequences
        may be a folder or an fsspec URL (its files are downloaded to a temporary folder).
        Entries naming a track id (``annotation_fields.track_id``) label that person of
        ``<video>.people.npz``, a sequence of its own (docs/tracking.md)."""
        with local_sequences(sequence_data_directory) as sequences:
            dataset = Dataset.from_directories(
                annotations_data_directory,
                sequences,
                schema=self.schema,
                limit=limit,
                strict=self.strict,
            )
        self.problems = list(dataset.problems)
        if dataset.problems:
            logger.warning(
                "%d annotation problems; see BuildAndFormatDatasetJob.problems",
                len(dataset.problems),
            )
        return dataset

    def format_dataset(
        self,
        dataset: Dataset,
        pool_frame_data_by_clip: bool = True,
        decimal_precision: int | None = None,
        include_unlabeled_data: bool = False,
        include_angles: bool = True,
        include_distances: bool = True,
        include_normalized: bool = True,
        include_joints: bool = False,
        include_z_axis: bool = False,
        segmentation_strategy: str | None = None,
        segmentation_splitter_label: str | None = None,
        segmentation_window: int | None = None,
        segmentation_window_label: str | None = None,
    ) -> pd.DataFrame:
        """A feature table: ``video_id``, ``step_frame_id``, ``frame_number``, one column per
        label class, then the features. The defaults are the original's.

        ``segmentation_strategy`` (default ``"none"``) chooses the rows, see
        docs/segmentation.md. Multi-frame windows are pooled (``__mean``/``__std``/``__min``/
        ``__max``) when ``pool_frame_data_by_clip``, else split into one row per frame; the
        ``flatten_*`` strategies always give one column per frame (``__t00`` ...).
        ``decimal_precision`` rounds the features.
        """
        frame_spec = feature_spec_from_flags(
            include_angles=include_angles,
            include_distances=include_distances,
            include_normalized=include_normalized,
            include_joints=include_joints,
            include_z_axis=include_z_axis,
            decimal_precision=decimal_precision,
        )
        options = SegmentationOptions(
            include_unlabeled_data=include_unlabeled_data,
            splitter_label=segmentation_splitter_label,
            window=segmentation_window,
            window_label=segmentation_window_label,
        )
        windows = segment(dataset, segmentation_strategy, options)
        table = feature_table(
            dataset,
            windows,
            frame_spec,
            pool=pool_frame_data_by_clip,
            step_label=segmentation_splitter_label,
        )
        table.attrs["segmentation_strategy"] = segmentation_strategy or "none"
        return table

    def write_partitioned_dataset(
        self,
        annotations_data_directory: str | Path,
        sequence_data_directory: str | Path,
        output_location: str | Path,
        limit: int | None = None,
        *,
        executor: Any = "local",
        scheduler: str | None = None,
        workers: int | None = None,
        **format_options: Any,
    ) -> list[VideoPart]:
        """Build and format one video at a time, writing ``<output_location>/part-<n>.parquet``
        per video (a folder or an fsspec URL), for corpora that do not fit in memory.

        ``format_options`` are `format_dataset`'s keywords. ``pandas.read_parquet(output)``
        gives the rows of ``format_dataset(build_dataset_from_data_files(...))``, video by
        video. ``executor="dask"`` (or a ``distributed.Client``) runs one task per video on the
        cluster at ``scheduler``, or on a ``LocalCluster`` of ``workers`` processes. Returns one
        `VideoPart` per paired video; problems of the pairing are kept in ``problems``.
        """
        known = set(inspect.signature(self.format_dataset).parameters) - {"dataset"}
        unknown = sorted(set(format_options) - known)
        if unknown:
            raise TypeError(f"unknown format_dataset options {unknown}; known: {sorted(known)}")
        parts, problems = write_partitioned_dataset(
            annotations_data_directory,
            sequence_data_directory,
            output_location,
            self.schema,
            format_options,
            limit=limit,
            strict=self.strict,
            executor=executor,
            scheduler=scheduler,
            workers=workers,
        )
        self.problems = problems
        return parts

    @staticmethod
    def write_dataset_to_csv(
        csv_location: str | Path,
        formatted_dataset: pd.DataFrame | Sequence[Mapping[str, Any]],
        filename: str | None = None,
    ) -> Path:
        """Write ``<csv_location>/<filename>.csv`` (default name ``dataset_<time ns>``)."""
        return _write(formatted_dataset, _output_path(csv_location, filename, ".csv"))

    @staticmethod
    def write_dataset_to_parquet(
        parquet_location: str | Path,
        formatted_dataset: pd.DataFrame | Sequence[Mapping[str, Any]],
        filename: str | None = None,
    ) -> Path:
        """Write ``<parquet_location>/<filename>.parquet`` (default name ``dataset_<time ns>``)."""
        return _write(formatted_dataset, _output_path(parquet_location, filename, ".parquet"))


def _write(data: pd.DataFrame | Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Write the table as CSV or Parquet, by ``path``'s suffix."""
    table = _as_frame(data)
    if path.suffix == ".parquet":
        table.to_parquet(path, index=False)
    else:
        table.to_csv(path, index=False)
    logger.info("wrote %s", path)
    return path


def _output_path(location: str | Path, filename: str | None, suffix: str) -> Path:
    name = filename or f"dataset_{time.time_ns()}"
    if not name.endswith(suffix):
        name += suffix
    directory = Path(location)
    directory.mkdir(parents=True, exist_ok=True)
    return directory / name


def _as_frame(data: pd.DataFrame | Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The table itself, or rows of (nested) dicts flattened as the original did."""
    return data if isinstance(data, pd.DataFrame) else pd.json_normalize(list(data))
