"""The offline check of a load run: every live result equals the offline path's for its window.

A session's frame ``i`` shows video frame ``(video_offset + i) % L``, so the frames of the window
a result names (``frame_id - size + 1 ... frame_id``) are known. Those windows go through the
bundle's own feature transform and ``predict_proba`` in one batch, as a script would run the
model on a recording, and each result's probabilities must equal them (to ``TOLERANCE``: rows
predicted in batches of other sizes may round differently in the last bit). Results of windows
the server restarted after shedding frames (off the rule from frame 0) are not checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from load_clients import ProcessResult

from stream_pose_ml.features.windows import window_ends

TOLERANCE = 1e-9


def offline_check(
    results: list[ProcessResult],
    model_path: Path,
    frames: np.ndarray,
    image_size: tuple[int, int],
) -> dict[str, Any]:
    """Compare every kept result with the offline probabilities of its window."""
    from stream_pose_ml.learning import load_model

    model = load_model(model_path)
    transform = model.feature_transform().with_input(image_size=image_size)
    labels = model.label(model.classes)
    windows, live, names = [], [], []
    for process in results:
        for record in process.records:
            if not record.probabilities:
                continue
            size = record.window_size
            due = set(window_ends(0, record.frames_sent, size, record.stride).tolist())
            for frame_id, probabilities in sorted(record.probabilities.items()):
                if frame_id not in due:
                    continue
                ids = np.arange(frame_id - size + 1, frame_id + 1)
                windows.append(frames[(record.video_offset + ids) % len(frames)])
                live.append([probabilities.get(label, np.nan) for label in labels])
                names.append((record.index, frame_id))
    if not windows:
        return {"windows_checked": 0, "windows_differing": 0, "max_abs_difference": None}
    expected = model.predict_proba(transform.transform(np.stack(windows).astype(np.float64)))
    difference = np.abs(np.asarray(live, dtype=np.float64) - expected)
    worst = np.nanmax(np.where(np.isnan(difference), np.inf, difference), axis=1)
    differing = worst > TOLERANCE
    return {
        "windows_checked": len(windows),
        "windows_differing": int(differing.sum()),
        "max_abs_difference": float(worst.max()),
        "first_differing": [names[i] for i in np.flatnonzero(differing)[:5]],
    }
