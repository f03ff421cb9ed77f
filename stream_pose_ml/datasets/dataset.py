"""`Dataset`: pose sequences with per-frame labels, one label column per label class.

Labels are stored as integer codes, one ``(total_frames, n_classes)`` array over all videos
concatenated in order (``offsets[v]:offsets[v + 1]`` are video ``v``'s frames); code ``-1`` means
the frame has no label of that class, code ``k`` means ``categories[class][k]``. A frame carries
at most one label per class.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from stream_pose_ml.datasets.annotated_people import (
    labelled_people,
    needs_people,
    people_path,
    try_load_people,
)
from stream_pose_ml.datasets.annotations import (
    SEQUENCE_SUFFIXES,
    AnnotationFile,
    AnnotationProblem,
    AnnotationSchema,
    find_files,
    index_sequence_files,
    pair_annotations,
    report_problem,
)
from stream_pose_ml.errors import AnnotationError, PoseDataError
from stream_pose_ml.keypoints import PoseSequence

logger = logging.getLogger(__name__)

NO_LABEL = -1
LABEL_DTYPE = np.int16


@dataclass(frozen=True, eq=False)
class Dataset:
    """Labelled pose sequences.

    ``label_codes`` is ``(total_frames, n_classes)`` int16 over the sequences concatenated in
    order; ``categories[c]`` names the labels of class ``label_classes[c]``. ``problems`` lists
    what was skipped while building it from files.
    """

    sequences: tuple[PoseSequence, ...]
    video_ids: tuple[str, ...]
    label_codes: np.ndarray
    label_classes: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]
    problems: tuple[AnnotationProblem, ...] = field(default=())

    def __post_init__(self) -> None:
        sequences, ids = tuple(self.sequences), tuple(str(v) for v in self.video_ids)
        classes, categories = tuple(self.label_classes), tuple(map(tuple, self.categories))
        codes = np.asarray(self.label_codes, dtype=LABEL_DTYPE)
        total = sum(len(s) for s in sequences)
        if len(ids) != len(sequences) or len(set(ids)) != len(ids):
            raise AnnotationError("a dataset needs one distinct video id per sequence")
        if len(categories) != len(classes):
            raise AnnotationError("a dataset needs one list of categories per label class")
        codes = codes.reshape(total, len(classes)) if codes.size == 0 else codes
        if codes.shape != (total, len(classes)):
            raise AnnotationError(
                f"label codes of shape {codes.shape} do not fit {total} frames x "
                f"{len(classes)} label classes"
            )
        for c, names in enumerate(categories):
            if codes.size and (codes[:, c].max() >= len(names) or codes[:, c].min() < NO_LABEL):
                raise AnnotationError(f"label codes of {classes[c]!r} out of range")
        object.__setattr__(self, "sequences", sequences)
        object.__setattr__(self, "video_ids", ids)
        object.__setattr__(self, "label_codes", codes)
        object.__setattr__(self, "label_classes", classes)
        object.__setattr__(self, "categories", categories)
        object.__setattr__(self, "problems", tuple(self.problems))

    # -- constructors ------------------------------------------------------------------------
    @classmethod
    def from_labels(
        cls,
        sequences: Sequence[PoseSequence],
        labels: Sequence[Mapping[str, Sequence[str | None]]],
        video_ids: Sequence[str] | None = None,
        schema: AnnotationSchema | None = None,
    ) -> Dataset:
        """Build from per-frame label lists: ``labels[v][cls][i]`` is a label or ``None``.

        Classes and label order come from ``schema`` when given, else first-seen order.
        """
        if len(labels) != len(sequences):
            raise AnnotationError(f"{len(labels)} label mappings for {len(sequences)} sequences")
        if schema is not None:
            classes = schema.classes
            categories = [schema.labels(c) for c in classes]
        else:
            classes = tuple(dict.fromkeys(c for per_video in labels for c in per_video))
            categories = [
                tuple(
                    dict.fromkeys(
                        x for per_video in labels for x in per_video.get(c, ()) if x is not None
                    )
                )
                for c in classes
            ]
        blocks = []
        for seq, per_video in zip(sequences, labels, strict=True):
            block = np.full((len(seq), len(classes)), NO_LABEL, dtype=LABEL_DTYPE)
            for c, name in enumerate(classes):
                values = per_video.get(name)
                if values is None:
                    continue
                if len(values) != len(seq):
                    raise AnnotationError(
                        f"{len(values)} {name!r} labels for a sequence of {len(seq)} frames"
                    )
                array = np.asarray(values, dtype=object)
                codes = pd.Index(categories[c], dtype=object).get_indexer(array)
                unknown = set(array[(codes < 0) & pd.notna(array)].tolist())
                if unknown:
                    raise AnnotationError(
                        f"labels {sorted(map(str, unknown))} are not labels of class {name!r}"
                    )
                block[:, c] = codes
            blocks.append(block)
        ids = video_ids or [s.name or f"video_{i}" for i, s in enumerate(sequences)]
        codes = np.concatenate(blocks) if blocks else np.empty((0, len(classes)), LABEL_DTYPE)
        return cls(tuple(sequences), tuple(ids), codes, classes, tuple(categories))

    @classmethod
    def from_directories(
        cls,
        annotations_directory: str | Path,
        sequence_directory: str | Path,
        schema: AnnotationSchema | None = None,
        limit: int | None = None,
        strict: bool = False,
    ) -> Dataset:
        """Pair annotation files with sequence files by name and label every frame.

        A file or entry that cannot be used is logged, kept in ``problems`` and skipped;
        everything else is still built. ``strict=True`` raises ``AnnotationError`` instead.
        ``limit`` caps the number of annotation files paired with a sequence. Entries naming a
        track id label that person of ``<video>.people.npz``, a sequence of its own with video
        id ``<video>_person-<id>`` (`datasets.annotated_people`).
        """
        schema = schema or AnnotationSchema.default()
        problems: list[AnnotationProblem] = []
        sequence_index = index_sequence_files(find_files(sequence_directory, SEQUENCE_SUFFIXES))
        pairs = pair_annotations(
            annotations_directory,
            sequence_index,
            sequence_directory,
            schema,
            limit,
            strict,
            problems,
        )

        # Reading is mostly zlib and JSON parsing; zlib releases the GIL, so threads overlap.
        people_files = [people_path(p, key) for _, key, p in pairs]
        wanted = [people_path(p, key) if needs_people(a) else None for a, key, p in pairs]
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            loaded = list(pool.map(_try_load_sequence, [p for _, _, p in pairs]))
            crowds = list(pool.map(try_load_people, wanted))
        sequences: list[PoseSequence] = []
        ids: list[str] = []
        blocks: list[np.ndarray] = []
        for (annotation, key, _), sequence, people, people_file in zip(
            pairs, loaded, crowds, people_files, strict=True
        ):
            if isinstance(sequence, PoseDataError):
                report_problem(
                    AnnotationProblem(annotation.path, f"its sequence cannot be read: {sequence}"),
                    problems,
                    strict,
                )
                continue
            for video_id, person, entries in labelled_people(
                annotation, key, sequence, people, people_file, problems, strict
            ):
                sequences.append(person)
                ids.append(video_id)
                blocks.append(label_frames(person, entries, schema, problems, strict))
        if not sequences:
            logger.warning(
                "no annotated sequences in %s and %s", annotations_directory, sequence_directory
            )
        classes = schema.classes
        codes = np.concatenate(blocks) if blocks else np.empty((0, len(classes)), LABEL_DTYPE)
        return cls(
            tuple(sequences),
            tuple(ids),
            codes,
            classes,
            tuple(schema.labels(c) for c in classes),
            tuple(problems),
        )

    # -- shape -------------------------------------------------------------------------------
    @property
    def n_videos(self) -> int:
        return len(self.sequences)

    @property
    def n_frames(self) -> int:
        return self.label_codes.shape[0]

    @cached_property
    def offsets(self) -> np.ndarray:
        """``(n_videos + 1,)``: video ``v`` owns frames ``offsets[v]:offsets[v + 1]``."""
        return np.concatenate([[0], np.cumsum([len(s) for s in self.sequences])]).astype(np.int64)

    @cached_property
    def video_of_frame(self) -> np.ndarray:
        """``(total_frames,)`` index of each frame's video."""
        return np.repeat(np.arange(self.n_videos), np.diff(self.offsets))

    @cached_property
    def frame_numbers(self) -> np.ndarray:
        """``(total_frames,)`` each frame's number in its video (``PoseSequence.frame_numbers``)."""
        if not self.sequences:
            return np.empty(0, dtype=np.int64)
        return np.concatenate([s.frame_numbers for s in self.sequences])

    def class_index(self, label_class: str) -> int:
        try:
            return self.label_classes.index(label_class)
        except ValueError:
            raise AnnotationError(
                f"unknown label class {label_class!r}; this dataset has "
                f"{', '.join(self.label_classes) or 'no label classes'} (label_class_mapping)"
            ) from None

    def label_values(self, label_class: str) -> np.ndarray:
        """``(total_frames,)`` object array: each frame's label of one class, or ``None``."""
        c = self.class_index(label_class)
        return decode_labels(self.label_codes[:, c], self.categories[c])

    # -- the original StreamPoseML's names ---------------------------------------------------
    @cached_property
    def labeled_mask(self) -> np.ndarray:
        """``(total_frames,)`` True where the frame has a label of every class."""
        return (self.label_codes >= 0).all(axis=1)

    def _per_video(self, mask: np.ndarray) -> list[np.ndarray]:
        return [
            np.flatnonzero(mask[a:b])
            for a, b in zip(self.offsets[:-1], self.offsets[1:], strict=True)
        ]

    @property
    def all_frames(self) -> list[np.ndarray]:
        """Per video, the indices of all its frames."""
        return [np.arange(len(s)) for s in self.sequences]

    @property
    def labeled_frames(self) -> list[np.ndarray]:
        """Per video, the indices of frames labelled in every class."""
        return self._per_video(self.labeled_mask)

    @property
    def unlabeled_frames(self) -> list[np.ndarray]:
        """Per video, the indices of frames missing a label of at least one class."""
        return self._per_video(~self.labeled_mask)

    def to_frame_table(self) -> pd.DataFrame:
        """One row per frame: ``video_id``, ``frame_number`` and one column per label class."""
        table = {
            "video_id": np.asarray(self.video_ids, dtype=object)[self.video_of_frame],
            "frame_number": self.frame_numbers,
        }
        for name in self.label_classes:
            table[name] = self.label_values(name)
        return pd.DataFrame(table)

    def __repr__(self) -> str:
        return (
            f"Dataset({self.n_videos} videos, {self.n_frames} frames, "
            f"{int(self.labeled_mask.sum())} labelled, classes={list(self.label_classes)}, "
            f"{len(self.problems)} problems)"
        )


