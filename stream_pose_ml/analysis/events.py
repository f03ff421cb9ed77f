"""What analyzers emit: typed events with frame and time ranges, and form errors inside them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stream_pose_ml.errors import PoseDataError

#: A value an event carries: a number, a flag, a name, or None when it could not be measured.
EventValue = float | int | bool | str | None


class AnalysisInputError(PoseDataError):
    """Input an analyzer cannot use: landmarks of the wrong shape, time going backwards."""


@dataclass(frozen=True)
class FormError:
    """A fault found inside an event: ``kind`` (``"shallow"``, ``"trunk_lean"``, ...), the first
    and last source frame it was seen on, and its worst ``value`` (units per kind, see
    docs/analysis.md)."""

    kind: str
    start_frame: int
    end_frame: int
    value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "value": self.value,
        }


@dataclass(frozen=True)
class AnalysisEvent:
    """One finding over source frames ``start_frame`` .. ``end_frame`` (inclusive), at times
    ``start_s`` .. ``end_s`` (presentation seconds): ``kind`` (``"repetition"``,
    ``"camera_angle"``, ``"fall"``, ``"gap"``), measured ``values`` and the ``errors`` found."""

    analyzer: str
    kind: str
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    values: Mapping[str, EventValue] = field(default_factory=dict)
    errors: tuple[FormError, ...] = ()

    def number(self, key: str) -> float:
        """``values[key]`` as a number; a clear error when it is missing or not one."""
        value = self.values.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise KeyError(f"{self.kind} event has no number {key!r} (got {value!r})")
        return float(value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "analyzer": self.analyzer,
            "kind": self.kind,
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "values": dict(self.values),
            "errors": [e.to_dict() for e in self.errors],
        }

    @classmethod
    def from_dict(cls, item: Mapping[str, Any]) -> AnalysisEvent:
        return cls(
            analyzer=str(item["analyzer"]),
            kind=str(item["kind"]),
            start_frame=int(item["start_frame"]),
            end_frame=int(item["end_frame"]),
            start_s=float(item["start_s"]),
            end_s=float(item["end_s"]),
            values=dict(item.get("values") or {}),
            errors=tuple(
                FormError(
                    kind=str(e["kind"]),
                    start_frame=int(e["start_frame"]),
                    end_frame=int(e["end_frame"]),
                    value=None if e.get("value") is None else float(e["value"]),
                )
                for e in item.get("errors") or ()
            ),
        )


def span_errors(kind: str, frames: list[int], values: list[float], worst: str) -> FormError | None:
    """One `FormError` from the frames (and values) where a check failed; None when none did.
    ``worst`` is ``"max"`` or ``"min"``: which value is the worst."""
    if not frames:
        return None
    value = max(values) if worst == "max" else min(values)
    return FormError(kind, min(frames), max(frames), round(float(value), 3))
