"""Drawing of poses, labels and analyzer marks on RGB uint8 images, for the annotated video.

Every ``draw_*`` function draws **in place** on a writeable ``(height, width, 3)`` uint8 image
and returns it; `annotate` copies first unless told not to. Images are RGB (colours are RGB
triples), but nothing here depends on the channel order except the colour values.

Poses are ``(33, 4)`` arrays of BlazePose landmarks: normalized x, y (fractions of the image
width and height), z and visibility. A landmark is drawn only when x and y are finite and its
visibility is at least ``DrawStyle.min_visibility`` (a NaN visibility counts as visible: some
sources carry none); an edge only when both its ends are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_EDGES, BLAZEPOSE_INDEX

RGB = tuple[int, int, int]
Severity = Literal["warning", "error"]

#: BlazePose skeleton edges as an ``(edges, 2)`` array of landmark indices.
BLAZEPOSE_EDGE_INDEX: np.ndarray = np.array(
    [(BLAZEPOSE_INDEX[a], BLAZEPOSE_INDEX[b]) for a, b in BLAZEPOSE_EDGES], dtype=np.intp
)

#: Colours of tracked people, picked by track id (Okabe-Ito, readable on most footage).
PALETTE: tuple[RGB, ...] = (
    (0, 158, 115),
    (230, 159, 0),
    (86, 180, 233),
    (240, 228, 66),
    (0, 114, 178),
    (204, 121, 167),
    (213, 94, 0),
    (255, 255, 255),
)


@dataclass(frozen=True)
class DrawStyle:
    """Colours and sizes. Sizes of ``None`` scale with the image (its shorter side / 360)."""

    skeleton_color: RGB = (0, 255, 128)
    point_color: RGB = (255, 255, 255)
    text_color: RGB = (255, 255, 255)
    box_color: RGB = (24, 24, 24)
    mark_color: RGB = (200, 30, 30)
    border_color: RGB = (230, 20, 20)
    palette: tuple[RGB, ...] = PALETTE
    min_visibility: float = 0.5
    thickness: int | None = None
    radius: int | None = None
    font_scale: float | None = None

    def scale(self, image: np.ndarray) -> float:
        return max(min(image.shape[0], image.shape[1]) / 360.0, 0.5)

    def sizes(self, image: np.ndarray) -> tuple[int, int, float]:
        """``(line thickness, point radius, font scale)`` for ``image``."""
        s = self.scale(image)
        thickness = self.thickness or max(1, round(2 * s))
        radius = self.radius or max(2, round(3 * s))
        font = self.font_scale or 0.5 * s
        return thickness, radius, font

    def person_color(self, track_id: int | str) -> RGB:
        key = track_id if isinstance(track_id, int) else sum(str(track_id).encode())
        return self.palette[key % len(self.palette)]


@dataclass(frozen=True)
class Mark:
    """An analyzer's finding on a frame: ``text`` in a red banner; an ``error`` also frames the
    image in a red border."""

    text: str
    severity: Severity = "warning"


#: A classification to show: ``"arms_raised"``, or ``(label, probability)``.
Label = str | tuple[str, float | None]
#: One tracked person: ``(track_id, (33, 4) landmarks)``.
Person = tuple[int | str, np.ndarray]

_FONT = cv2.FONT_HERSHEY_SIMPLEX
DEFAULT_STYLE = DrawStyle()


def _check_image(image: np.ndarray) -> None:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"expected a (height, width, 3) uint8 image, got {image.dtype} {image.shape}"
        )
    if not image.flags.writeable:
        raise ValueError("the image is read-only: draw on a copy (annotate(..., copy=True))")


def landmark_pixels(
    landmarks: np.ndarray, width: int, height: int, min_visibility: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates ``(n, 2)`` int32 of normalized landmarks, and the mask of drawable ones."""
    points = np.asarray(landmarks, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] < 2:
        raise ValueError(f"expected landmarks of shape (n, 2..4), got {points.shape}")
    xy = points[:, :2] * np.array([width, height])
    valid = np.isfinite(xy).all(axis=1)
    if points.shape[1] >= 4:
        visibility = points[:, 3]
        valid &= ~(visibility < min_visibility)  # NaN visibility: no score, keep the point
    # Far-off points (bad estimates) would overflow int32 in OpenCV; clip a margin around the image.
    limit = 4 * max(width, height)
    pixels = np.zeros(xy.shape, dtype=np.int32)
    pixels[valid] = np.clip(np.rint(xy[valid]), -limit, limit).astype(np.int32)
    return pixels, valid


def draw_skeleton(
    image: np.ndarray,
    landmarks: np.ndarray,
    *,
    color: RGB | None = None,
    edges: np.ndarray = BLAZEPOSE_EDGE_INDEX,
    style: DrawStyle = DEFAULT_STYLE,
) -> np.ndarray:
    """Draw one pose's edges (``color``, default ``style.skeleton_color``) and points, in place."""
    _check_image(image)
    height, width = image.shape[:2]
    pixels, valid = landmark_pixels(landmarks, width, height, style.min_visibility)
    thickness, radius, _ = style.sizes(image)
    edges = np.asarray(edges, dtype=np.intp)
    in_range = (edges < len(pixels)).all(axis=1)
    edges = edges[in_range]
    drawn = edges[valid[edges[:, 0]] & valid[edges[:, 1]]]
    if len(drawn):
        segments = list(pixels[drawn])  # (2, 2) int32 each: both ends of one edge
        cv2.polylines(image, segments, False, color or style.skeleton_color, thickness, cv2.LINE_AA)
    for x, y in pixels[valid]:
        cv2.circle(image, (int(x), int(y)), radius, style.point_color, -1, cv2.LINE_AA)
        cv2.circle(image, (int(x), int(y)), radius, color or style.skeleton_color, 1, cv2.LINE_AA)
    return image


