"""Annotation schema (the ``annotation_schema`` block of ``config.yml``) and annotation files.

One JSON file per video holds a list of annotations; the schema says where the list is and, as
dotted paths inside each entry, where the label, the first frame and the last frame are. The
schema's ``label_class_mapping`` maps each label to a class (a column of the dataset), so class
names always come from the configuration.

Frame numbering: an annotation frame ``f`` labels the decoded video frame with 0-based index
``f - frame_index_base`` (default base 0), both ends inclusive; that is row ``f - base`` of the
video's pose sequence. Dataloop, the tool behind the original StreamPoseML's example files,
numbers frames from 0 (``frame == startTime * fps``). The original compared annotation frames
with its own frame counter, which started at 1, so its labels fell one frame late; set
``frame_index_base: 1`` for annotations that count frames from 1.

Several people: with ``annotation_fields.track_id`` set, an entry holding a track id labels
that person's frames (from ``<video>.people.npz``, written by the extraction job with
``num_poses`` > 1); an entry without one labels the video's subject (``<video>.npz``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from stream_pose_ml.errors import AnnotationError
from stream_pose_ml.tracking.people import PEOPLE_FILE_SUFFIX

logger = logging.getLogger(__name__)

#: File name of the project configuration looked up in the working directory.
CONFIG_FILENAME = "config.yml"
#: Video file extensions stripped when matching a file name to a video.
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".webm", ".mov", ".avi", ".mkv", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"}
)
#: Sequence file suffixes, in the order they are tried.
SEQUENCE_SUFFIXES = (".npz", ".json")
#: Track id of an entry that names no track: the video's subject.
NO_TRACK = -1


# -- problems -------------------------------------------------------------------------------
@dataclass(frozen=True)
class AnnotationProblem:
    """Something wrong with an annotation file or one of its entries (0-based ``entry``)."""

    path: Path
    message: str
    entry: int | None = None

    def __str__(self) -> str:
        where = str(self.path) if self.entry is None else f"{self.path}, entry {self.entry}"
        return f"{where}: {self.message}"


def report_problem(problem: AnnotationProblem, problems: list[AnnotationProblem], strict: bool):
    """Raise ``AnnotationError`` when ``strict``; otherwise log the problem and collect it."""
    if strict:
        raise AnnotationError(str(problem))
    logger.warning("skipped: %s", problem)
    problems.append(problem)


# -- schema ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class AnnotationSchema:
    """Where labels and frame ranges live in an annotation file, and each label's class.

    ``label_field``, ``start_frame_field`` and ``end_frame_field`` are dotted paths inside one
    annotation entry (``metadata.system.frame``); so is the optional ``track_id_field``, the
    person an entry labels (None: every entry labels the video's subject). ``classes`` are the
    distinct values of ``label_class_mapping`` in first-seen order; ``labels(cls)`` the labels
    of one class.
    """

    annotations_key: str
    label_field: str
    start_frame_field: str
    end_frame_field: str
    label_class_mapping: Mapping[str, str]
    frame_index_base: int = 0
    source: str = field(default="<dict>", compare=False)
    track_id_field: str | None = None

    def __post_init__(self) -> None:
        mapping = {str(k): str(v) for k, v in dict(self.label_class_mapping).items()}
        if not mapping:
            raise AnnotationError(f"{self.source}: label_class_mapping is empty")
        if self.frame_index_base not in (0, 1):
            raise AnnotationError(
                f"{self.source}: frame_index_base must be 0 or 1, got {self.frame_index_base!r}"
            )
        for name in ("annotations_key", "label_field", "start_frame_field", "end_frame_field"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise AnnotationError(f"{self.source}: {name} must be a non-empty string")
        if self.track_id_field is not None and (
            not isinstance(self.track_id_field, str) or not self.track_id_field
        ):
            raise AnnotationError(
                f"{self.source}: annotation_fields.track_id must be a non-empty string"
            )
        object.__setattr__(self, "label_class_mapping", mapping)

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.label_class_mapping.values()))

    def labels(self, label_class: str) -> tuple[str, ...]:
        """Labels of one class, in the order the mapping lists them."""
        if label_class not in self.classes:
            raise AnnotationError(
                f"{self.source}: unknown label class {label_class!r}; the schema has "
                f"{', '.join(self.classes)}"
            )
        return tuple(k for k, v in self.label_class_mapping.items() if v == label_class)

    @classmethod
    def from_dict(cls, config: Mapping[str, Any], source: str = "<dict>") -> AnnotationSchema:
        """Read a whole configuration (with an ``annotation_schema`` key) or the block itself."""
        block = config.get("annotation_schema", config) if isinstance(config, Mapping) else None
        if not isinstance(block, Mapping):
            raise AnnotationError(f"{source}: no annotation_schema mapping")
        fields = block.get("annotation_fields")
        missing = [k for k in ("annotations_key", "label_class_mapping") if k not in block]
        if not isinstance(fields, Mapping):
            missing.append("annotation_fields")
        else:
            missing += [
                f"annotation_fields.{k}"
                for k in ("label", "start_frame", "end_frame")
                if k not in fields
            ]
        if missing or not isinstance(fields, Mapping):
            raise AnnotationError(f"{source}: annotation_schema lacks {', '.join(missing)}")
        if not isinstance(block["label_class_mapping"], Mapping):
            raise AnnotationError(f"{source}: label_class_mapping must map label -> class")
        return cls(
            annotations_key=block["annotations_key"],
            label_field=fields["label"],
            start_frame_field=fields["start_frame"],
            end_frame_field=fields["end_frame"],
            label_class_mapping=block["label_class_mapping"],
            frame_index_base=block.get("frame_index_base", 0),
            source=source,
            track_id_field=fields.get("track_id"),
        )

    @classmethod
    def from_yaml(cls, path: str | Path) -> AnnotationSchema:
        path = Path(path)
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise AnnotationError(f"{path}: cannot read the configuration ({exc})") from exc
        return cls.from_dict(config or {}, source=str(path))

    @classmethod
    def default(cls) -> AnnotationSchema:
        """``./config.yml`` if it exists, else the packaged default configuration."""
        local = Path.cwd() / CONFIG_FILENAME
        if local.is_file():
            return cls.from_yaml(local)
        packaged = resources.files("stream_pose_ml") / "data" / CONFIG_FILENAME
        with resources.as_file(packaged) as path:
            return cls.from_yaml(path)

    @classmethod
    def load(cls, config: AnnotationSchema | Mapping[str, Any] | str | Path | None):
        """Accept a schema, a mapping, a YAML path, or ``None`` for :meth:`default`."""
        if config is None:
            return cls.default()
        if isinstance(config, AnnotationSchema):
            return config
        if isinstance(config, Mapping):
            return cls.from_dict(config)
        return cls.from_yaml(config)


def resolve_dotted(entry: Any, dotted: str) -> Any:
    """Value at a dotted path (``metadata.system.frame``); digits index lists.

    Raises ``KeyError`` with a message saying which part did not resolve.
    """
    value = entry
    walked: list[str] = []
    for part in dotted.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif (
            isinstance(value, list)
            and part.lstrip("-").isdigit()
            and -len(value) <= int(part) < len(value)
        ):
            value = value[int(part)]
        else:
            where = ".".join(walked) or "the entry"
            have = (
                f"keys: {', '.join(map(str, value))}"
                if isinstance(value, Mapping)
                else f"a {type(value).__name__}"
            )
            raise KeyError(f"field {dotted!r} does not resolve: no {part!r} in {where} ({have})")
        walked.append(part)
    return value


# -- annotation files -----------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class AnnotationFile:
    """The valid entries of one annotation file, as arrays (one item per entry).

    ``start`` and ``end`` are 0-based decoded frame indices (the base already subtracted),
    inclusive; ``entry`` is each entry's index in the file's annotation list; ``track_ids``
    the person each entry labels (`NO_TRACK`: the video's subject; None: all `NO_TRACK`).
    """

    path: Path
    name: str | None
    labels: tuple[str, ...]
    start: np.ndarray
    end: np.ndarray
    entry: np.ndarray
    track_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.track_ids is None:
            object.__setattr__(self, "track_ids", np.full(len(self.labels), NO_TRACK, np.int64))

    @property
    def tracks(self) -> list[int]:
        """The track ids the entries name, `NO_TRACK` first if some name none."""
        assert self.track_ids is not None  # set in __post_init__
        return sorted(set(self.track_ids.tolist()))

    def for_track(self, track_id: int) -> AnnotationFile:
        """The entries that label ``track_id`` (`NO_TRACK`: those naming no track)."""
        assert self.track_ids is not None
        keep = self.track_ids == track_id
        return replace(
            self,
            labels=tuple(np.asarray(self.labels, dtype=object)[keep].tolist()),
            start=self.start[keep],
            end=self.end[keep],
            entry=self.entry[keep],
            track_ids=self.track_ids[keep],
        )

    @property
    def video_keys(self) -> tuple[str, ...]:
        """Names this file may match: its own stem first, then its ``name`` field's."""
        keys = [video_key(self.path.name)]
        if self.name:
            keys.append(video_key(self.name))
        return tuple(dict.fromkeys(keys))


def _frame_value(value: Any) -> int | None:
    """An integer frame number, or ``None`` if ``value`` is not a whole number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def read_annotation_file(
    path: str | Path,
    schema: AnnotationSchema,
    problems: list[AnnotationProblem] | None = None,
    strict: bool = False,
) -> AnnotationFile | None:
    """Parse one annotation file; bad entries are reported and left out.

    Returns ``None`` when the file as a whole is unusable (unreadable, malformed JSON, no
    annotation list). With ``strict`` the first problem raises ``AnnotationError``.
    """
    path = Path(path)
    problems = [] if problems is None else problems
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        report_problem(AnnotationProblem(path, f"cannot read the file ({exc})"), problems, strict)
        return None
    except json.JSONDecodeError as exc:
        report_problem(AnnotationProblem(path, f"malformed JSON ({exc})"), problems, strict)
        return None
    entries = document.get(schema.annotations_key) if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        report_problem(
            AnnotationProblem(
                path,
                f"no list of annotations under {schema.annotations_key!r} "
                "(annotation_schema.annotations_key)",
            ),
            problems,
            strict,
        )
        return None
    name = document.get("name")
    labels: list[str] = []
    bounds: list[tuple[int, int, int, int]] = []
    base = schema.frame_index_base
    for index, entry in enumerate(entries):
        try:
            label = resolve_dotted(entry, schema.label_field)
            start_raw = resolve_dotted(entry, schema.start_frame_field)
            end_raw = resolve_dotted(entry, schema.end_frame_field)
        except KeyError as exc:
            report_problem(AnnotationProblem(path, str(exc.args[0]), index), problems, strict)
            continue
        start, end = _frame_value(start_raw), _frame_value(end_raw)
        track_raw = _track_value(entry, schema.track_id_field)
        track = _track_id(track_raw)
        message = None
        if track is None:
            message = f"track id {track_raw!r} ({schema.track_id_field}) is not a whole number >= 0"
        elif not isinstance(label, (str, int)) or isinstance(label, bool):
            message = f"label {label!r} is not a string"
        elif str(label) not in schema.label_class_mapping:
            message = (
                f"label {label!r} is not in label_class_mapping of {schema.source} "
                f"(known: {', '.join(schema.label_class_mapping)})"
            )
        elif start is None or end is None:
            message = f"frames must be whole numbers, got start {start_raw!r}, end {end_raw!r}"
        elif start > end:
            message = f"start frame {start} is after end frame {end}"
        elif start - base < 0:
            message = f"start frame {start} is before the first frame ({base})"
        if message is not None:
            report_problem(AnnotationProblem(path, message, index), problems, strict)
            continue
        assert start is not None and end is not None and track is not None  # else a message
        labels.append(str(label))
        bounds.append((start - base, end - base, index, track))
    table = np.array(bounds, dtype=np.int64).reshape(-1, 4)
    return AnnotationFile(
        path=path,
        name=str(name) if isinstance(name, str) and name else None,
        labels=tuple(labels),
        start=table[:, 0],
        end=table[:, 1],
        entry=table[:, 2],
        track_ids=table[:, 3],
    )


def _track_value(entry: Any, dotted: str | None) -> Any:
    """The entry's track id as written, or None where it names none (no field, or null)."""
    if dotted is None:
        return None
    try:
        return resolve_dotted(entry, dotted)
    except KeyError:
        return None


def _track_id(value: Any) -> int | None:
    """`NO_TRACK` for no track id, the id for a whole number >= 0 (digits too), else None."""
    if value is None:
        return NO_TRACK
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    number = _frame_value(value)
    return number if number is not None and number >= 0 else None


# -- matching annotation files with sequence files ------------------------------------------
def video_key(filename: str) -> str:
    """The video a file name refers to: ``clip.webm_sequence.json`` and ``clip.npz`` -> ``clip``."""
    name = Path(filename).name
    lowered = name.lower()
    for suffix in SEQUENCE_SUFFIXES:
        if lowered.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if name.endswith("_sequence"):
        name = name[: -len("_sequence")]
    stem, dot, extension = name.rpartition(".")
    if dot and f".{extension.lower()}" in VIDEO_EXTENSIONS:
        name = stem
    return name


def find_files(directory: str | Path, suffixes: Iterable[str]) -> list[Path]:
    """Files (not recursive) whose name ends with one of ``suffixes``, sorted by name."""
    directory = Path(directory)
    if not directory.is_dir():
        raise AnnotationError(f"{directory}: not a directory")
    wanted = tuple(s.lower() for s in suffixes)
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file() and p.name.lower().endswith(wanted) and not p.name.startswith(".")
    )


def index_sequence_files(paths: Sequence[Path]) -> dict[str, Path]:
    """Map video key -> sequence file; for a key with several files ``.npz`` wins. People
    files (``<video>.people.npz``) are left out: they go with their video's sequence."""
    index: dict[str, Path] = {}
    for path in paths:
        if path.name.lower().endswith(PEOPLE_FILE_SUFFIX):
            continue
        key = video_key(path.name)
        current = index.get(key)
        if current is None or (current.suffix.lower() != ".npz" and path.suffix.lower() == ".npz"):
            if current is not None:
                logger.info("%s and %s hold the same video; using %s", current, path, path)
            index[key] = path
    return index


def match_sequence(
    annotation: AnnotationFile, sequences: Mapping[str, Path]
) -> tuple[str, Path] | None:
    """The sequence file for an annotation file: by its own stem, then by its ``name`` field."""
    for key in annotation.video_keys:
        if key in sequences:
            return key, sequences[key]
    return None


def pair_annotations(
    annotations_directory: str | Path,
    sequence_index: dict[str, Path],
    sequences: object,
    schema: AnnotationSchema,
    limit: int | None,
    strict: bool,
    problems: list[AnnotationProblem],
) -> list[tuple[AnnotationFile, str, Path]]:
    """``(annotation, video key, sequence file)`` for each usable annotation file in
    ``annotations_directory``, in name order, at most ``limit``; ``sequence_index`` from
    `index_sequence_files` of the files in ``sequences`` (named in messages). A file without a
    sequence, or for a video already annotated, is reported (`report_problem`) and skipped."""
    pairs: list[tuple[AnnotationFile, str, Path]] = []
    claimed: dict[str, Path] = {}
    for path in find_files(annotations_directory, (".json",)):
        if limit is not None and len(pairs) >= limit:
            break
        annotation = read_annotation_file(path, schema, problems, strict)
        if annotation is None:
            continue
        match = match_sequence(annotation, sequence_index)
        if match is None:
            names = " or ".join(repr(k) for k in annotation.video_keys)
            report_problem(
                AnnotationProblem(
                    path,
                    f"no sequence file for video {names} in {sequences} "
                    f"(expected <video>{{.npz,.json}} or <video>.<ext>_sequence.json)",
                ),
                problems,
                strict,
            )
            continue
        key, sequence_path = match
        if key in claimed:
            report_problem(
                AnnotationProblem(path, f"video {key!r} is already annotated by {claimed[key]}"),
                problems,
                strict,
            )
            continue
        claimed[key] = path
        pairs.append((annotation, key, sequence_path))
    return pairs
