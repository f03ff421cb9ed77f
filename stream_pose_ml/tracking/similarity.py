"""Keypoint similarity (OKS) between poses, per-landmark falloffs, left/right mirroring.

OKS (object keypoint similarity, the COCO keypoint metric) of two poses is the mean over the
landmarks both have of ``exp(-d**2 / (2 * s**2 * k**2))``: ``d`` the landmark's distance,
``s`` the size of the person (here the square root of the area of the box around the
reference pose's landmarks) and ``k = 2 * sigma`` the landmark's falloff. The 17 COCO landmarks
take COCO's sigmas (``cocoeval.py``, measured from the spread of human labels); the 16
BlazePose landmarks COCO lacks take the sigma of the nearest COCO landmark on the same body
part (`SIGMA_STAND_INS`), our choice: eye corners take the eye's, mouth corners the nose's,
fingers the wrist's and heel and foot tip the ankle's.
"""

from __future__ import annotations

import numpy as np

from stream_pose_ml.keypoints.landmarks import left_right_pairs

#: COCO's per-keypoint sigmas (pycocotools ``cocoeval.py``), by landmark name.
COCO_SIGMAS: dict[str, float] = {
    "nose": 0.026,
    "left_eye": 0.025,
    "right_eye": 0.025,
    "left_ear": 0.035,
    "right_ear": 0.035,
    "left_shoulder": 0.079,
    "right_shoulder": 0.079,
    "left_elbow": 0.072,
    "right_elbow": 0.072,
    "left_wrist": 0.062,
    "right_wrist": 0.062,
    "left_hip": 0.107,
    "right_hip": 0.107,
    "left_knee": 0.087,
    "right_knee": 0.087,
    "left_ankle": 0.089,
    "right_ankle": 0.089,
}
#: Body part (a landmark name without ``left``/``right``) -> the COCO part whose sigma it takes.
SIGMA_STAND_INS: dict[str, str] = {
    "eye_inner": "eye",
    "eye_outer": "eye",
    "mouth": "nose",
    "pinky": "wrist",
    "index": "wrist",
    "thumb": "wrist",
    "heel": "ankle",
    "foot_index": "ankle",
    "big_toe": "ankle",
    "small_toe": "ankle",
    "neck": "shoulder",
    "mid_hip": "hip",
}
#: Sigma of a landmark name neither COCO nor `SIGMA_STAND_INS` knows.
DEFAULT_SIGMA = 0.08
#: Smallest person size used in the similarity (image heights): a pose of a few landmarks
#: close together would otherwise match nothing.
MIN_SCALE = 0.02
#: Left/right groups swapped as a whole by the swap correction, by body part.
SWAP_GROUP_PARTS: dict[str, frozenset[str]] = {
    "face": frozenset({"eye_inner", "eye", "eye_outer", "ear", "mouth"}),
    "arms": frozenset({"shoulder", "elbow", "wrist", "pinky", "index", "thumb"}),
    "legs": frozenset({"hip", "knee", "ankle", "heel", "foot_index", "big_toe", "small_toe"}),
}


def body_part(name: str) -> str:
    """A landmark name without its side: ``left_knee`` -> ``knee``, ``mouth_left`` -> ``mouth``."""
    return "_".join(part for part in name.split("_") if part not in ("left", "right"))


def landmark_falloffs(names: tuple[str, ...]) -> np.ndarray:
    """``(landmarks,)`` OKS falloffs ``k = 2 * sigma`` of a landmark set."""
    sigmas = []
    for name in names:
        if name in COCO_SIGMAS:
            sigmas.append(COCO_SIGMAS[name])
            continue
        side = "left_" if "left" in name.split("_") else "right_"
        stand_in = SIGMA_STAND_INS.get(body_part(name))
        sigma = COCO_SIGMAS.get("nose" if stand_in == "nose" else f"{side}{stand_in}")
        sigmas.append(DEFAULT_SIGMA if sigma is None else sigma)
    return 2.0 * np.array(sigmas, dtype=np.float64)


