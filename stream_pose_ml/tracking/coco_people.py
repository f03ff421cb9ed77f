"""COCO-17 results for several people per frame (YOLO-pose, RTMPose, MMPose) -> `People`.

The points land on BlazePose-33 as in `keypoints.formats.coco` (the 16 landmarks COCO lacks
are NaN, the score is the visibility) and go through the same `PoseTracker` as MediaPipe's
detections, so the order in which a model lists people does not matter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from stream_pose_ml.errors import PoseDataError
from stream_pose_ml.keypoints.formats.checks import check_image_size, describe
from stream_pose_ml.keypoints.formats.coco import _annotation, _images, _sequence, from_coco
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33, CHANNELS, COCO_17
from stream_pose_ml.tracking.people import People, track_people
from stream_pose_ml.tracking.settings import TrackerSettings


def people_from_coco(
    frames: Iterable[Any],
    image_size: tuple[int, int] | None,
    normalized: bool = False,
    min_score: float = 0.0,
    frame_numbers: Sequence[int] | None = None,
    fps: float | None = None,
    settings: TrackerSettings | None = None,
    **fields: Any,
) -> People:
    """Track COCO-17 keypoints given per frame as ``(people, 17, 3)`` ``x, y, score`` (or
    ``(people, 17, 2)``; an empty array for a frame with nobody), in pixels unless
    ``normalized``. ``image_size`` is ``(width, height)``."""
    detections = []
    for k, points in enumerate(frames):
        array = np.asarray(points, dtype=np.float64) if np.size(points) else np.zeros((0, 17, 3))
        if array.ndim != 3:
            raise PoseDataError(
                f"frame {k}: COCO keypoints of several people must have shape (people, 17, 3) "
                f"or (people, 17, 2), got {array.shape}"
            )
        if len(array):
            seq = from_coco(array, image_size, normalized=normalized, min_score=min_score)
            detections.append(seq.data)
        else:
            detections.append(np.zeros((0, len(BLAZEPOSE_33), len(CHANNELS))))
    fields.setdefault("source", "coco")
    return track_people(
        detections,
        frame_numbers=frame_numbers,
        fps=fps,
        image_size=image_size,
        settings=settings,
        **fields,
    )


def people_from_coco_annotations(
    annotations: Any,
    image_size: tuple[int, int] | None = None,
    flags: bool = False,
    min_score: float = 0.0,
    fps: float | None = None,
    settings: TrackerSettings | None = None,
    origin: str = "annotations",
    **fields: Any,
) -> People:
    """Track COCO keypoint annotations with several per image (``image_id`` = frame number).

    ``annotations`` is a list of annotation dicts or a COCO dict (its ``images`` give the
    frames and the image size); without ``images`` the frames are the annotated image ids.
    ``v`` is the score, or COCO's visibility flag with ``flags`` (as in
    `keypoints.formats.coco.from_coco_annotations`). Any ``track_id`` in the annotations is
    ignored: identities come from the tracker.
    """
    image_ids: list[int] = []
    if isinstance(annotations, Mapping):
        if "annotations" not in annotations:
            raise PoseDataError(f"{origin}: a COCO object needs an 'annotations' list")
        image_ids, sizes = _images(annotations.get("images") or [], origin)
        if image_size is None and sizes:
            image_size = sizes[0]
        annotations = annotations["annotations"]
    if not isinstance(annotations, list):
        raise PoseDataError(
            f"{origin}: expected a list of annotations, got {describe(annotations)}"
        )
    size = check_image_size(image_size, f"{origin}: COCO keypoints in pixels")
    per_image: dict[int, list[list[Any]]] = {}
    for k, annotation in enumerate(annotations):
        image_id, values = _annotation(annotation, f"{origin}[{k}]")
        per_image.setdefault(image_id, []).append(values)
    numbers = image_ids or sorted(per_image)
    detections = []
    for number in numbers:
        rows = per_image.get(number, [])
        points = np.array(rows, dtype=np.float64).reshape(len(rows), len(COCO_17), 3)
        v = points[..., 2]
        if flags:
            missing, visibility = ~(v > 0), np.where(v >= 2, 1.0, 0.0)
        else:
            missing, visibility = ~(v > min_score), v
        xy = points[..., :2] / np.array(size, dtype=np.float64)
        detections.append(_sequence(xy, visibility, missing, size, {}).data)
    fields.setdefault("source", "coco")
    return track_people(
        detections, frame_numbers=numbers, fps=fps, image_size=size, settings=settings, **fields
    )
