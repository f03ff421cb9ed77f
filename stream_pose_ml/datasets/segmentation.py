"""Segmentation strategies: which frames of a `Dataset` make up each row of a formatted dataset.

A strategy turns a dataset into `Windows`: each window is a contiguous run of frames of one
video, labelled by its last frame. Strategies are plain functions registered by name
(``none``, ``split_on_label``, ``window``, ``flatten_into_columns``, ``flatten_on_example``);
docs/segmentation.md gives the exact semantics with a worked example each. Everything is
computed with array operations over all videos at once; no per-frame Python objects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from stream_pose_ml.datasets.dataset import Dataset
from stream_pose_ml.errors import SegmentationError
from stream_pose_ml.features.windows import window_count

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentationOptions:
    """The original StreamPoseML's ``format_dataset`` segmentation arguments.

    ``splitter_label`` and ``window_label`` name label classes (``step_type``); ``window`` is
    a number of frames.
    """

    include_unlabeled_data: bool = False
    splitter_label: str | None = None
    window: int | None = None
    window_label: str | None = None


@dataclass(frozen=True, eq=False)
class Windows:
    """Rows of frames: row ``i`` is frames ``start[i]:stop[i]`` of the dataset's frame axis.

    ``start``/``stop`` index all videos' frames concatenated (``Dataset.offsets``); every
    window lies inside video ``video[i]``. ``labels`` is ``(rows, n_classes)`` label codes of
    each window's last frame (``-1`` = none). ``flatten`` says the strategy asks for one
    column per frame of the window rather than pooling or one row per frame.
    """

    video: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    labels: np.ndarray
    flatten: bool = False

    def __len__(self) -> int:
        return self.start.shape[0]

    @property
    def lengths(self) -> np.ndarray:
        return self.stop - self.start

    @property
    def last(self) -> np.ndarray:
        """``(rows,)`` dataset frame index of each window's last frame."""
        return self.stop - 1

    @property
    def fixed_length(self) -> int | None:
        """The common window length, or ``None`` when windows differ (or there are none)."""
        lengths = self.lengths
        if lengths.size == 0 or (lengths != lengths[0]).any():
            return None
        return int(lengths[0])

    def frame_indices(self) -> np.ndarray:
        """``(rows, length)`` dataset frame indices of fixed-length windows."""
        length = self.fixed_length
        if length is None:
            raise SegmentationError("windows of different lengths have no frame index matrix")
        return self.start[:, None] + np.arange(length)

    def to_frames(self, dataset: Dataset) -> Windows:
        """One window per frame of every window, in order (frames keep their own labels)."""
        lengths = self.lengths
        total = int(lengths.sum())
        firsts = np.cumsum(lengths) - lengths
        frames = np.arange(total) - np.repeat(firsts, lengths) + np.repeat(self.start, lengths)
        return Windows(
            video=np.repeat(self.video, lengths),
            start=frames,
            stop=frames + 1,
            labels=dataset.label_codes[frames],
        )


def make_windows(dataset: Dataset, start: np.ndarray, stop: np.ndarray, flatten: bool = False):
    """`Windows` for dataset frame ranges ``start:stop`` (each inside one video)."""
    start = np.asarray(start, dtype=np.int64)
    stop = np.asarray(stop, dtype=np.int64)
    return Windows(
        video=dataset.video_of_frame[start] if start.size else np.empty(0, dtype=np.int64),
        start=start,
        stop=stop,
        labels=dataset.label_codes[stop - 1]
        if start.size
        else np.empty((0, len(dataset.label_classes)), dtype=dataset.label_codes.dtype),
        flatten=flatten,
    )


