"""`ModelStore`: uploaded models under ``<data>/models``, and which one is active.

Layout (one folder per model, named by the first 16 hex digits of the upload's SHA-256)::

    <data>/models/
      active.json          {"model_id", "window_size", "stride", "activated_at"}
      <id>/meta.json       what was uploaded: file name, format, size, classes, window ...
      <id>/<file name>     a single-file upload (pickle, joblib, ...), or
      <id>/model/...       the safely extracted archive (bundle, MLflow model)
      .incoming/           uploads in progress; removed on success and on failure

An upload is accepted only if the model loader reads it and its feature transform can be rebuilt,
so every stored model can serve. ``active.json`` is written atomically, so the active model and its
window settings survive a restart.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from stream_pose_ml.errors import StreamPoseMLError
from stream_pose_ml.learning.paths import data_dir
from stream_pose_ml.serving.archive import ArchiveLimits, archive_kind, safe_extract
from stream_pose_ml.serving.errors import ArchiveError, ModelStoreError
from stream_pose_ml.serving.logfmt import kv

logger = logging.getLogger(__name__)

_ID = re.compile(r"^[0-9a-f]{16}$")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_CHUNK = 1 << 20


def default_models_dir() -> Path:
    """``$STREAM_POSE_ML_DATA/models`` (``./data/models`` if unset), absolute."""
    return data_dir() / "models"


def safe_filename(name: str | None, default: str = "model") -> str:
    """A plain file name: no folders, only ``A-Za-z0-9._-``, at most 100 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME.sub("_", base).strip("._")[:100]
    return base or default


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, path)


@dataclass
class ModelRecord:
    """What is known about a stored model without loading it again."""

    id: str
    filename: str
    format: str
    path: str  # inside the model's folder: what the loader reads
    size_bytes: int
    sha256: str
    uploaded_at: str
    window_size: int
    window_stride: int
    classes: list[str] | None = None
    n_input_columns: int = 0
    feature_spec: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelRecord:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class ActiveModel:
    """The model new sessions use, and its window settings (``stride`` = size - overlap)."""

    model_id: str
    window_size: int
    stride: int
    activated_at: str = field(default_factory=_now)

    @property
    def overlap(self) -> int:
        return max(0, self.window_size - self.stride)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "overlap": self.overlap}


def _default_loader(path: Path) -> Any:
    from stream_pose_ml.learning.loading import load_model

    return load_model(path)


