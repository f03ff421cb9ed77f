"""Identity metrics of a tracker run against ground truth (CLEAR-MOT identity switches).

Per frame, each detection has a true person and the track id it was given (None if it was
given none). A *switch* is a true person whose track id differs from the one it last had; a
*merge* is a track id that carried more than one true person over the run; *unassigned*
counts detections without a (confirmed) track id.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IdentityReport:
    switches: int
    merges: int
    unassigned: int
    assigned: int
    #: true person -> the track ids it was given, in order of first use
    tracks_of: Mapping[Hashable, tuple[int, ...]]

    @property
    def clean(self) -> bool:
        """No switch and no merge."""
        return self.switches == 0 and self.merges == 0


def identity_report(frames: Iterable[Mapping[Any, int | None]]) -> IdentityReport:
    """Count identity errors; each frame maps true person -> track id (or None)."""
    last: dict[Hashable, int] = {}
    tracks_of: dict[Hashable, list[int]] = {}
    truths_of: dict[int, set[Hashable]] = {}
    switches = unassigned = assigned = 0
    for frame in frames:
        for truth, track_id in frame.items():
            if track_id is None:
                unassigned += 1
                continue
            assigned += 1
            if truth in last and last[truth] != track_id:
                switches += 1
            last[truth] = track_id
            used = tracks_of.setdefault(truth, [])
            if track_id not in used:
                used.append(track_id)
            truths_of.setdefault(track_id, set()).add(truth)
    merges = sum(1 for truths in truths_of.values() if len(truths) > 1)
    return IdentityReport(
        switches=switches,
        merges=merges,
        unassigned=unassigned,
        assigned=assigned,
        tracks_of={truth: tuple(ids) for truth, ids in tracks_of.items()},
    )