def draw_text_box(
    image: np.ndarray,
    text: str,
    origin: tuple[int, int],
    *,
    text_color: RGB,
    box_color: RGB,
    font_scale: float,
) -> tuple[int, int, int, int]:
    """Draw ``text`` on a filled box whose top-left corner is ``origin``, in place.

    The box is moved inside the image when it would leave it. Returns the box
    ``(x0, y0, x1, y1)``.
    """
    thickness = max(1, round(font_scale * 2))
    (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, font_scale, thickness)
    pad = max(2, round(text_h * 0.35))
    box_w, box_h = text_w + 2 * pad, text_h + baseline + 2 * pad
    height, width = image.shape[:2]
    x0 = int(min(max(origin[0], 0), max(width - box_w, 0)))
    y0 = int(min(max(origin[1], 0), max(height - box_h, 0)))
    cv2.rectangle(image, (x0, y0), (x0 + box_w, y0 + box_h), box_color, -1)
    cv2.putText(
        image,
        text,
        (x0 + pad, y0 + pad + text_h),
        _FONT,
        font_scale,
        text_color,
        thickness,
        cv2.LINE_AA,
    )
    return x0, y0, x0 + box_w, y0 + box_h


def draw_people(
    image: np.ndarray, people: Sequence[Person], *, style: DrawStyle = DEFAULT_STYLE
) -> np.ndarray:
    """Draw each tracked person's skeleton in its own colour, with its id above it, in place."""
    _check_image(image)
    height, width = image.shape[:2]
    _, radius, font = style.sizes(image)
    for track_id, landmarks in people:
        color = style.person_color(track_id)
        draw_skeleton(image, landmarks, color=color, style=style)
        pixels, valid = landmark_pixels(landmarks, width, height, style.min_visibility)
        if valid.any():
            top_left = pixels[valid].min(axis=0)
            origin = (int(top_left[0]), int(top_left[1]) - 4 * radius - round(24 * font))
            draw_text_box(
                image,
                f"id {track_id}",
                origin,
                text_color=(0, 0, 0),
                box_color=color,
                font_scale=font * 0.8,
            )
    return image


def format_label(label: Label) -> str:
    """``"arms_raised 0.93"`` for ``("arms_raised", 0.93)``; the text alone without probability."""
    if isinstance(label, str):
        return label
    text, probability = label
    return text if probability is None else f"{text} {probability:.2f}"


def draw_labels(
    image: np.ndarray, labels: Sequence[Label], *, style: DrawStyle = DEFAULT_STYLE
) -> np.ndarray:
    """Draw classifications as text boxes stacked in the top-left corner, in place."""
    _check_image(image)
    _, _, font = style.sizes(image)
    margin = round(8 * style.scale(image))
    y = margin
    for label in labels:
        box = draw_text_box(
            image,
            format_label(label),
            (margin, y),
            text_color=style.text_color,
            box_color=style.box_color,
            font_scale=font,
        )
        y = box[3] + margin // 2
    return image


def draw_border(image: np.ndarray, color: RGB, width: int) -> np.ndarray:
    """Paint a ``width``-pixel frame around the image, in place."""
    _check_image(image)
    w = max(1, min(width, image.shape[0] // 2, image.shape[1] // 2))
    rgb = np.asarray(color, dtype=np.uint8)
    image[:w] = rgb
    image[-w:] = rgb
    image[:, :w] = rgb
    image[:, -w:] = rgb
    return image


def draw_marks(
    image: np.ndarray, marks: Sequence[Mark | str], *, style: DrawStyle = DEFAULT_STYLE
) -> np.ndarray:
    """Draw analyzer marks as red banners stacked at the bottom, in place; a border if any is
    an ``error``. A plain string is a warning."""
    _check_image(image)
    found = [Mark(m) if isinstance(m, str) else m for m in marks]
    if not found:
        return image
    _, _, font = style.sizes(image)
    margin = round(8 * style.scale(image))
    border = round(6 * style.scale(image))
    if any(m.severity == "error" for m in found):
        draw_border(image, style.border_color, border)
    height = image.shape[0]
    y = height - border - margin
    for mark in reversed(found):
        (_, text_h), baseline = cv2.getTextSize(mark.text, _FONT, font, max(1, round(font * 2)))
        box_h = text_h + baseline + 2 * max(2, round(text_h * 0.35))
        box = draw_text_box(
            image,
            mark.text,
            (border + margin, y - box_h),
            text_color=style.text_color,
            box_color=style.mark_color,
            font_scale=font,
        )
        y = box[1] - margin // 2
    return image


def annotate(
    image: np.ndarray,
    *,
    pose: np.ndarray | None = None,
    people: Sequence[Person] = (),
    labels: Sequence[Label] = (),
    marks: Sequence[Mark | str] = (),
    style: DrawStyle = DEFAULT_STYLE,
    copy: bool = True,
) -> np.ndarray:
    """Draw a pose (untracked, default colour), tracked people, labels and marks.

    Draws on a contiguous copy of ``image`` (``copy=False``: in place, the image must then be
    writeable) and returns the drawn image.
    """
    canvas = np.array(image, dtype=np.uint8, order="C", copy=True) if copy else image
    _check_image(canvas)
    if pose is not None:
        draw_skeleton(canvas, pose, style=style)
    if people:
        draw_people(canvas, people, style=style)
    if labels:
        draw_labels(canvas, labels, style=style)
    if marks:
        draw_marks(canvas, marks, style=style)
    return canvas
