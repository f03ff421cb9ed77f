"""Several people in one live session (``configure {"num_poses": 2..5}``).

Each frame's poses go through the session's :class:`~stream_pose_ml.tracking.PoseTracker`, one
subject is chosen, and only the subject's pose (left/right swaps corrected by the tracker) joins
the rolling window and the analyzer, as a single person's frame would. When the subject changes
the window and the analyzer start again, so one window never mixes two people. The subject is
``configure {"subject": id}`` (frames where it is absent are frames without a detection), or with
``null`` the current subject while its track is alive, else the confirmed track with the largest
keypoint box in the frame (``tracking.selection.box_areas``).

Live track ids are the tracker's ids (counting from 0, as everywhere in the package).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from stream_pose_ml.keypoints.sequence import PoseSequence
from stream_pose_ml.serving.payload import FrameBatch
from stream_pose_ml.serving.session import Session
from stream_pose_ml.serving.session_analysis import sync_analyzer
from stream_pose_ml.tracking import PoseTracker, TrackedPose
from stream_pose_ml.tracking.selection import box_areas
from stream_pose_ml.tracking.settings import ASSUMED_FPS

#: Decimals of the normalized boxes in ``people`` events.
BOX_DECIMALS = 4


@dataclass(frozen=True, eq=False)
class SubjectRun:
    """Consecutive frames of one message for one subject: ``batch.data`` holds the subject's pose
    per frame (NaN where it is absent); ``ids`` the frame ids; ``track_id`` whose frames the
    window holds; ``restart``: the window and analyzer start again before these frames."""

    batch: FrameBatch
    ids: np.ndarray
    track_id: int | None
    restart: bool


class SessionPeople:
    """The tracker and subject of one session; used under the session's ``lock`` only."""

    def __init__(self, image_size: tuple[int, int] | None) -> None:
        self.image_size = image_size
        self.tracker = PoseTracker(image_size=image_size)
        width, height = image_size or (1, 1)
        self._units = np.array([width / height, 1.0])
        self.window_track: int | None = None  # whose frames the window holds
        self._time_s: float | None = None

    def follow(
        self, batch: FrameBatch, ids: np.ndarray, subject: int | None
    ) -> tuple[list[SubjectRun], dict[str, Any]]:
        """Track a batch's people and pick each frame's subject (``subject``: the configured id,
        None: automatic): the runs of frames to push, and the ``people`` event's body."""
        assert batch.people is not None
        data = np.full_like(batch.data, np.nan)
        # runs of frames: where each starts, whose frames it holds, whether it restarts the window
        starts: list[int] = [0]
        tracks: list[int | None] = [self.window_track]
        restarts = [False]
        frames = []
        for i, poses in enumerate(batch.people):
            tracked = self.tracker.update(poses, self._time(float(batch.timestamps[i]), ids[i]))
            chosen = subject if subject is not None else self._automatic(tracked)
            if chosen is not None and chosen != self.window_track:
                self.window_track = chosen
                if i == 0:
                    tracks[0], restarts[0] = chosen, True
                else:
                    starts.append(i)
                    tracks.append(chosen)
                    restarts.append(True)
            seen = [t for t in tracked if chosen is not None and t.track_id == chosen]
            if seen:
                data[i] = seen[0].pose
            body = self._frame_body(int(ids[i]), poses, batch.people_sent[i], tracked)
            frames.append({**body, "subject": chosen if seen else None})
        runs = []
        bounds = [*starts, len(batch)]
        for k, (start, stop) in enumerate(pairwise(bounds)):
            part = FrameBatch(
                data=data[start:stop],
                frame_ids=ids[start:stop],
                timestamps=batch.timestamps[start:stop],
                image_size=batch.image_size,
            )
            runs.append(SubjectRun(part, ids[start:stop], tracks[k], restarts[k]))
        body = {"frames": frames, "tracks": sorted(self.tracker.confirmed_ids)}
        return runs, body

    def _time(self, stamp_ms: float, frame_id: int) -> float:
        """The tracker's time of a frame, s: increasing (else the previous one plus 1 ms)."""
        time_s = stamp_ms / 1000.0 if math.isfinite(stamp_ms) else frame_id / ASSUMED_FPS
        if self._time_s is not None and not time_s > self._time_s:
            time_s = self._time_s + 0.001
        self._time_s = time_s
        return time_s

    def _automatic(self, tracked: list[TrackedPose]) -> int | None:
        """The current subject while its track is alive, else the largest confirmed person."""
        current = self.window_track
        if current is not None and current in self.tracker.confirmed_ids:
            return current
        confirmed = [t for t in tracked if t.track_id is not None]
        if not confirmed:
            return None
        areas = box_areas(PoseSequence(np.stack([t.pose for t in confirmed])), self._units)
        if np.isnan(areas).all():
            return None
        return confirmed[int(np.nanargmax(areas))].track_id

    def _frame_body(
        self, frame_id: int, poses: np.ndarray, sent: int, tracked: list[TrackedPose]
    ) -> dict[str, Any]:
        """One frame of a ``people`` event: each detection's track id and box, as sent."""
        ids: list[int | None] = [None] * sent
        boxes: list[list[float] | None] = [None] * sent
        if len(poses):
            xy = poses[..., :2]
            present = ~np.isnan(xy).any(axis=-1, keepdims=True)
            low = np.where(present, xy, np.inf).min(axis=1)
            high = np.where(present, xy, -np.inf).max(axis=1)
            corners = np.round(np.concatenate([low, high], axis=1), BOX_DECIMALS)
            for t in tracked:
                ids[t.detection] = t.track_id
                boxes[t.detection] = corners[t.detection].tolist()
        return {"frame_id": frame_id, "track_ids": ids, "boxes": boxes}


def follow_people(
    session: Session, batch: FrameBatch, ids: np.ndarray
) -> tuple[list[SubjectRun], dict[str, Any]]:
    """A batch of several people's frames -> the runs to push and the ``people`` event's body;
    the session's tracker is made at its first frame and again when the image size changes
    (``lock`` held)."""
    size = session.settings.image_size
    people = session.people
    if people is None or people.image_size != size:
        people = session.people = SessionPeople(size)
    return people.follow(batch, ids, session.settings.subject)


def restart_subject(session: Session) -> None:
    """Clear the session's window and start its analyzer again: another subject (``lock``
    held)."""
    if session.window is not None:
        session.window.reset()
    session.analyzer = None
    sync_analyzer(session)
