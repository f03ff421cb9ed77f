"""What a video job is asked to do (`JobSettings`), validated once from form fields or JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stream_pose_ml.analysis.registry import ANALYZERS
from stream_pose_ml.errors import ServingError

COMPLEXITIES = ("lite", "full", "heavy")
SUBJECTS = ("largest", "longest", "moves_most")
MAX_POSES = 6


def _bad(message: str) -> ServingError:
    return ServingError("bad_form", message, 400)


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise _bad(f"{name} must be true or false, got {value!r}")


@dataclass(frozen=True)
class JobSettings:
    """``complexity`` the MediaPipe model, ``num_poses`` people per frame (1..6), ``subject``
    who is analyzed ("largest" in view, "longest" seen, "moves_most" or a track id; the two
    whole-video rules make two passes, `subject_pass`), ``analyzers`` registry names,
    ``classify`` whether the active model (if any) runs too."""

    complexity: str = "full"
    num_poses: int = 1
    subject: str | int = "largest"
    analyzers: tuple[str, ...] = ()
    classify: bool = True

    def __post_init__(self) -> None:
        if self.complexity not in COMPLEXITIES:
            raise _bad(f"complexity must be one of {', '.join(COMPLEXITIES)}")
        if isinstance(self.num_poses, bool) or not 1 <= int(self.num_poses) <= MAX_POSES:
            raise _bad(f"num_poses must be 1 to {MAX_POSES}, got {self.num_poses!r}")
        if isinstance(self.subject, bool) or not (
            self.subject in SUBJECTS or (isinstance(self.subject, int) and self.subject >= 0)
        ):
            raise _bad(
                "subject must be 'largest', 'longest', 'moves_most' or a track id, "
                f"got {self.subject!r}"
            )
        unknown = [a for a in self.analyzers if a not in ANALYZERS]
        if unknown:
            raise ServingError(
                "unknown_analyzer",
                f"unknown analyzer {unknown[0]!r}; known: {', '.join(sorted(ANALYZERS))}",
                400,
            )
        if len(set(self.analyzers)) != len(self.analyzers):
            raise _bad("an analyzer is named twice")

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> JobSettings:
        """From form strings (``analyzers`` comma-separated) or JSON values; missing fields
        take their defaults; bad ones are ``ServingError("bad_form", ..., 400)``."""
        options: dict[str, Any] = {}
        if fields.get("complexity") not in (None, ""):
            options["complexity"] = str(fields["complexity"]).strip().lower()
        if fields.get("num_poses") not in (None, ""):
            try:
                options["num_poses"] = int(str(fields["num_poses"]).strip())
            except ValueError:
                raise _bad(
                    f"num_poses must be a whole number, got {fields['num_poses']!r}"
                ) from None
        subject = fields.get("subject")
        if subject not in (None, ""):
            text = str(subject).strip().lower()
            options["subject"] = int(text) if text.isdigit() else text
        analyzers = fields.get("analyzers")
        if analyzers not in (None, ""):
            items = analyzers.split(",") if isinstance(analyzers, str) else list(analyzers)
            options["analyzers"] = tuple(str(a).strip().lower() for a in items if str(a).strip())
        if fields.get("classify") is not None:
            options["classify"] = _flag(fields["classify"], "classify")
        return cls(**options)

    def to_dict(self) -> dict[str, Any]:
        return {
            "complexity": self.complexity,
            "num_poses": int(self.num_poses),
            "subject": self.subject,
            "analyzers": list(self.analyzers),
            "classify": self.classify,
        }


def analyzer_catalog() -> list[dict[str, str]]:
    """``[{"name", "title", "description"}]`` of the registry's analyzers, by name."""
    catalog = []
    for name, cls in sorted(ANALYZERS.items()):
        doc = (cls.__doc__ or "").strip().split("\n\n")[0]
        catalog.append(
            {"name": name, "title": name.capitalize(), "description": " ".join(doc.split())}
        )
    return catalog
