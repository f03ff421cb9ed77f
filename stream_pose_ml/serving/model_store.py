"""`ModelStore`: uploaded models under ``<data>/models``, and which one is active.

Layout (one folder per model, named by the first 16 hex digits of the upload's SHA-256, or by a
name the uploader chose)::

    <data>/models/
      active.json          {"model_id", "window_size", "stride", "activated_at"}
      <id>/meta.json       what was uploaded: file name, format, size, classes, window ...
      <id>/<file name>     a single-file upload (pickle, joblib, ...), or
      <id>/model/...       the safely extracted archive (bundle, MLflow model)
      .incoming/           uploads in progress (removed on success and on failure)

An upload is accepted only if the model loader reads it and (unless
``require_feature_transform=False``, as in the model service, which scores feature rows) its
feature transform can be rebuilt, so every stored model can serve. ``active.json`` is written
atomically, so the active model and its window settings survive a restart. Disk faults (a full
or read-only folder) are :mod:`~stream_pose_ml.serving.storage`'s ``storage_unavailable``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from stream_pose_ml.archives import ArchiveLimits, archive_kind, safe_extract
from stream_pose_ml.errors import ModelStoreError, ServingError, StreamPoseMLError
from stream_pose_ml.learning.paths import data_dir
from stream_pose_ml.logfmt import kv
from stream_pose_ml.serving.model_records import (
    MODEL_ID,
    ActiveModel,
    ModelRecord,
    Upload,
    attach_spec,
    check_model_id,
    model_record,
    now,
    safe_filename,
    window_stride,
    write_json,
)
from stream_pose_ml.serving.servable import ServableModel
from stream_pose_ml.serving.storage import (
    MIN_FREE_BYTES,
    check_free_space,
    declared_size,
    remove_stale_temp_files,
    storage_writes,
)

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20
#: A non-seekable upload is hashed in memory up to this size, then in the system's temp folder.
_SPOOL = 16 << 20
#: An upload folder untouched for this long is a crashed upload's, not one in progress.
ABANDONED_UPLOAD_SECONDS = 3600.0


def default_models_dir() -> Path:
    """``$STREAM_POSE_ML_DATA/models`` (``./data/models`` if unset), absolute."""
    return data_dir() / "models"


def _default_loader(path: Path) -> ServableModel:
    from stream_pose_ml.learning.loading import load_model

    return load_model(path)


class ModelStore:
    """Stores uploads, lists them, loads them and remembers the active one. Keeps no model in
    memory: the process's model cache does (``LiveModels``, the model service).

    ``loader(path) -> LoadedModel`` defaults to ``stream_pose_ml.learning.loading.load_model``;
    a loader may refuse a model with a ``ServingError`` of its own. Thread-safe. Several
    processes may share ``root`` (replicas of the API): a model activated by one becomes every
    replica's active model within ``active_refresh_seconds``.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        loader: Callable[[Path], ServableModel] | None = None,
        archive_limits: ArchiveLimits | None = None,
        active_refresh_seconds: float | None = 1.0,
        require_feature_transform: bool = True,
        min_free_bytes: int = MIN_FREE_BYTES,
    ) -> None:
        self.root = Path(root).resolve() if root is not None else default_models_dir()
        # Several replicas share ``root``: ``active()`` re-reads ``active.json`` when its file
        # changed, checked at most every ``active_refresh_seconds`` (None: read once).
        self.active_refresh_seconds = active_refresh_seconds
        self._active_stamp: tuple[int, int, int] | None = None
        self._active_checked = 0.0
        self.loader = loader or _default_loader
        self.archive_limits = archive_limits or ArchiveLimits()
        self.require_feature_transform = require_feature_transform
        self.min_free_bytes = min_free_bytes  # an upload must leave this much free space
        self._lock = threading.RLock()
        self._active: ActiveModel | None = None
        self._active_read = False
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a read-only data folder: serve what is there, refuse uploads
            logger.error(kv("model_store_unwritable", root=self.root, error=exc))
        self._remove_abandoned_uploads()
        remove_stale_temp_files(self.root)

    def _remove_abandoned_uploads(self) -> None:
        """Remove what crashed uploads left in ``.incoming``; not the uploads in progress of
        other processes sharing the folder (replicas, workers): only entries untouched for
        ``ABANDONED_UPLOAD_SECONDS``."""
        incoming = self.root / ".incoming"
        now = time.time()
        with contextlib.suppress(OSError):
            for entry in incoming.iterdir():
                with contextlib.suppress(OSError):
                    if now - entry.stat().st_mtime > ABANDONED_UPLOAD_SECONDS:
                        shutil.rmtree(entry, ignore_errors=True)
            incoming.rmdir()  # only when empty

    # -- upload ---------------------------------------------------------------------------------
    def add(
        self,
        stream: IO[bytes],
        filename: str | None,
        max_bytes: int | None = None,
        window_size: int | None = None,
        model_id: str | None = None,
        overlap: int | None = None,
    ) -> Upload:
        """Store an uploaded model file or archive: its record (the existing one if these bytes
        are stored already) and the model as loaded to check it (None if it was stored before).

        ``window_size`` is used only for a model whose columns do not record their window
        (pooled ``__mean``/... columns of a legacy pickle). ``overlap`` (the window overlap the
        caller will activate it with) is checked before anything is stored. The id is the
        upload's SHA-256 prefix unless ``model_id`` names it; a model stored under that name
        with other bytes is replaced. The bytes are hashed before they are written, so storing
        them again needs no disk space. Raises ModelStoreError (``too_large`` 413,
        ``not_a_model`` 422, ``bad_overlap`` 400, ``storage_unavailable`` 503) or ArchiveError;
        a refused upload leaves nothing behind.
        """
        name = safe_filename(filename)
        if model_id is not None:
            check_model_id(model_id)
        source, digest, size = _hashed(stream, name, max_bytes)
        try:
            return self._store(source, name, digest, size, model_id, window_size, overlap)
        finally:
            if source is not stream:
                source.close()

    def _store(
        self,
        source: IO[bytes],
        name: str,
        digest: str,
        size: int,
        model_id: str | None,
        window_size: int | None,
        overlap: int | None,
    ) -> Upload:
        model_id = model_id or digest[:16]
        with self._lock:
            known = self._known(model_id, digest)
        if known is not None:
            logger.info(kv("model_upload_known", model_id=model_id, filename=name))
            return Upload(known, None)
        with storage_writes("store the upload", self.root):
            check_free_space(self.root, size, f"storing {name}", self.min_free_bytes)
            incoming = self._incoming()
        try:
            upload = incoming / name
            with storage_writes("store the upload", self.root):
                _copy(source, upload)
                relative = self._extracted(upload, incoming, name)
            model = self._load_checked(incoming / relative, name, window_size=window_size)
            record = model_record(model, model_id, name, relative, size, digest)
            window_stride(record.window_size, overlap, record.window_stride)  # bad_overlap
            with storage_writes("store the upload", self.root), self._lock:
                write_json(incoming / "meta.json", record.to_dict())
                known = self._known(model_id, digest)
                if known is not None:  # the same upload arrived twice at once
                    return Upload(known, None)
                final = self.root / model_id
                if final.exists():  # a named model with other bytes: replaced
                    shutil.rmtree(final)
                os.replace(incoming, final)
            logger.info(
                kv(
                    "model_stored",
                    model_id=model_id,
                    filename=name,
                    format=record.format,
                    bytes=size,
                    window=record.window_size,
                )
            )
            return Upload(record, model)
        finally:
            shutil.rmtree(incoming, ignore_errors=True)
            with contextlib.suppress(OSError):  # leave no empty .incoming behind
                incoming.parent.rmdir()

    def _extracted(self, upload: Path, incoming: Path, name: str) -> Path:
        """Where the model is inside ``incoming``: the upload itself, or its archive extracted
        (when its declared content fits on the disk) with the archive removed."""
        kind = archive_kind(upload)
        if kind is None:
            return Path(name)
        limit = self.archive_limits.max_bytes
        declared = declared_size(upload, kind, limit)
        if declared is not None and declared <= limit:  # larger: safe_extract answers 413
            check_free_space(incoming, declared, f"extracting {name}", self.min_free_bytes)
        safe_extract(upload, incoming / "model", self.archive_limits)
        upload.unlink()
        return _model_root(incoming / "model").relative_to(incoming)

    def _incoming(self) -> Path:
        """A new folder for one upload under ``.incoming`` (which another upload may remove)."""
        for _ in range(3):
            folder = self.root / ".incoming" / uuid.uuid4().hex
            try:
                folder.mkdir(parents=True)
                return folder
            except FileNotFoundError:  # .incoming removed between its creation and ours
                continue
        folder.mkdir(parents=True)
        return folder

    def _known(self, model_id: str, digest: str) -> ModelRecord | None:
        """The stored record of ``model_id`` if it holds these bytes (call with the lock)."""
        if not (self.root / model_id / "meta.json").is_file():
            return None
        record = self.record(model_id)
        return record if record.sha256 == digest else None

    def remove(self, model_id: str) -> None:
        """Delete a stored model (not the active one's record in ``active.json``)."""
        if MODEL_ID.match(model_id or ""):
            with self._lock:
                shutil.rmtree(self.root / model_id, ignore_errors=True)

    def clear(self) -> None:
        """Delete every stored model and the active model's record."""
        with self._lock:
            for entry in self.root.iterdir():
                if MODEL_ID.match(entry.name) and (entry / "meta.json").is_file():
                    shutil.rmtree(entry, ignore_errors=True)
            (self.root / "active.json").unlink(missing_ok=True)
            self._active, self._active_read = None, True

    def _public(self, exc: BaseException) -> str:
        """The error's message without the store's own paths (clients see it)."""
        text = str(exc)
        for folder in (self.root / ".incoming", self.root):
            text = re.sub(re.escape(str(folder)) + r"/(?:[0-9a-f]{32}/)?", "", text)
        return text

    def _load_checked(
        self,
        path: Path,
        name: str,
        window_size: int | None = None,
        spec: dict[str, Any] | None = None,
    ) -> ServableModel:
        """Load with the model loader and rebuild its feature transform; 422 if either fails.

        A model without a readable feature spec gets ``spec`` (stored at upload) or, for pooled
        columns, the spec its columns give with ``window_size``.
        """
        try:
            model = self.loader(path)
            if model.feature_spec is None and (spec or window_size):
                attach_spec(model, spec, window_size)
            if self.require_feature_transform:
                model.feature_transform()
        except ServingError:  # ArchiveError, ModelStoreError, or the loader's own refusal
            raise
        except StreamPoseMLError as exc:
            raise ModelStoreError("not_a_model", _named(name, self._public(exc))) from exc
        except Exception as exc:  # unpickling arbitrary bytes can raise anything
            raise ModelStoreError(
                "not_a_model",
                f"{name} is not a model this server can load "
                f"({type(exc).__name__}: {self._public(exc)}); "
                "upload a model bundle, a pickle of {'classifier': model}, a joblib file or an "
                "MLflow model (zip or tar)",
            ) from exc
        return model

    # -- reading --------------------------------------------------------------------------------
    def records(self) -> list[ModelRecord]:
        """Every stored model, oldest upload first."""
        out = []
        for meta in self.root.glob("*/meta.json"):
            if not MODEL_ID.match(meta.parent.name):
                continue
            try:
                out.append(ModelRecord.from_dict(json.loads(meta.read_text())))
            except (OSError, ValueError, TypeError) as exc:
                logger.warning(kv("model_meta_unreadable", path=meta, error=exc))
        return sorted(out, key=lambda r: (r.uploaded_at, r.id))

    def record(self, model_id: str) -> ModelRecord:
        meta = self.root / model_id / "meta.json" if MODEL_ID.match(model_id or "") else None
        if meta is None or not meta.is_file():
            raise ModelStoreError(
                "unknown_model", f"no stored model {model_id!r}; see GET /models", status=404
            )
        try:
            return ModelRecord.from_dict(json.loads(meta.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise ModelStoreError(
                "unknown_model", f"model {model_id}: unreadable {meta} ({exc})", status=404
            ) from exc

    def load(self, model_id: str) -> ServableModel:
        """Load a stored model from its files (the caller caches it)."""
        record = self.record(model_id)
        return self._load_checked(
            self.root / model_id / record.path, record.filename, spec=record.feature_spec
        )

    # -- the active model -----------------------------------------------------------------------
    def activate(
        self, model_id: str, window_size: int | None = None, overlap: int | None = None
    ) -> tuple[ActiveModel, list[str]]:
        """Make ``model_id`` the active model; returns it and warnings about ignored settings
        (what the model's file does not record is in its record's ``warnings``).

        The window size is the model's own (its feature transform needs exactly that many
        frames); a different ``window_size`` is reported, not used. ``overlap`` must be
        ``0 <= overlap < window``; by default the model's training stride is kept. A data
        folder that cannot be written raises ``storage_unavailable`` (503).
        """
        record = self.record(model_id)
        warnings = []
        size = record.window_size
        if window_size is not None and window_size != size:
            warnings.append(
                f"frame_window_size {window_size} ignored: model {model_id} was trained on "
                f"windows of {size} frames"
            )
        stride = window_stride(size, overlap, record.window_stride)
        active = ActiveModel(model_id=model_id, window_size=size, stride=stride)
        with storage_writes("activate the model", self.root), self._lock:
            write_json(self.root / "active.json", asdict(active))
            self._active, self._active_read = active, True
            self._active_stamp = self._stamp()
        logger.info(kv("model_activated", model_id=model_id, window=size, stride=stride))
        return active, warnings

    def _stamp(self) -> tuple[int, int, int] | None:
        """``active.json``'s (inode, mtime ns, size); None if it does not exist."""
        try:
            st = os.stat(self.root / "active.json")
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _active_changed(self) -> bool:
        """Whether another process rewrote ``active.json`` (checked at most every
        ``active_refresh_seconds``; call with the lock)."""
        if self.active_refresh_seconds is None:
            return False
        now = time.monotonic()
        if now - self._active_checked < self.active_refresh_seconds:
            return False
        self._active_checked = now
        stamp = self._stamp()
        if stamp == self._active_stamp:
            return False
        previous = self._active.model_id if self._active else None
        logger.info(kv("active_model_changed_on_disk", previous=previous))
        return True

    def active(self) -> ActiveModel | None:
        """The active model: read from ``active.json``, and again whenever another process
        (a replica sharing the data folder) rewrote it."""
        with self._lock:
            if not self._active_read or self._active_changed():
                self._active_read = True
                self._active_checked = time.monotonic()
                self._active_stamp = self._stamp()
                path = self.root / "active.json"
                if path.is_file():
                    try:
                        data = json.loads(path.read_text())
                        self._active = ActiveModel(
                            model_id=str(data["model_id"]),
                            window_size=int(data["window_size"]),
                            stride=int(data["stride"]),
                            activated_at=str(data.get("activated_at", now())),
                        )
                        self.record(self._active.model_id)
                    except (OSError, ValueError, KeyError, TypeError, ModelStoreError) as exc:
                        logger.error(kv("active_model_unreadable", path=path, error=exc))
                        self._active = None
                else:
                    self._active = None
            return self._active


def _hashed(stream: IO[bytes], name: str, max_bytes: int | None) -> tuple[IO[bytes], str, int]:
    """``(a seekable copy at its start, SHA-256 hex, size)`` of an upload, read once without
    touching the data folder: a seekable stream (Werkzeug spools uploads) is read in place and
    rewound, another is spooled in memory (to the system's temp folder beyond ``_SPOOL``)."""
    try:
        start = stream.tell() if stream.seekable() else None
    except (OSError, ValueError):
        start = None
    spool = None if start is not None else tempfile.SpooledTemporaryFile(_SPOOL)  # noqa: SIM115
    source: IO[bytes] = stream if spool is None else spool  # the caller closes a spool
    digest = hashlib.sha256()
    size = 0
    try:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise ModelStoreError(
                    "too_large", f"the upload exceeds {max_bytes} bytes", status=413
                )
            digest.update(chunk)
            if source is not stream:
                source.write(chunk)
        if size == 0:
            raise ModelStoreError("not_a_model", f"{name} is empty", status=400)
        source.seek(start or 0)
    except BaseException:
        if source is not stream:
            source.close()
        raise
    return source, digest.hexdigest(), size


def _named(name: str, message: str) -> str:
    """``message`` about the upload ``name``, which names it once."""
    return message if message.startswith(name) else f"{name}: {message}"


def _copy(source: IO[bytes], target: Path) -> None:
    with open(target, "xb") as out:
        shutil.copyfileobj(source, out, _CHUNK)


def _model_root(folder: Path) -> Path:
    """An archive's model folder: its only top-level folder, if it has nothing else."""
    entries = [p for p in folder.iterdir() if p.name not in ("__MACOSX", ".DS_Store")]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return folder
