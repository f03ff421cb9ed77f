"""COCO-17 keypoints (YOLO-pose, RTMPose, MMPose output): arrays and COCO annotation JSON.

Arrays are ``(frames, 17, 2)`` pixel ``x, y`` or ``(frames, 17, 3)`` ``x, y, score`` in COCO
order (`COCO_17`). In a `PoseSequence` they land on the BlazePose-33 names (every COCO name is
one); the 16 BlazePose landmarks COCO lacks, and ``z``, are NaN, and the score is the
``visibility``. A point with a score of 0 (or at most ``min_score``) or a NaN coordinate is
missing.

Annotation JSON is a list of ``{"image_id", "category_id", "keypoints": [x, y, v] * 17, ...}``
(or a whole COCO file with ``"images"`` and ``"annotations"``); ``image_id`` is the frame
number. ``v`` is either the score (results files, the default) or COCO's visibility flag
(``flags=True``: 0 not labelled, 1 labelled but hidden, 2 visible). A missing point is
``0, 0, 0``; a frame without a detection is written with all zeros so that it stays explicit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from stream_pose_ml.errors import PoseDataError
from stream_pose_ml.keypoints.formats.checks import (
    check_image_size,
    describe,
    is_number,
    non_numbers,
)
from stream_pose_ml.keypoints.formats.json_io import read_json, write_json
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33, BLAZEPOSE_INDEX, CHANNELS, COCO_17
from stream_pose_ml.keypoints.sequence import PoseSequence

logger = logging.getLogger(__name__)

PERSON_CATEGORY_ID = 1
_N_VALUES = 3 * len(COCO_17)
_TO_BLAZEPOSE = np.array([BLAZEPOSE_INDEX[name] for name in COCO_17])


# -- arrays --------------------------------------------------------------------------------
def from_coco(
    keypoints: Any,
    image_size: tuple[int, int] | None,
    scores: Any = None,
    normalized: bool = False,
    min_score: float = 0.0,
    **fields: Any,
) -> PoseSequence:
    """Build a BlazePose-33 sequence from COCO-17 keypoints.

    ``keypoints`` is ``(frames, 17, 2)`` or ``(frames, 17, 3)`` (the third column is the score;
    a single frame may drop the first axis), in pixels unless ``normalized``. ``scores`` is
    ``(frames, 17)`` when the keypoints have no score column. ``image_size`` is
    ``(width, height)``; it may be None only for normalized keypoints. ``fields`` go to
    `PoseSequence` (``fps``, ``frame_numbers``, ``name``...).
    """
    points = _numeric_array(keypoints, "keypoints")
    if points.ndim == 2:
        points = points[None]
    if points.ndim != 3 or points.shape[1] != len(COCO_17) or points.shape[2] not in (2, 3):
        raise PoseDataError(
            f"COCO keypoints must have shape (frames, 17, 2) or (frames, 17, 3), got {points.shape}"
        )
    if points.shape[2] == 3:
        if scores is not None:
            raise PoseDataError("pass scores either as the third keypoint column or as `scores`")
        score = points[..., 2]
    elif scores is not None:
        score = _numeric_array(scores, "scores")
        if score.shape != points.shape[:2]:
            raise PoseDataError(
                f"COCO scores must have shape {points.shape[:2]} (frames, 17), got {score.shape}"
            )
    else:
        score = np.full(points.shape[:2], np.nan)
    xy = points[..., :2]
    if not normalized:
        width, height = check_image_size(image_size, "COCO keypoints in pixels")
        xy = xy / np.array([width, height], dtype=np.float64)
    elif image_size is not None:
        check_image_size(image_size, "COCO keypoints")
    missing = np.isnan(xy).any(axis=-1) | (score <= min_score)
    return _sequence(xy, score, missing, image_size, fields)


def _sequence(
    xy: np.ndarray,
    visibility: np.ndarray,
    missing: np.ndarray,
    image_size: tuple[int, int] | None,
    fields: dict[str, Any],
) -> PoseSequence:
    """Place ``(frames, 17, 2)`` normalized points on BlazePose-33; ``missing`` become NaN."""
    coco = np.full((*xy.shape[:2], len(CHANNELS)), np.nan)
    coco[..., :2] = xy
    coco[..., 3] = visibility
    coco[missing] = np.nan
    data = np.full((xy.shape[0], len(BLAZEPOSE_33), len(CHANNELS)), np.nan)
    data[:, _TO_BLAZEPOSE] = coco
    fields.setdefault("source", "coco")
    return PoseSequence(
        data=data,
        image_size=image_size,
        landmark_names=BLAZEPOSE_33,
        channels=CHANNELS,
        **fields,
    )


def _numeric_array(values: Any, what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind not in "iuf":
        raise PoseDataError(f"COCO {what} must be numbers, got an array of {array.dtype}")
    return array.astype(np.float64)


def to_coco(seq: PoseSequence, normalized: bool = False) -> np.ndarray:
    """``(frames, 17, 3)`` ``x, y, score`` of the COCO-17 landmarks, in COCO order.

    Pixels unless ``normalized`` (pixels need ``seq.image_size``). A missing point is
    ``NaN, NaN, 0``; the score is the ``visibility`` channel (NaN if there is none).
    """
    lacking = [name for name in COCO_17 if name not in seq.landmark_names]
    if lacking:
        raise PoseDataError(
            f"COCO-17 needs the landmarks {', '.join(lacking)}, which this sequence lacks"
        )
    index = [seq.landmark_names.index(name) for name in COCO_17]
    xy = seq.data[:, index, :2]
    if not normalized:
        if seq.image_size is None:
            raise PoseDataError("COCO pixels need the image size; this sequence has none")
        xy = xy * np.array(seq.image_size, dtype=np.float64)
    score = (
        seq.data[:, index, seq.channels.index("visibility")]
        if "visibility" in seq.channels
        else np.full(xy.shape[:2], np.nan)
    )
    out = np.concatenate([xy, score[..., None]], axis=-1)
    out[~seq.present[:, index]] = [np.nan, np.nan, 0.0]
    return out


# -- annotation JSON -----------------------------------------------------------------------
def to_coco_annotations(
    seq: PoseSequence,
    flags: bool = False,
    unknown_score: float = 1.0,
    category_id: int = PERSON_CATEGORY_ID,
) -> list[dict[str, Any]]:
    """One COCO annotation per frame: ``image_id`` = frame number, keypoints in pixels.

    ``v`` is the score (NaN visibility of a present point becomes ``unknown_score``), or with
    ``flags`` 2 for present and 0 for missing points. Also writes ``num_keypoints``, ``bbox``
    of the present points and, for scores, ``score`` (their mean).
    """
    if not unknown_score > 0:
        raise PoseDataError("unknown_score must be > 0, or the point reads as missing")
    points = to_coco(seq)
    present = ~np.isnan(points[..., 0])
    score = np.where(np.isnan(points[..., 2]), unknown_score, points[..., 2])
    v = np.where(present, 2.0, 0.0) if flags else np.where(present, score, 0.0)
    table = np.stack(
        [np.where(present, points[..., 0], 0.0), np.where(present, points[..., 1], 0.0), v], axis=-1
    )
    if not np.isfinite(table).all():
        raise PoseDataError("pose data holds infinite values; JSON cannot store them")
    rows = table.reshape(len(seq), _N_VALUES).tolist()
    annotations = []
    for i, frame_number in enumerate(seq.frame_numbers.tolist()):
        xs, ys = points[i, present[i], 0], points[i, present[i], 1]
        bbox = (
            [float(xs.min()), float(ys.min()), float(np.ptp(xs)), float(np.ptp(ys))]
            if xs.size
            else [0.0, 0.0, 0.0, 0.0]
        )
        values = rows[i]
        if flags:  # COCO's flags are integers
            values = [int(value) if k % 3 == 2 else value for k, value in enumerate(values)]
        annotation: dict[str, Any] = {
            "image_id": frame_number,
            "category_id": category_id,
            "keypoints": values,
            "num_keypoints": int(present[i].sum()),
            "bbox": bbox,
        }
        if not flags:
            annotation["score"] = float(score[i, present[i]].mean()) if xs.size else 0.0
        annotations.append(annotation)
    return annotations


def write_coco_annotations(
    seq: PoseSequence, path: str | Path, flags: bool = False, indent: int | None = None
) -> Path:
    """Write `to_coco_annotations` as a JSON list to ``path``."""
    return write_json(to_coco_annotations(seq, flags=flags), path, indent=indent)


def from_coco_annotations(
    annotations: Any,
    image_size: tuple[int, int] | None = None,
    flags: bool = False,
    min_score: float = 0.0,
    origin: str = "annotations",
    **fields: Any,
) -> PoseSequence:
    """Build a BlazePose-33 sequence from COCO keypoint annotations, one frame per image.

    ``annotations`` is a list of annotation dicts or a COCO dict with ``"annotations"`` (and
    ``"images"``, whose ids become the frames and whose size is used when ``image_size`` is
    None). Frames are the sorted image ids unless ``frame_numbers`` is given; an image with
    several annotations keeps the one with the highest ``score`` (or most points). With
    ``flags``, ``v`` is COCO's flag and visibility is 1.0 for ``v == 2``, 0.0 for ``v == 1``.
    """
    image_ids: list[int] | None = None
    if isinstance(annotations, Mapping):
        if "annotations" not in annotations:
            raise PoseDataError(f"{origin}: a COCO object needs an 'annotations' list")
        images = annotations.get("images") or []
        image_ids, sizes = _images(images, origin)
        if image_size is None and sizes:
            image_size = sizes[0]
            if len(set(sizes)) > 1:
                logger.warning("%s: images differ in size; the sequence keeps %s", origin, sizes[0])
        annotations = annotations["annotations"]
    if not isinstance(annotations, list):
        raise PoseDataError(
            f"{origin}: expected a list of annotations, got {describe(annotations)}"
        )
    size = check_image_size(image_size, f"{origin}: COCO keypoints in pixels")

    best: dict[int, tuple[float, list[Any]]] = {}
    for k, annotation in enumerate(annotations):
        image_id, values = _annotation(annotation, f"{origin}[{k}]")
        rank = annotation.get("score")
        if not is_number(rank):
            rank = sum(1 for v in values[2::3] if v > 0)
        if image_id not in best or rank > best[image_id][0]:
            best[image_id] = (float(rank), values)

    numbers = fields.pop("frame_numbers", None)
    if numbers is None:
        numbers = image_ids if image_ids else sorted(best)
    numbers = [int(n) for n in np.asarray(numbers).reshape(-1)]
    unused = set(best) - set(numbers)
    if unused:
        logger.info("%s: %d annotated image(s) are not among the frames", origin, len(unused))
    points = np.full((len(numbers), len(COCO_17), 3), np.nan)
    for i, number in enumerate(numbers):
        if number in best:
            points[i] = np.array(best[number][1], dtype=np.float64).reshape(len(COCO_17), 3)
    v = points[..., 2]
    if flags:
        missing = ~(v > 0)
        visibility = np.where(v >= 2, 1.0, 0.0)
    else:
        missing = ~(v > min_score)
        visibility = v
    xy = points[..., :2] / np.array(size, dtype=np.float64)
    return _sequence(xy, visibility, missing, size, {**fields, "frame_numbers": numbers})


def read_coco_annotations(
    path: str | Path,
    image_size: tuple[int, int] | None = None,
    flags: bool = False,
    **fields: Any,
) -> PoseSequence:
    """Read a COCO keypoint JSON file (see `from_coco_annotations`)."""
    return from_coco_annotations(
        read_json(path), image_size=image_size, flags=flags, origin=str(path), **fields
    )


def _annotation(annotation: Any, entry: str) -> tuple[int, list[Any]]:
    if not isinstance(annotation, Mapping):
        raise PoseDataError(f"{entry}: expected an annotation object, got {describe(annotation)}")
    missing = [key for key in ("image_id", "keypoints") if key not in annotation]
    if missing:
        raise PoseDataError(f"{entry}: missing key(s) {', '.join(missing)}")
    image_id, values = annotation["image_id"], annotation["keypoints"]
    if not isinstance(image_id, int) or isinstance(image_id, bool):
        raise PoseDataError(f"{entry}: image_id must be an integer, got {describe(image_id)}")
    if not isinstance(values, list) or len(values) != _N_VALUES:
        count = len(values) if isinstance(values, list) else describe(values)
        raise PoseDataError(
            f"{entry} (image_id {image_id}): keypoints must be {_N_VALUES} numbers "
            f"(17 COCO keypoints x (x, y, v)), got {count}"
        )
    bad = non_numbers(values)
    if bad:
        keypoint, part = divmod(bad[0], 3)
        raise PoseDataError(
            f"{entry} (image_id {image_id}): keypoints[{bad[0]}] ({COCO_17[keypoint]} "
            f"{'xyv'[part]}) must be a number, got {describe(values[bad[0]])}"
        )
    return image_id, values


def _images(images: Any, origin: str) -> tuple[list[int], list[tuple[int, int]]]:
    """Sorted image ids and the ``(width, height)`` of the images that give one."""
    if not isinstance(images, list):
        raise PoseDataError(f"{origin}: 'images' must be a list, got {describe(images)}")
    ids, sizes = [], []
    for k, image in enumerate(images):
        if not isinstance(image, Mapping) or not isinstance(image.get("id"), int):
            raise PoseDataError(f"{origin}: images[{k}] needs an integer 'id'")
        ids.append(image["id"])
        if "width" in image and "height" in image:
            sizes.append(
                check_image_size((image["width"], image["height"]), f"{origin}: images[{k}]")
            )
    return sorted(ids), sizes
