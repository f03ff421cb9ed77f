"""What the model store knows of a model without loading it: records, the active model, ids.

Plain data written as JSON in the store's folders (``meta.json``, ``active.json``), and the
checks of names that become folder and file names.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from stream_pose_ml.errors import ModelStoreError
from stream_pose_ml.serving.servable import ServableModel, class_names

#: A model id: the upload's SHA-256 prefix (16 hex digits), or a name a caller chose.
MODEL_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def check_model_id(model_id: str) -> str:
    """``model_id`` if it can name a stored model, else ModelStoreError ``bad_model_id`` (400)."""
    if not isinstance(model_id, str) or not MODEL_ID.match(model_id):
        raise ModelStoreError(
            "bad_model_id", "model_id must be 1-64 characters of A-Z a-z 0-9 - _ .", status=400
        )
    return model_id


def safe_filename(name: str | None, default: str = "model") -> str:
    """A plain file name: no folders, only ``A-Za-z0-9._-``, at most 100 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME.sub("_", base).strip("._")[:100]
    return base or default


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` atomically; a failed write (a full disk) leaves no temp file behind."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def window_stride(window: int, overlap: int | None, default: int) -> int:
    """The stride of ``window``-frame windows overlapping by ``overlap`` frames (None: the
    model's ``default``); ModelStoreError ``bad_overlap`` (400) unless ``0 <= overlap < window``.
    """
    if overlap is None:
        return default
    if not 0 <= overlap < window:
        raise ModelStoreError(
            "bad_overlap",
            f"frame_window_overlap must be 0..{window - 1} for a window of {window} frames, "
            f"got {overlap}",
            status=400,
        )
    return window - overlap


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
    warnings: list[str] = field(default_factory=list)  # what the loader could not know

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
    activated_at: str = field(default_factory=now)

    @property
    def overlap(self) -> int:
        return max(0, self.window_size - self.stride)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "overlap": self.overlap}


@dataclass(frozen=True)
class Upload:
    """A stored upload: its record and, if this call stored it, the model as loaded to check it
    (None when the same bytes were stored before)."""

    record: ModelRecord
    model: ServableModel | None


def attach_spec(model: ServableModel, spec: dict[str, Any] | None, window_size: int | None) -> None:
    """Give a loaded model the feature spec its file lacks (a stored one, or one read from its
    pooled columns with the upload's window size, which cannot tell its rounding: warned)."""
    from stream_pose_ml.features.spec import FeatureSpec

    if spec is not None:
        feature_spec = FeatureSpec.from_dict(spec)
    else:
        feature_spec = FeatureSpec.from_columns(model.input_columns, window=window_size)
        from stream_pose_ml.learning.loading import precision_unknown_warning

        warnings = getattr(model, "warnings", None)
        message = precision_unknown_warning(feature_spec)
        if isinstance(warnings, list) and message not in warnings:
            warnings.append(message)
    model.feature_spec = feature_spec
    model.window_size = feature_spec.window


def model_record(
    model: ServableModel, model_id: str, name: str, relative: Path, size: int, digest: str
) -> ModelRecord:
    spec = model.feature_spec
    return ModelRecord(
        id=model_id,
        filename=name,
        format=str(model.format),
        path=relative.as_posix(),
        size_bytes=size,
        sha256=digest,
        uploaded_at=now(),
        window_size=int(model.window_size or 1),
        window_stride=int(model.window_stride or 1),
        classes=class_names(model),
        n_input_columns=len(model.input_columns),
        feature_spec=spec.to_dict() if spec is not None else None,
        warnings=[str(w) for w in getattr(model, "warnings", None) or ()],
    )