def mirror_permutation(names: tuple[str, ...]) -> np.ndarray:
    """``(landmarks,)`` index of each landmark's mirror (its own index if it has none)."""
    index = np.arange(len(names))
    for left, right in left_right_pairs(names):
        i, j = names.index(left), names.index(right)
        index[i], index[j] = j, i
    return index


def swap_groups(names: tuple[str, ...]) -> tuple[tuple[str, ...], np.ndarray]:
    """Names of the left/right groups present and their ``(groups, landmarks)`` membership."""
    paired = {name for pair in left_right_pairs(names) for name in pair}
    found, rows = [], []
    for group, parts in SWAP_GROUP_PARTS.items():
        row = np.array([name in paired and body_part(name) in parts for name in names])
        if row.any():
            found.append(group)
            rows.append(row)
    membership = np.array(rows, dtype=bool).reshape(len(rows), len(names))
    return tuple(found), membership


def oks_terms(
    reference: np.ndarray,
    reference_usable: np.ndarray,
    scale: np.ndarray,
    candidates: np.ndarray,
    candidates_usable: np.ndarray,
    falloffs: np.ndarray,
    motion: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-landmark similarities of every reference pose with every candidate.

    ``reference`` is ``(r, landmarks, 2)`` with sizes ``scale`` ``(r,)``, ``candidates``
    ``(c, landmarks, 2)``; the ``*_usable`` masks are ``(n, landmarks)``. ``motion`` ``(r,)``:
    a spread added in quadrature to every landmark's (in the units of ``reference``), for
    movement the reference may have got wrong. Returns ``terms`` ``(r, c, landmarks)`` in
    ``[0, 1]`` (0 where not shared) and the ``shared`` mask.
    """
    shared = reference_usable[:, None, :] & candidates_usable[None, :, :]
    d2 = np.square(reference[:, None] - candidates[None]).sum(axis=-1)
    spread = 2.0 * np.square(scale[:, None, None] * falloffs[None, None, :])
    if motion is not None:
        spread = spread + 2.0 * np.square(motion)[:, None, None]
    terms = np.exp(-d2 / spread)  # NaN where a landmark is missing: masked out below
    return np.where(shared, terms, 0.0), shared


def box_corners(xy: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(n, 2)`` lowest and highest x, y of the usable landmarks of poses ``(n, landmarks, 2)``
    (inf and -inf for a pose with none)."""
    corners = np.where(usable[..., None], np.concatenate([xy, -xy], axis=-1), np.inf).min(axis=1)
    return corners[:, :2], -corners[:, 2:]


def box_sizes(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The size of poses from `box_corners`: the square root of each box's area, at least
    `MIN_SCALE` (inf for a pose without usable landmarks)."""
    return np.maximum(np.sqrt(np.prod(high - low, axis=1)), MIN_SCALE)


def boxes_iou(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """``(n, n)`` intersection over union of boxes given by `box_corners` (finite ones)."""
    area = np.prod(high - low, axis=1)
    sides = np.minimum(high[:, None], high[None]) - np.maximum(low[:, None], low[None])
    meet = np.prod(sides.clip(0.0), axis=-1)
    return meet / (area[:, None] + area[None] - meet + 1e-12)


def boxes_overlap(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """``(n, n)`` bool: boxes given by `box_corners` overlap (a pose with no usable landmark
    overlaps nothing)."""
    apart = (low[:, None] > high[None]) | (high[:, None] < low[None])
    return ~apart.any(axis=-1)


def oks_from_terms(terms: np.ndarray, shared: np.ndarray, min_landmarks: int) -> np.ndarray:
    """OKS ``(...)``: the mean of ``terms`` over shared landmarks (last axis); 0 for pairs that
    share fewer than ``min_landmarks``."""
    count = shared.sum(axis=-1)
    return np.where(count >= min_landmarks, terms.sum(axis=-1) / np.maximum(count, 1), 0.0)