def decode_labels(codes: np.ndarray, categories: Sequence[str]) -> np.ndarray:
    """Object array of labels for integer codes; ``-1`` becomes ``None``."""
    lookup = np.array([*categories, None], dtype=object)
    return lookup[np.where(codes < 0, len(categories), codes)]


def _try_load_sequence(path: Path) -> PoseSequence | PoseDataError:
    try:
        return load_sequence(path)
    except PoseDataError as exc:
        return exc


def load_sequence(path: str | Path) -> PoseSequence:
    """A ``.npz`` pose sequence, or a per-video sequence JSON in the legacy JSON layout."""
    path = Path(path)
    if path.suffix.lower() == ".npz":
        return PoseSequence.from_npz(path)
    from stream_pose_ml.keypoints.formats.legacy_json_reader import read_legacy_sequence_json

    return read_legacy_sequence_json(path)


def label_frames(
    sequence: PoseSequence,
    annotation: AnnotationFile,
    schema: AnnotationSchema,
    problems: list[AnnotationProblem],
    strict: bool = False,
) -> np.ndarray:
    """``(frames, n_classes)`` label codes of one sequence from its annotation file.

    Annotation frame ``f`` labels row ``f - frame_index_base`` of the sequence: a sequence file
    holds a whole video, one row per decoded frame (a frame without detection is a NaN row), so
    the row is the 0-based decoded frame index whatever numbering ``frame_numbers`` uses (ours
    count from 0, the original's sequence JSON from 1). An entry whose frames fall outside the
    sequence, or that overlaps an earlier entry of the same class, is reported and skipped.
    """
    classes = schema.classes
    class_of = {c: i for i, c in enumerate(classes)}
    code_of = {
        label: schema.labels(cls).index(label) for label, cls in schema.label_class_mapping.items()
    }
    n_frames = len(sequence)
    codes = np.full((n_frames, len(classes)), NO_LABEL, dtype=LABEL_DTYPE)
    owner = np.full((n_frames, len(classes)), -1, dtype=np.int64)
    if n_frames > 1 and not np.all(np.diff(sequence.frame_numbers) == 1):
        logger.warning(
            "%s: the sequence's frame numbers are not consecutive; annotation frames are "
            "matched to rows (decoded frame indices), not to frame numbers",
            annotation.path,
        )
    base = schema.frame_index_base
    for label, start, end, entry in zip(
        annotation.labels, annotation.start, annotation.end, annotation.entry, strict=True
    ):
        c = class_of[schema.label_class_mapping[label]]
        if end >= n_frames:
            report_problem(
                AnnotationProblem(
                    annotation.path,
                    f"frames {start + base}..{end + base} are outside the {n_frames} frames of "
                    f"its sequence (annotation frames {base}..{n_frames - 1 + base}, "
                    f"frame_index_base {base})",
                    int(entry),
                ),
                problems,
                strict,
            )
            continue
        rows = slice(int(start), int(end) + 1)
        taken = owner[rows, c]
        if (taken >= 0).any():
            other = int(taken[taken >= 0][0])
            report_problem(
                AnnotationProblem(
                    annotation.path,
                    f"{label!r} (frames {start + base}..{end + base}) overlaps entry {other} of "
                    f"the same class {classes[c]!r}; a frame carries one label per class",
                    int(entry),
                ),
                problems,
                strict,
            )
            continue
        codes[rows, c] = code_of[label]
        owner[rows, c] = entry
    return codes
