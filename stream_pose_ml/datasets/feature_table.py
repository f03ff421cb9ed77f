"""Segmented windows of a `Dataset` -> one feature table: meta, labels, then feature columns.

The rows are cut with :func:`stream_pose_ml.features.windows.cut_windows` and made by
:class:`~stream_pose_ml.features.transform.PoseFeatureTransform`, the same window definition and
transform the live server uses.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from stream_pose_ml.datasets.dataset import Dataset, decode_labels
from stream_pose_ml.datasets.segmentation import Windows, run_positions
from stream_pose_ml.errors import AnnotationError
from stream_pose_ml.features import FeatureSpec, PoseFeatureTransform, cut_windows


def window_spec(frame_spec: FeatureSpec, windows: Windows, pool: bool) -> FeatureSpec | None:
    """The spec a table of ``windows`` is made with, or ``None`` to make one row per frame.

    Flattening windows (``windows.flatten``) need one common length ``W``: ``window=W``,
    ``window_mode="flatten"``. One-frame windows use ``frame_spec`` as is. Longer windows are
    pooled when ``pool`` (``window`` = the longest window, shorter ones padded with NaN frames,
    which the NaN-aware pooling ignores) and otherwise expanded into one row per frame (None).
    """
    if len(windows) == 0:
        return replace(frame_spec, window=1, window_mode="flatten")
    lengths = windows.lengths
    if windows.flatten:
        length = windows.fixed_length
        if length is None:
            raise AnnotationError("flattened windows must all have the same number of frames")
        return replace(frame_spec, window=length, window_mode="flatten")
    if (lengths == 1).all():
        return replace(frame_spec, window=1, window_mode="flatten")
    if not pool:
        return None
    return replace(frame_spec, window=max(int(lengths.max()), 2), window_mode="pool")


def feature_table(
    dataset: Dataset,
    windows: Windows,
    frame_spec: FeatureSpec,
    pool: bool = False,
    step_label: str | None = None,
) -> pd.DataFrame:
    """One row per window: meta columns, one column per label class, then the features.

    ``video_id``; ``step_frame_id``, the 1-based position of the row's last frame in its run of
    ``step_label`` (default the first label class), missing where that frame has no such
    label; ``frame_number`` of the last frame; the labels of the last frame (missing as NaN);
    then ``PoseFeatureTransform`` columns, computed with one ``transform`` call per video.
    ``frame_spec`` gives the per-frame features; see `window_spec` for the window.
    ``DataFrame.attrs["feature_spec"]`` records the spec used.
    """
    spec = window_spec(frame_spec, windows, pool)
    if spec is None:
        windows = windows.to_frames(dataset)
        spec = replace(frame_spec, window=1, window_mode="flatten")
    order = np.argsort(windows.start, kind="stable")
    if not (np.diff(order) > 0).all():
        windows = type(windows)(
            windows.video[order], windows.start[order], windows.stop[order],
            windows.labels[order], windows.flatten,
        )  # fmt: skip
    transform = PoseFeatureTransform(spec).fit()
    names = list(transform.get_feature_names_out())
    bounds = np.searchsorted(windows.video, np.arange(dataset.n_videos + 1))
    blocks = []
    for v, sequence in enumerate(dataset.sequences):
        rows = slice(bounds[v], bounds[v + 1])
        if rows.start == rows.stop:
            continue
        starts = windows.start[rows] - dataset.offsets[v]
        block = cut_windows(sequence.data, starts, spec.window, windows.lengths[rows])
        layout = transform.with_input(
            sequence.image_size, sequence.landmark_names, sequence.channels
        )
        blocks.append(layout.transform(block))
    features = np.concatenate(blocks) if blocks else np.empty((0, len(names)))

    last = windows.last
    taken = {"video_id", "step_frame_id", "frame_number"} & set(dataset.label_classes)
    if taken:
        raise AnnotationError(
            f"label classes {sorted(taken)} collide with meta columns; rename them in "
            "label_class_mapping"
        )
    meta: dict[str, object] = {
        "video_id": np.asarray(dataset.video_ids, dtype=object)[windows.video],
    }
    step_class = step_label or (dataset.label_classes[0] if dataset.label_classes else None)
    if step_class is None:
        meta["step_frame_id"] = pd.array([pd.NA] * len(windows), dtype="Int64")
    else:
        position = run_positions(dataset, dataset.class_index(step_class))[last]
        meta["step_frame_id"] = pd.arrays.IntegerArray(position, position == 0)
    meta["frame_number"] = dataset.frame_numbers[last]
    for c, name in enumerate(dataset.label_classes):
        meta[name] = decode_labels(windows.labels[:, c], dataset.categories[c])
    clash = set(meta) & set(names)
    if clash:
        raise AnnotationError(f"label classes {sorted(clash)} collide with feature columns")
    table = pd.concat(
        [pd.DataFrame(meta), pd.DataFrame(features, columns=names, copy=False)], axis=1
    )
    table.attrs["feature_spec"] = spec.to_dict()
    return table
