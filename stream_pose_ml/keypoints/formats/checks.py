"""Checks of parsed keypoint files: image sizes and numbers, with messages that name the entry."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from stream_pose_ml.errors import PoseDataError


def check_image_size(size: Any, what: str) -> tuple[int, int]:
    """``(width, height)`` as two positive ints, or a `PoseDataError` saying what needs it."""
    if size is None:
        raise PoseDataError(
            f"{what} needs the image size in pixels: pass image_size=(width, height)"
        )
    try:
        width, height = size
    except (TypeError, ValueError):
        raise PoseDataError(f"{what}: image_size must be (width, height), got {size!r}") from None
    if not (_is_whole(width) and _is_whole(height)) or width <= 0 or height <= 0:
        raise PoseDataError(f"{what}: image_size must be two positive integers, got {size!r}")
    return int(width), int(height)


def _is_whole(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and float(value).is_integer()
    )


def is_number(value: Any) -> bool:
    """A real number that is not a bool (JSON ``true`` must not pass as 1)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def non_numbers(values: Sequence[Any], allowed: tuple[Any, ...] = ()) -> list[int]:
    """Indices of ``values`` that are neither numbers nor one of the ``allowed`` objects.

    The common case (plain ``int`` / ``float`` from ``json.load``) is checked by class in one
    pass; only the rest get the slower ``isinstance`` test.
    """
    odd = [
        i
        for i, value in enumerate(values)
        if value.__class__ is not float and value.__class__ is not int
    ]
    return [i for i in odd if not is_number(values[i]) and not any(values[i] is a for a in allowed)]


def describe(value: Any) -> str:
    """A short description of an unexpected value for an error message."""
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"
