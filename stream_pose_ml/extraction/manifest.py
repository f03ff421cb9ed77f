"""The extraction manifest: one record per finished video, so that a rerun skips what is done.

A worker writes ``<sequences dir>/.manifest/<video stem>.json`` after the video's outputs, each
file atomically (a temporary name, then a rename), so a record exists only for complete work,
wherever the worker runs. The record names the video (size, modification time, SHA-256), the
pose model (name, SHA-256), the settings (``num_poses`` and the subject rule among them) and
each output's SHA-256. A rerun skips a video only if its record matches: the same settings, the
same video (the checksum is recomputed only when the size or modification time changed, so
touching a file does not redo it) and outputs whose checksums still match. The sequences
folder may be an fsspec URL (`extraction.outputs`). The record folder is hidden so that the
dataset builder, which reads the ``.npz`` and ``.json`` files of the sequences folder, never
takes a record for a sequence.
"""

from __future__ import annotations

import contextlib
import json
import socket
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from stream_pose_ml.extraction import outputs
from stream_pose_ml.extraction.outputs import (
    Location,
    file_sha256,
    temporary_name,
    write_atomically,
)

__all__ = [
    "MANIFEST_DIR",
    "ManifestRecord",
    "file_sha256",
    "read_manifest",
    "read_record",
    "record_path",
    "temporary_name",
    "write_atomically",
    "write_record",
]

MANIFEST_DIR = ".manifest"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class ManifestRecord:
    """What one finished extraction was made from and what it wrote.

    ``outputs`` maps an output kind (``npz``, ``sequence_json``, ``keypoints``, ``people``) to
    its file or folder name (relative to the record's output folder) and, for files, its
    SHA-256. ``num_poses`` and ``subject`` (None with one person) are settings like the others.
    """

    video: str
    video_size: int
    video_mtime_ns: int
    video_sha256: str
    pose_model: str
    pose_model_sha256: str
    configuration: dict[str, Any]
    preprocess: bool
    outputs: dict[str, dict[str, str]]
    frames: int
    detected_frames: int
    extractor_version: str
    num_poses: int = 1
    subject: str | None = None
    finished_at: str = ""
    host: str = ""
    manifest_version: int = MANIFEST_VERSION

    @staticmethod
    def video_facts(video: Path) -> dict[str, Any]:
        """``video``'s name, size, modification time and SHA-256, as the record holds them."""
        stat = video.stat()
        return {
            "video": str(video),
            "video_size": stat.st_size,
            "video_mtime_ns": stat.st_mtime_ns,
            "video_sha256": file_sha256(video),
        }

    def same_video(self, video: Path) -> bool:
        """Whether ``video`` holds the bytes this record was made from."""
        try:
            stat = video.stat()
        except OSError:
            return False
        if stat.st_size != self.video_size:
            return False
        if stat.st_mtime_ns == self.video_mtime_ns:
            return True
        return file_sha256(video) == self.video_sha256

    def changed_outputs(self, folders: dict[str, Location | None]) -> list[str]:
        """Kinds of output whose file is missing or differs from its checksum; ``folders``
        maps each kind to the folder it was written in (None: not asked for now)."""
        changed = []
        for kind, output in self.outputs.items():
            folder = folders.get(kind)
            if folder is None:
                continue
            path = outputs.join(folder, output["path"])
            expected = output.get("sha256")
            if expected is None:
                if not outputs.exists(path):
                    changed.append(kind)
            elif not outputs.is_file(path) or file_sha256(path) != expected:
                changed.append(kind)
        return changed


def record_path(sequences_dir: Location, video: Path) -> Location:
    return outputs.join(sequences_dir, MANIFEST_DIR, f"{video.stem}.json")


def write_record(sequences_dir: Location, video: Path, record: ManifestRecord) -> Location:
    """Write ``record`` for ``video`` atomically, stamped with the time and the host."""
    stamped = {
        **asdict(record),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
    }
    text = json.dumps(stamped, indent=1, sort_keys=True, allow_nan=False)
    return outputs.write_text(record_path(sequences_dir, video), text)


def read_record(sequences_dir: Location, video: Path) -> ManifestRecord | None:
    """The record of ``video``, or None if there is none; ValueError if it is unreadable."""
    path = record_path(sequences_dir, video)
    try:
        return ManifestRecord(**json.loads(outputs.read_bytes(path)))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        raise ValueError(f"{path} is unreadable ({exc})") from exc


def read_manifest(sequences_dir: str | Path) -> dict[str, ManifestRecord]:
    """Every readable record of a sequences folder or URL, keyed by video stem."""
    folder = outputs.join(outputs.as_location(sequences_dir), MANIFEST_DIR)
    records = {}
    for file_name in outputs.list_names(folder, ".json"):
        with contextlib.suppress(OSError, ValueError, TypeError):
            data = json.loads(outputs.read_bytes(outputs.join(folder, file_name)))
            records[file_name.removesuffix(".json")] = ManifestRecord(**data)
    return records