# -- building blocks ------------------------------------------------------------------------
def label_runs(
    dataset: Dataset, class_index: int, eligible: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Maximal runs of consecutive frames of one video sharing a label of one class.

    Frames without a label of that class, or not ``eligible``, belong to no run. Returns the
    runs' ``start`` and ``stop`` (exclusive) dataset frame indices.
    """
    key = dataset.label_codes[:, class_index].astype(np.int64)
    if eligible is not None:
        key = np.where(eligible, key, -1)
    n = key.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    video = dataset.video_of_frame
    change = np.empty(n, dtype=bool)
    change[0] = True
    change[1:] = (key[1:] != key[:-1]) | (video[1:] != video[:-1])
    starts = np.flatnonzero(change)
    stops = np.append(starts[1:], n)
    keep = key[starts] >= 0
    return starts[keep], stops[keep]


def run_positions(dataset: Dataset, class_index: int) -> np.ndarray:
    """``(total_frames,)`` 1-based position of each frame in its run of one class's label.

    ``0`` where the frame has no label of that class.
    """
    positions = np.zeros(dataset.n_frames, dtype=np.int64)
    starts, stops = label_runs(dataset, class_index)
    if starts.size:
        lengths = stops - starts
        within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        positions[np.repeat(starts, lengths) + within] = within + 1
    return positions


def tiles(dataset: Dataset, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows ``[k*window, (k+1)*window)`` of every video; a shorter tail is dropped.

    These are the windows of ``features.windows`` with ``stride = window``.
    """
    counts = window_count(np.diff(dataset.offsets), window, stride=window)
    firsts = np.repeat(dataset.offsets[:-1], counts)
    k = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    start = firsts + k * window
    return start, start + window


def _require(options: SegmentationOptions, strategy: str, *names: str) -> None:
    missing = [n for n in names if getattr(options, n) is None]
    if missing:
        arguments = ", ".join(f"segmentation_{n}" for n in missing)
        raise SegmentationError(f"segmentation strategy {strategy!r} needs {arguments}")
    if options.window is not None and (
        isinstance(options.window, bool)
        or int(options.window) != options.window
        or options.window < 1
    ):
        raise SegmentationError(
            f"segmentation_window must be a positive number of frames, got {options.window!r}"
        )


def _class(dataset: Dataset, name: str | None, argument: str) -> int:
    if name is None or name not in dataset.label_classes:
        raise SegmentationError(
            f"{argument}={name!r} is not a label class of this dataset; label classes come "
            f"from label_class_mapping: {', '.join(dataset.label_classes) or '(none)'}"
        )
    return dataset.label_classes.index(name)


def _frames(options: SegmentationOptions) -> int:
    """``segmentation_window`` of options that `_require` checked."""
    if options.window is None:
        raise SegmentationError("this segmentation strategy needs segmentation_window")
    return int(options.window)


# -- strategies -----------------------------------------------------------------------------
Strategy = Callable[[Dataset, SegmentationOptions], Windows]
STRATEGIES: dict[str, Strategy] = {}


def register_strategy(name: str) -> Callable[[Strategy], Strategy]:
    """Register ``function(dataset, options) -> Windows`` under ``name``."""

    def decorate(function: Strategy) -> Strategy:
        STRATEGIES[name] = function
        return function

    return decorate


@register_strategy("none")
def segment_frames(dataset: Dataset, options: SegmentationOptions) -> Windows:
    """One window per frame; only frames labelled in every class unless unlabeled data is in."""
    if options.include_unlabeled_data:
        frames = np.arange(dataset.n_frames)
    else:
        frames = np.flatnonzero(dataset.labeled_mask)
    return make_windows(dataset, frames, frames + 1)


@register_strategy("split_on_label")
def split_on_label(dataset: Dataset, options: SegmentationOptions) -> Windows:
    """One window per run of the splitter class's label; the last ``window`` frames if given."""
    _require(options, "split_on_label", "splitter_label")
    c = _class(dataset, options.splitter_label, "segmentation_splitter_label")
    eligible = None if options.include_unlabeled_data else dataset.labeled_mask
    start, stop = label_runs(dataset, c, eligible)
    if options.window is not None:
        start = np.maximum(start, stop - _frames(options))
    return make_windows(dataset, start, stop)


@register_strategy("window")
def split_on_window(dataset: Dataset, options: SegmentationOptions) -> Windows:
    """Non-overlapping ``window``-frame tiles whose last frame has a ``window_label`` label."""
    _require(options, "window", "window", "window_label")
    return _labelled_tiles(dataset, options, flatten=False)


@register_strategy("flatten_into_columns")
def flatten_into_columns(dataset: Dataset, options: SegmentationOptions) -> Windows:
    """The ``window`` strategy's tiles, each flattened into one row of per-frame columns."""
    _require(options, "flatten_into_columns", "window", "window_label")
    return _labelled_tiles(dataset, options, flatten=True)


@register_strategy("flatten_on_example")
def flatten_on_example(dataset: Dataset, options: SegmentationOptions) -> Windows:
    """The last ``window`` frames of each splitter-label run, flattened; shorter runs dropped."""
    _require(options, "flatten_on_example", "splitter_label", "window")
    runs = split_on_label(dataset, options)
    keep = runs.lengths >= _frames(options)
    if not keep.all():
        logger.warning(
            "flatten_on_example: dropped %d of %d %r runs shorter than %d frames",
            int((~keep).sum()),
            len(runs),
            options.splitter_label,
            options.window,
        )
    return make_windows(dataset, runs.start[keep], runs.stop[keep], flatten=True)


def _labelled_tiles(dataset: Dataset, options: SegmentationOptions, flatten: bool) -> Windows:
    c = _class(dataset, options.window_label, "segmentation_window_label")
    start, stop = tiles(dataset, _frames(options))
    keep = dataset.label_codes[stop - 1, c] >= 0
    return make_windows(dataset, start[keep], stop[keep], flatten=flatten)


def segment(
    dataset: Dataset,
    strategy: str | None = "none",
    options: SegmentationOptions | None = None,
) -> Windows:
    """Apply a registered strategy by name (``None`` means ``"none"``)."""
    name = strategy or "none"
    try:
        function = STRATEGIES[name]
    except KeyError:
        raise SegmentationError(
            f"unknown segmentation strategy {name!r}; choose one of {', '.join(STRATEGIES)}"
        ) from None
    return function(dataset, options or SegmentationOptions())
