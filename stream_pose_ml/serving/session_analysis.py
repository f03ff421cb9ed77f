"""A live session's movement analyzer: each frame it receives also goes to the analyzer the
client chose (``configure {"analyzer": "squat"}``), and what it finds becomes an ``analysis``
event. The analyzer is the one offline analysis and the stream runner use
(``stream_pose_ml.analysis``), so the same frames give the same events in all three."""

from __future__ import annotations

import math
from typing import Any

from stream_pose_ml.analysis.events import AnalysisInputError
from stream_pose_ml.errors import PayloadError
from stream_pose_ml.serving.payload import FrameBatch
from stream_pose_ml.serving.session import Session


def sync_analyzer(session: Session) -> None:
    """Give the session a new analyzer when its setting names another one (``lock`` held)."""
    name = session.settings.analyzer
    current = session.analyzer
    if name is None:
        session.analyzer = None
    elif current is None or current.name != name:
        from stream_pose_ml.analysis.registry import make_analyzer

        session.analyzer = make_analyzer(name, keep_signal=False)


def analyze_batch(session: Session, batch: FrameBatch, ids: Any) -> dict[str, Any] | None:
    """Feed a batch's frames to the session's analyzer (``lock`` held): the ``analysis`` event's
    body when it found something or its summary changed, else None.

    A frame's time is its client timestamp (ms); without one, the session's frames are taken
    at 30 fps from its first. Frames out of time order are an ``error`` (``bad_timestamp``),
    and the analyzer keeps its state.
    """
    analyzer = session.analyzer
    if analyzer is None:
        return None
    before = analyzer.summary()
    events = []
    size = batch.image_size or session.settings.image_size
    for i in range(len(batch)):
        stamp = float(batch.timestamps[i])
        frame_id = int(ids[i])
        time_s = stamp / 1000.0 if math.isfinite(stamp) else frame_id / 30.0
        try:
            events.extend(analyzer.update(batch.data[i], time_s, frame_id, size))
        except AnalysisInputError as exc:
            raise PayloadError("bad_timestamp", str(exc)) from exc
    summary = analyzer.summary()
    if not events and summary == before:
        return None
    return {
        "analyzer": analyzer.name,
        "frame_id": int(ids[-1]) if len(batch) else None,
        "events": [event.to_dict() for event in events],
        "summary": summary,
    }
