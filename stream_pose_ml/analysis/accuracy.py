"""Analyzer events against known truth: matching and error summaries (tests, docs/analysis.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from stream_pose_ml.analysis.events import AnalysisEvent
from stream_pose_ml.analysis.motion import SquatTruth


def bottom_frame(event: AnalysisEvent) -> int:
    """The bottom frame of a repetition event."""
    return int(cast(int, event.values["bottom_frame"]))


def match_repetitions(
    events: Sequence[AnalysisEvent], truth: Sequence[SquatTruth]
) -> list[tuple[SquatTruth, AnalysisEvent | None]]:
    """Each true repetition with the detected one whose bottom frame lies in its span (or None)."""
    reps = [e for e in events if e.kind == "repetition"]
    out: list[tuple[SquatTruth, AnalysisEvent | None]] = []
    for true in truth:
        found = [e for e in reps if true.start_frame <= bottom_frame(e) <= true.end_frame]
        out.append((true, found[0] if found else None))
    return out


@dataclass
class SquatScore:
    """Accumulated squat accuracy over sessions: counts, flags, and per-repetition errors."""

    sessions: int = 0
    sessions_counted_exactly: int = 0
    true_reps: int = 0
    detected_reps: int = 0
    matched_reps: int = 0
    shallow_true: int = 0
    shallow_flagged: int = 0  # true shallow repetitions flagged shallow
    shallow_false_alarms: int = 0  # deep enough repetitions flagged shallow
    flag_checks: dict[str, list[int]] = field(default_factory=dict)  # kind: [tp, fn, fp, tn]
    start_error_frames: list[int] = field(default_factory=list)
    end_error_frames: list[int] = field(default_factory=list)
    bottom_error_frames: list[int] = field(default_factory=list)
    knee_angle_error_deg: list[float] = field(default_factory=list)
    trunk_lean_error_deg: list[float] = field(default_factory=list)

    def add(
        self,
        events: Sequence[AnalysisEvent],
        truth: Sequence[SquatTruth],
        shallow_above_deg: float,
        flags: dict[str, list[bool | None]] | None = None,
    ) -> None:
        """One session: ``shallow_above_deg`` is the profile's depth threshold; ``flags`` maps an
        error kind to its truth per repetition (True: the error should be found; None: too
        close to the threshold to judge)."""
        detected = [e for e in events if e.kind == "repetition"]
        self.sessions += 1
        self.sessions_counted_exactly += int(len(detected) == len(truth))
        self.true_reps += len(truth)
        self.detected_reps += len(detected)
        for i, (true, event) in enumerate(match_repetitions(events, truth)):
            shallow = true.bottom_knee_deg > shallow_above_deg
            self.shallow_true += int(shallow)
            if event is None:
                continue
            self.matched_reps += 1
            self.shallow_flagged += int(shallow and bool(event.values["shallow"]))
            self.shallow_false_alarms += int(not shallow and bool(event.values["shallow"]))
            self.start_error_frames.append(event.start_frame - true.start_frame)
            self.end_error_frames.append(event.end_frame - true.end_frame)
            bottom = bottom_frame(event)
            low, high = true.bottom_frames
            self.bottom_error_frames.append(max(low - bottom, 0, bottom - high))
            knee = event.values.get("min_knee_angle_deg")
            if knee is not None:
                self.knee_angle_error_deg.append(float(knee) - true.bottom_knee_deg)
            lean = event.values.get("max_trunk_lean_deg")
            if lean is not None:
                self.trunk_lean_error_deg.append(float(lean) - true.max_trunk_lean_deg)
            found = {e.kind for e in event.errors}
            for kind, truths in (flags or {}).items():
                expected = truths[i]
                if expected is None:
                    continue
                counts = self.flag_checks.setdefault(kind, [0, 0, 0, 0])
                hit = kind in found
                counts[0 if expected and hit else 1 if expected else 2 if hit else 3] += 1

    def summary(self) -> dict[str, float | int]:
        def mean_abs(values: list[float] | list[int]) -> float:
            return round(float(np.mean(np.abs(values))), 3) if values else float("nan")

        def share_within(values: list[int], frames: int) -> float:
            return round(float(np.mean(np.abs(values) <= frames)), 4) if values else float("nan")

        out: dict[str, float | int] = {
            "sessions": self.sessions,
            "sessions_counted_exactly": self.sessions_counted_exactly,
            "true_reps": self.true_reps,
            "detected_reps": self.detected_reps,
            "matched_reps": self.matched_reps,
            "shallow_true": self.shallow_true,
            "shallow_flagged": self.shallow_flagged,
            "shallow_false_alarms": self.shallow_false_alarms,
            "start_within_1_frame": share_within(self.start_error_frames, 1),
            "end_within_1_frame": share_within(self.end_error_frames, 1),
            "bottom_within_2_frames": share_within(self.bottom_error_frames, 2),
            "knee_angle_mae_deg": mean_abs(self.knee_angle_error_deg),
            "trunk_lean_mae_deg": mean_abs(self.trunk_lean_error_deg),
        }
        for kind, (tp, fn, fp, tn) in sorted(self.flag_checks.items()):
            out[f"{kind}_found"] = tp
            out[f"{kind}_missed"] = fn
            out[f"{kind}_false_alarms"] = fp
            out[f"{kind}_correctly_clear"] = tn
        return out