class ModelStore:
    """Stores uploads, lists them, loads them (with a small cache) and remembers the active one.

    ``loader(path) -> LoadedModel`` defaults to ``stream_pose_ml.learning.loading.load_model``.
    Thread-safe. Several processes may share ``root`` (replicas of the API): a model activated by
    one becomes every replica's active model within ``active_refresh_seconds``.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        loader: Callable[[Path], Any] | None = None,
        archive_limits: ArchiveLimits | None = None,
        cache_size: int = 4,
        active_refresh_seconds: float | None = 1.0,
    ) -> None:
        self.root = Path(root).resolve() if root is not None else default_models_dir()
        # Several replicas share ``root``: ``active()`` re-reads ``active.json`` when its file
        # changed, checked at most every ``active_refresh_seconds`` (None: read once).
        self.active_refresh_seconds = active_refresh_seconds
        self._active_stamp: tuple[int, int, int] | None = None
        self._active_checked = 0.0
        self.loader = loader or _default_loader
        self.archive_limits = archive_limits or ArchiveLimits()
        self.cache_size = cache_size
        self._lock = threading.RLock()
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._active: ActiveModel | None = None
        self._active_read = False
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.root / ".incoming", ignore_errors=True)  # leftovers of a crash

    # -- upload ---------------------------------------------------------------------------------
    def add(
        self,
        stream: BinaryIO,
        filename: str | None,
        max_bytes: int | None = None,
        window_size: int | None = None,
    ) -> ModelRecord:
        """Store an uploaded model file or archive; returns its record (existing one if known).

        ``window_size`` is used only for a model whose columns do not record their window
        (pooled ``__mean``/... columns of a legacy pickle). Raises ModelStoreError
        (``too_large`` 413, ``not_a_model`` 422) or ArchiveError.
        """
        name = safe_filename(filename)
        incoming = self.root / ".incoming" / uuid.uuid4().hex
        incoming.mkdir(parents=True)
        try:
            upload = incoming / name
            digest, size = self._receive(stream, upload, max_bytes)
            model_id = digest[:16]
            with self._lock:
                if (self.root / model_id / "meta.json").is_file():
                    logger.info(kv("model_upload_known", model_id=model_id, filename=name))
                    return self.record(model_id)
            if archive_kind(upload) is not None:
                safe_extract(upload, incoming / "model", self.archive_limits)
                upload.unlink()
                relative = _model_root(incoming / "model").relative_to(incoming)
            else:
                relative = Path(name)
            model = self._load_checked(incoming / relative, name, window_size=window_size)
            record = _record(model, model_id, name, relative, size, digest)
            _write_json(incoming / "meta.json", record.to_dict())
            with self._lock:
                final = self.root / model_id
                if final.exists():  # the same upload arrived twice at once
                    return self.record(model_id)
                os.replace(incoming, final)
                self._remember(model_id, model)
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
            return record
        finally:
            shutil.rmtree(incoming, ignore_errors=True)

    def _receive(self, stream: BinaryIO, target: Path, max_bytes: int | None) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        with open(target, "xb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise ModelStoreError(
                        "too_large", f"the upload exceeds {max_bytes} bytes", status=413
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ModelStoreError("not_a_model", f"{target.name} is empty", status=400)
        return digest.hexdigest(), size

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
    ) -> Any:
        """Load with the model loader and rebuild its feature transform; 422 if either fails.

        A model without a readable feature spec gets ``spec`` (stored at upload) or, for pooled
        columns, the spec its columns give with ``window_size``.
        """
        try:
            model = self.loader(path)
            if getattr(model, "feature_spec", None) is None and (spec or window_size):
                _attach_spec(model, spec, window_size)
            model.transform()
        except (ArchiveError, ModelStoreError):
            raise
        except StreamPoseMLError as exc:
            raise ModelStoreError("not_a_model", f"{name}: {self._public(exc)}") from exc
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
            if not _ID.match(meta.parent.name):
                continue
            try:
                out.append(ModelRecord.from_dict(json.loads(meta.read_text())))
            except (OSError, ValueError, TypeError) as exc:
                logger.warning(kv("model_meta_unreadable", path=meta, error=exc))
        return sorted(out, key=lambda r: (r.uploaded_at, r.id))

    def record(self, model_id: str) -> ModelRecord:
        meta = self.root / model_id / "meta.json" if _ID.match(model_id or "") else None
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

    def load(self, model_id: str) -> Any:
        """The loaded model (cached; at most ``cache_size`` stay in memory)."""
        with self._lock:
            if model_id in self._cache:
                self._cache.move_to_end(model_id)
                return self._cache[model_id]
            record = self.record(model_id)
            model = self._load_checked(
                self.root / model_id / record.path, record.filename, spec=record.feature_spec
            )
            self._remember(model_id, model)
            return model

    def _remember(self, model_id: str, model: Any) -> None:
        self._cache[model_id] = model
        self._cache.move_to_end(model_id)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    # -- the active model -----------------------------------------------------------------------
    def activate(
        self, model_id: str, window_size: int | None = None, overlap: int | None = None
    ) -> tuple[ActiveModel, list[str]]:
        """Make ``model_id`` the active model; returns it and warnings about ignored settings.

        The window size is the model's own (its feature transform needs exactly that many
        frames); a different ``window_size`` is reported, not used. ``overlap`` must be
        ``0 <= overlap < window``; by default the model's training stride is kept.
        """
        record = self.record(model_id)
        warnings = []
        size = record.window_size
        if window_size is not None and window_size != size:
            warnings.append(
                f"frame_window_size {window_size} ignored: model {model_id} was trained on "
                f"windows of {size} frames"
            )
        if overlap is None:
            stride = record.window_stride
        elif not 0 <= overlap < size:
            raise ModelStoreError(
                "bad_overlap",
                f"frame_window_overlap must be 0..{size - 1} for a window of {size} frames, "
                f"got {overlap}",
                status=400,
            )
        else:
            stride = size - overlap
        active = ActiveModel(model_id=model_id, window_size=size, stride=stride)
        with self._lock:
            _write_json(self.root / "active.json", asdict(active))
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
                            activated_at=str(data.get("activated_at", _now())),
                        )
                        self.record(self._active.model_id)
                    except (OSError, ValueError, KeyError, TypeError, ModelStoreError) as exc:
                        logger.error(kv("active_model_unreadable", path=path, error=exc))
                        self._active = None
                else:
                    self._active = None
            return self._active


def _attach_spec(model: Any, spec: dict[str, Any] | None, window_size: int | None) -> None:
    """Give a loaded model the feature spec its file lacks (a stored one, or one read from its
    pooled columns with the upload's window size)."""
    from stream_pose_ml.features.spec import FeatureSpec

    if spec is not None:
        feature_spec = FeatureSpec.from_dict(spec)
    else:
        feature_spec = FeatureSpec.from_columns(model.input_columns, window=window_size)
    model.feature_spec = feature_spec
    model.window_size = feature_spec.window


def _model_root(folder: Path) -> Path:
    """An archive's model folder: its only top-level folder, if it has nothing else."""
    entries = [p for p in folder.iterdir() if p.name not in ("__MACOSX", ".DS_Store")]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return folder


def _record(
    model: Any, model_id: str, name: str, relative: Path, size: int, digest: str
) -> ModelRecord:
    classes = getattr(model, "classes", None)
    spec = getattr(model, "feature_spec", None)
    return ModelRecord(
        id=model_id,
        filename=name,
        format=str(getattr(model, "format", "unknown")),
        path=relative.as_posix(),
        size_bytes=size,
        sha256=digest,
        uploaded_at=_now(),
        window_size=int(getattr(model, "window_size", 1) or 1),
        window_stride=int(getattr(model, "window_stride", 1) or 1),
        classes=None if classes is None else list(model.label(list(classes))),
        n_input_columns=len(getattr(model, "input_columns", ()) or ()),
        feature_spec=spec.to_dict() if spec is not None else None,
    )
