"""Several people per video: a pose tracker with stable ids, the `People` type, subject rules.

* `settings`: `TrackerSettings`, every tracker parameter with its default and unit;
* `similarity`: OKS keypoint similarity, per-landmark falloffs, left/right mirroring;
* `tracker`: `PoseTracker`, Hungarian assignment of each frame's detections to tracks;
* `people`: `People` (one `PoseSequence` per track id), `track_people`, its serializers;
* `coco_people`: COCO-17 results of several people per frame through the same tracker;
* `selection`: choosing the person to analyze (largest, longest visible, nearest a point,
  inside a region, moves most, by id);
* `identity`: identity switches and merges against ground truth.
"""

from __future__ import annotations

from stream_pose_ml.tracking.coco_people import people_from_coco, people_from_coco_annotations
from stream_pose_ml.tracking.identity import IdentityReport, identity_report
from stream_pose_ml.tracking.people import People, track_people
from stream_pose_ml.tracking.selection import SUBJECT_RULES, choose_subject, subject
from stream_pose_ml.tracking.settings import TrackerSettings
from stream_pose_ml.tracking.tracker import PoseTracker, TrackedPose

__all__ = [
    "SUBJECT_RULES",
    "IdentityReport",
    "People",
    "PoseTracker",
    "TrackedPose",
    "TrackerSettings",
    "choose_subject",
    "identity_report",
    "people_from_coco",
    "people_from_coco_annotations",
    "subject",
    "track_people",
]
