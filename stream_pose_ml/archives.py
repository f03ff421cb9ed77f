"""Safe extraction of uploaded model archives (zip, tar, tar.gz/bz2/xz).

Nothing is written outside the destination folder: absolute paths, drive letters, ``..``
components, symbolic and hard links, device files and FIFOs are refused, and so are archives with
more than ``max_files`` entries or ``max_bytes`` of content (counted while writing, so a lying
header or a compression bomb stops at the limit). Every refusal is an :class:`ArchiveError`
(HTTP 400, or 413 for size limits) naming the entry.
"""

from __future__ import annotations

import re
import shutil
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from stream_pose_ml.errors import ArchiveError

_CHUNK = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on one archive: entries (files and folders) and total bytes of file content."""

    max_files: int = 10_000
    max_bytes: int = 2 * 1024**3


def archive_kind(path: str | Path) -> str | None:
    """``"zip"``, ``"tar"`` (any compression tarfile reads) or None for a plain file."""
    path = Path(path)
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    try:
        return "tar" if tarfile.is_tarfile(path) else None
    except (OSError, EOFError, zlib.error):
        return None


def safe_extract(archive: str | Path, destination: str | Path, limits: ArchiveLimits) -> Path:
    """Extract ``archive`` into the (new or empty) folder ``destination``; return it."""
    archive, destination = Path(archive), Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    kind = archive_kind(archive)
    extractor = {"zip": _extract_zip, "tar": _extract_tar}.get(kind or "")
    if extractor is None:
        raise ArchiveError("bad_archive", f"{archive.name} is not a zip or tar archive")
    try:
        extractor(archive, destination.resolve(), limits)
    except ArchiveError:
        raise
    except (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError, RuntimeError) as exc:
        raise ArchiveError(
            "bad_archive", f"{archive.name} is damaged or encrypted ({exc}); archive it again"
        ) from exc
    except OSError as exc:
        raise ArchiveError(
            "bad_archive", f"{archive.name} could not be extracted: {exc.strerror or exc}"
        ) from exc
    return destination


def _target(root: Path, name: str, archive: str) -> Path | None:
    """Where entry ``name`` goes under ``root``; None for the archive's own root folder."""
    if not name or "\x00" in name:
        raise ArchiveError("unsafe_archive", f"{archive} has an entry with an empty or bad name")
    norm = name.replace("\\", "/")
    if norm.startswith("/") or _DRIVE.match(norm):
        raise ArchiveError(
            "unsafe_archive", f"{archive}: entry {name!r} has an absolute path; refused"
        )
    parts = [part for part in norm.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(
            "unsafe_archive", f"{archive}: entry {name!r} climbs out with '..'; refused"
        )
    if not parts:
        return None
    target = root.joinpath(*parts)
    if not target.resolve().is_relative_to(root):
        raise ArchiveError("unsafe_archive", f"{archive}: entry {name!r} leaves the folder")
    return target


class _Budget:
    def __init__(self, limits: ArchiveLimits, archive: str) -> None:
        self.limits, self.archive = limits, archive
        self.files = 0
        self.bytes = 0

    def entry(self) -> None:
        self.files += 1
        if self.files > self.limits.max_files:
            raise ArchiveError(
                "archive_too_large",
                f"{self.archive} has more than {self.limits.max_files} entries; refused",
                status=413,
            )

    def copy(self, source: IO[bytes], target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as out:  # "x": a repeated entry cannot overwrite a file
            while chunk := source.read(_CHUNK):
                self.bytes += len(chunk)
                if self.bytes > self.limits.max_bytes:
                    raise ArchiveError(
                        "archive_too_large",
                        f"{self.archive} holds more than {self.limits.max_bytes} bytes; refused",
                        status=413,
                    )
                out.write(chunk)


def _extract_zip(path: Path, root: Path, limits: ArchiveLimits) -> None:
    budget = _Budget(limits, path.name)
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        if len(infos) > limits.max_files:
            budget.files = len(infos) - 1
            budget.entry()
        declared = sum(info.file_size for info in infos)
        if declared > limits.max_bytes:
            raise ArchiveError(
                "archive_too_large",
                f"{path.name} unpacks to {declared} bytes; the limit is {limits.max_bytes}",
                status=413,
            )
        for info in infos:
            budget.entry()
            target = _target(root, info.filename, path.name)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise ArchiveError(
                    "unsafe_archive", f"{path.name}: entry {info.filename!r} is a link; refused"
                )
            if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise ArchiveError(
                    "unsafe_archive",
                    f"{path.name}: entry {info.filename!r} is a special file; refused",
                )
            if target is None:
                continue
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            with archive.open(info) as source:
                budget.copy(source, target)


def _extract_tar(path: Path, root: Path, limits: ArchiveLimits) -> None:
    budget = _Budget(limits, path.name)
    with tarfile.open(path, "r:*") as archive:
        for member in archive:
            budget.entry()
            target = _target(root, member.name, path.name)
            if member.issym() or member.islnk():
                raise ArchiveError(
                    "unsafe_archive",
                    f"{path.name}: entry {member.name!r} is a link to {member.linkname!r}; refused",
                )
            if not (member.isfile() or member.isdir()):
                raise ArchiveError(
                    "unsafe_archive",
                    f"{path.name}: entry {member.name!r} is a device, FIFO or other special "
                    "file; refused",
                )
            if target is None:
                continue
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            if budget.bytes + member.size > limits.max_bytes:
                budget.bytes += member.size
                raise ArchiveError(
                    "archive_too_large",
                    f"{path.name} holds more than {limits.max_bytes} bytes; refused",
                    status=413,
                )
            source = archive.extractfile(member)
            if source is None:  # pragma: no cover - isfile() members always have data
                continue
            with source:
                budget.copy(source, target)


def remove_tree(path: Path) -> None:
    """Delete a folder made by this module (no error if it is already gone)."""
    shutil.rmtree(path, ignore_errors=True)
