"""Subjects chosen from the whole video: a first pass finds and tracks everyone, the second
replays those poses.

"largest" and a track id are chosen frame by frame, so the job makes one runner pass. "longest"
(the track seen on the most frames) and "moves_most" (the one whose centre travels furthest)
need every frame first: pass 1 runs only `PoseAlgo` (people and their track ids), the rule of
`stream_pose_ml.tracking.selection` picks the id on the `People` built from it, and pass 2
replays the recorded poses with `RecordedPoseAlgo` (no MediaPipe) for the analyzers, the
classifier and the annotated video. The ids are the same in both passes because they are the
first pass's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from stream_pose_ml.keypoints.sequence import PoseSequence
from stream_pose_ml.stream.algo import BaseAlgo, FrameWindow
from stream_pose_ml.stream.builtin import PoseAlgo
from stream_pose_ml.tracking import People, choose_subject

#: Job subject -> the `tracking.selection` rule that needs the whole video.
WHOLE_VIDEO_RULES = {"longest": "longest_visible", "moves_most": "moves_most"}


def needs_first_pass(num_poses: int, subject: str | int) -> bool:
    """Whether the job's subject rule needs every frame's people before analysis."""
    return num_poses > 1 and subject in WHOLE_VIDEO_RULES


def pose_values(records: Sequence[Mapping[str, Any]]) -> dict[int, Mapping[str, Any]]:
    """The pose algorithm's value per frame index, from a result file's records."""
    return {int(r["frame_index"]): r["value"] for r in records if r.get("algorithm") == "pose"}


def people_from_values(values: Mapping[int, Mapping[str, Any]], fps: float | None) -> People:
    """Every confirmed track of the first pass as a `People` (NaN where a person is absent)."""
    frames = np.array(sorted(values), dtype=np.int64)
    ids = sorted({int(p["id"]) for v in values.values() for p in v.get("people") or ()})
    size = next((tuple(v["image_size"]) for v in values.values() if v.get("image_size")), None)
    tracks = {}
    for track_id in ids:
        data = np.full((len(frames), 33, 4), np.nan)
        for row, frame in enumerate(frames.tolist()):
            for person in values[frame].get("people") or ():
                if int(person["id"]) == track_id:
                    data[row] = np.asarray(person["landmarks"], dtype=np.float64)
        tracks[track_id] = PoseSequence(
            data=data,
            frame_numbers=frames,
            fps=fps,
            image_size=None if size is None else (int(size[0]), int(size[1])),
            metadata={"track_id": track_id},
        )
    return People(tracks)


def choose_job_subject(
    values: Mapping[int, Mapping[str, Any]], subject: str, fps: float | None
) -> int | None:
    """The track id the whole-video rule ``subject`` picks, or None when nobody was tracked."""
    people = people_from_values(values, fps)
    if not len(people):
        return None
    return choose_subject(people, WHOLE_VIDEO_RULES[subject])


class RecordedPoseAlgo(PoseAlgo):
    """`PoseAlgo`'s values replayed from a first pass, with ``subject_id``'s pose as
    ``"landmarks"`` (None on frames where that person is absent)."""

    def __init__(self, values: Mapping[int, Mapping[str, Any]], subject_id: int | None) -> None:
        BaseAlgo.__init__(self, "pose")
        self.values = values
        self.subject_id = subject_id

    def get_params(self) -> dict[str, Any]:
        return {"recorded": True, "subject": self.subject_id}

    def init(self) -> None:
        """Nothing to load: the poses are the first pass's."""

    def process(self, window: FrameWindow) -> dict[str, Any]:
        frame = window.newest
        value = self.values.get(frame.index) or {}
        people = [
            {"id": int(p["id"]), "landmarks": np.asarray(p["landmarks"], dtype=np.float64)}
            for p in value.get("people") or ()
        ]
        by_id = {p["id"]: p["landmarks"] for p in people}
        return {
            "landmarks": by_id.get(self.subject_id) if self.subject_id is not None else None,
            "people": people,
            "subject": self.subject_id,
            "image_size": list(frame.size),
        }

    def close(self) -> None:
        """No estimator to close."""
