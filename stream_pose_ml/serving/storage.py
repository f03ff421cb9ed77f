"""Disk faults of the model store, answered as ``storage_unavailable`` (HTTP 503).

A full, read-only or forbidden data folder is the operator's problem, not the client's, and not
a server bug: every write of the store runs inside :func:`storage_writes`, which turns the
``OSError`` into a :class:`~stream_pose_ml.errors.ModelStoreError` that says what to fix.
:func:`check_free_space` refuses an upload (or an archive's declared content) that would not fit
with a margin before anything is written, and :func:`remove_stale_temp_files` removes what a
crash in the middle of an atomic write left.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import re
import shutil
import tarfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from stream_pose_ml.errors import ArchiveError, ModelStoreError
from stream_pose_ml.logfmt import kv

logger = logging.getLogger(__name__)

#: Free space an upload must leave in the data folder (``meta.json``, ``active.json``, logs).
MIN_FREE_BYTES = 16 * 1024**2
#: A temp file of an atomic write untouched for this long is a crashed writer's.
STALE_TEMP_SECONDS = 60.0
#: ``.<name>.<32 hex>.tmp``: what ``model_records.write_json`` writes before its rename.
TEMP_FILE = re.compile(r"^\..+\.[0-9a-f]{32}\.tmp$")

_REASONS = {
    errno.ENOSPC: "is full",
    errno.EDQUOT: "is over its disk quota",
    errno.EROFS: "is read-only",
    errno.EACCES: "is not writable by the server",
    errno.EPERM: "is not writable by the server",
}


def storage_error(exc: OSError, action: str) -> ModelStoreError:
    """The ``storage_unavailable`` (503) answer to a failed write of the model store."""
    reason = _REASONS.get(exc.errno or 0, f"cannot be written ({exc.strerror or exc})")
    return ModelStoreError(
        "storage_unavailable",
        f"the server could not {action}: its data folder {reason}. Nothing was stored; "
        "an operator must free space or fix the folder, then retry",
        status=503,
    )


@contextlib.contextmanager
def storage_writes(action: str, where: Path) -> Iterator[None]:
    """Turn an ``OSError`` of the writes inside into :func:`storage_error` (logged with the path).

    An ``ArchiveError`` caused by such an error (extraction onto a full disk) is one too.
    """
    try:
        yield
    except OSError as exc:
        raise _logged(storage_error(exc, action), exc, action, where) from exc
    except ArchiveError as exc:
        cause = exc.__cause__
        if isinstance(cause, OSError) and cause.errno in _REASONS:
            raise _logged(storage_error(cause, action), cause, action, where) from exc
        raise


def _logged(error: ModelStoreError, exc: OSError, action: str, where: Path) -> ModelStoreError:
    logger.error(
        kv(
            "model_store_write_failed",
            action=action,
            path=where,
            errno=errno.errorcode.get(exc.errno or 0, exc.errno),
            error=exc.strerror or exc,
        )
    )
    return error


def check_free_space(folder: Path, needed: int, what: str, margin: int = MIN_FREE_BYTES) -> None:
    """Refuse (``storage_unavailable``) when ``needed`` bytes plus ``margin`` do not fit."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        raise storage_error(exc, f"check the free space for {what}") from exc
    if free < needed + margin:
        logger.error(kv("model_store_full", path=folder, free=free, needed=needed, margin=margin))
        raise ModelStoreError(
            "storage_unavailable",
            f"the server's data folder has {_mib(free)} free; {what} needs {_mib(needed)} "
            f"plus {_mib(margin)} to spare. Nothing was stored; an operator must free space, "
            "then retry",
            status=503,
        )


def declared_size(archive: Path, kind: str, limit: int) -> int | None:
    """The bytes ``archive`` says it unpacks to (at most just over ``limit``: counting stops
    there); None when its headers cannot be read (extraction then says why)."""
    try:
        if kind == "zip":
            with zipfile.ZipFile(archive) as opened:
                return sum(info.file_size for info in opened.infolist())
        total = 0
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                total += member.size if member.isfile() else 0
                if total > limit:
                    break
        return total
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, tarfile.TarError, RuntimeError):
        return None


def remove_stale_temp_files(root: Path, older_than: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Delete the temp files of atomic writes (``.active.json.<hex>.tmp`` ...) that a crash or a
    failed write left in ``root`` and its model folders; returns them. Files younger than
    ``older_than`` seconds may be another process's write in progress and stay."""
    now = time.time()
    removed = []
    folders = [root]
    with contextlib.suppress(OSError):
        folders += [p for p in root.iterdir() if p.is_dir() and p.name != ".incoming"]
    for folder in folders:
        entries: list[Path] = []
        with contextlib.suppress(OSError):
            entries = [e for e in folder.iterdir() if TEMP_FILE.match(e.name)]
        for entry in entries:
            with contextlib.suppress(OSError):
                if now - entry.stat().st_mtime > older_than:
                    entry.unlink()
                    removed.append(entry)
    if removed:
        logger.info(kv("model_store_temp_files_removed", count=len(removed), root=root))
    return removed


def _mib(n: int) -> str:
    return f"{n / 1024**2:.1f} MiB"
