"""A feature table too large for memory: formatted one video at a time, one Parquet file each.

`write_partitioned_dataset` pairs annotation files with sequence files (in a folder or at an
fsspec URL, where the extraction job wrote them), then formats each video on its own (the same
`BuildAndFormatDatasetJob.format_dataset` call as the in-memory path) and writes
``<output>/part-<index>.parquet``, atomically (`extraction.outputs`). The videos run in this
process or as one task each on a Dask cluster. ``pandas.read_parquet(output)`` (or
``pyarrow.dataset.dataset(output)``) reads the parts in name order, which is the order of the
annotation files: the rows of the in-memory table, video by video.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from stream_pose_ml.datasets.annotations import (
    SEQUENCE_SUFFIXES,
    AnnotationProblem,
    AnnotationSchema,
    index_sequence_files,
    pair_annotations,
)
from stream_pose_ml.datasets.dataset import Dataset
from stream_pose_ml.errors import AnnotationError, PoseDataError, StreamPoseMLError
from stream_pose_ml.extraction import outputs
from stream_pose_ml.extraction.outputs import Location
from stream_pose_ml.tracking.people import PEOPLE_FILE_SUFFIX

logger = logging.getLogger(__name__)


@dataclass
class VideoPart:
    """One video's part of a partitioned dataset: its file and rows (no file for no rows), or
    why it has none."""

    video_id: str
    annotation: Path
    path: Location | None = None
    rows: int = 0
    problems: list[AnnotationProblem] = field(default_factory=list)
    error: str | None = None


@contextlib.contextmanager
def local_sequences(location: str | Path) -> Iterator[Path]:
    """A local folder holding the sequence files of ``location``: itself, or a download of
    its ``.npz``/``.json`` files (removed on leaving)."""
    where = outputs.as_location(location)
    if isinstance(where, Path):
        yield where
        return
    with tempfile.TemporaryDirectory(prefix="spml-sequences-") as tmp:
        for file_name in _sequence_names(where):
            with outputs.local_copy(outputs.join(where, file_name)) as local:
                shutil.copyfile(local, Path(tmp) / file_name)
        yield Path(tmp)


def _sequence_names(location: Location) -> list[str]:
    names = outputs.list_names(location)
    return [n for n in names if n.lower().endswith(SEQUENCE_SUFFIXES) and not n.startswith(".")]


def pair_videos(
    annotations_directory: str | Path,
    sequences: str | Path,
    schema: AnnotationSchema,
    limit: int | None,
    strict: bool,
    problems: list[AnnotationProblem],
) -> list[tuple[Path, str, Location]]:
    """``(annotation file, video id, sequence file)`` per usable annotation file, in name order,
    as `Dataset.from_directories` pairs them."""
    where = outputs.as_location(sequences)
    index = index_sequence_files([Path(n) for n in _sequence_names(where)])
    pairs = pair_annotations(
        annotations_directory, index, sequences, schema, limit, strict, problems
    )
    return [(a.path, key, outputs.join(where, sequence.name)) for a, key, sequence in pairs]


def format_one_video(
    annotation: Path,
    video_id: str,
    sequence: Location,
    part: Location,
    schema: AnnotationSchema,
    strict: bool,
    format_options: dict[str, Any],
) -> VideoPart:
    """Label and format one video, write its table to ``part``; the unit of work everywhere."""
    from stream_pose_ml.jobs.build_and_format_dataset_job import BuildAndFormatDatasetJob

    result = VideoPart(video_id=video_id, annotation=annotation)
    try:
        with tempfile.TemporaryDirectory(prefix="spml-video-") as tmp:
            annotations_dir, sequences_dir = Path(tmp, "annotations"), Path(tmp, "sequences")
            annotations_dir.mkdir()
            sequences_dir.mkdir()
            shutil.copyfile(annotation, annotations_dir / annotation.name)
            with outputs.local_copy(sequence) as local:
                shutil.copyfile(local, sequences_dir / outputs.name(sequence))
            people = _beside(sequence, f"{video_id}{PEOPLE_FILE_SUFFIX}")
            if outputs.is_file(people):  # the persons that entries name by track id
                with outputs.local_copy(people) as local:
                    shutil.copyfile(local, sequences_dir / outputs.name(people))
            dataset = Dataset.from_directories(
                annotations_dir, sequences_dir, schema=schema, strict=strict
            )
        result.problems = [replace(p, path=annotation) for p in dataset.problems]
        if dataset.n_videos == 0:
            return result
        job = BuildAndFormatDatasetJob(schema, strict=strict)
        table = job.format_dataset(dataset, **format_options)
        if table.empty:  # no part: its columns could not hold the others' types
            return result
        table.attrs = {}  # pandas would store them in the Parquet metadata
        result.path = outputs.write_file(part, lambda tmp: table.to_parquet(tmp, index=False))
        result.rows = len(table)
    except (AnnotationError, PoseDataError, OSError) as exc:  # this video's data, not the settings
        if strict:
            raise
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def _beside(location: Location, name: str) -> Location:
    """The file ``name`` in the folder of ``location`` (a path or a URL)."""
    if isinstance(location, Path):
        return location.with_name(name)
    return f"{location.rsplit('/', 1)[0]}/{name}"


def write_partitioned_dataset(
    annotations_directory: str | Path,
    sequences: str | Path,
    output: str | Path,
    schema: AnnotationSchema,
    format_options: dict[str, Any],
    limit: int | None = None,
    strict: bool = False,
    executor: Any = "local",
    scheduler: str | None = None,
    workers: int | None = None,
) -> tuple[list[VideoPart], list[AnnotationProblem]]:
    """Write one Parquet file per annotated video under ``output`` (a folder or a URL).

    ``executor="dask"`` (or a ``distributed.Client``) runs one task per video on the cluster at
    ``scheduler`` or on a ``LocalCluster`` of ``workers`` processes; every worker must reach
    the annotation files, the sequences and ``output``.
    """
    problems: list[AnnotationProblem] = []
    pairs = pair_videos(annotations_directory, sequences, schema, limit, strict, problems)
    where = outputs.as_location(output)
    tasks = [
        (annotation, key, sequence, outputs.join(where, f"part-{index:05d}.parquet"))
        for index, (annotation, key, sequence) in enumerate(pairs)
    ]
    if executor == "local":
        if scheduler is not None:
            raise StreamPoseMLError("a scheduler address needs executor='dask'")
        parts = [format_one_video(*task, schema, strict, format_options) for task in tasks]
    else:
        parts = _on_dask(tasks, schema, strict, format_options, executor, scheduler, workers)
    for part in parts:
        problems.extend(part.problems)
        if part.error:
            logger.error("%s: %s", part.annotation, part.error)
    return parts, problems


def _on_dask(
    tasks: list[tuple[Path, str, Location, Location]],
    schema: AnnotationSchema,
    strict: bool,
    format_options: dict[str, Any],
    executor: Any,
    scheduler: str | None,
    workers: int | None,
) -> list[VideoPart]:
    from stream_pose_ml.extraction import dask_executor

    if executor != "dask" and not isinstance(executor, dask_executor.distributed.Client):
        raise StreamPoseMLError(
            f"unknown executor {executor!r}; use 'local', 'dask' or a distributed.Client"
        )
    with dask_executor.cluster_client(executor, scheduler, workers) as client:
        futures = [
            client.submit(format_one_video, *task, schema, strict, format_options, pure=False)
            for task in tasks
        ]
        results: list[VideoPart] = client.gather(futures)
    return results
