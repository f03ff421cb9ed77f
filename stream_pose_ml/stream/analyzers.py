"""`AnalyzerAlgo`: a movement analyzer (squat, falls, ...) as an algorithm of the stream runner.

Each frame's pose (the result of the ``pose`` algorithm on the same frame) is fed to the
analyzer's ``update``; the events that frame completes are the algorithm's result, covering
their frames (``window_start`` .. ``window_end``). The analyzer is the same object
``stream_pose_ml.analysis.analyze`` runs offline, so the runner gives the same events as the
offline analysis of the same poses. Frames without a result (nobody detected) are fed as
missing frames, as live.
"""

from __future__ import annotations

from typing import Any

from stream_pose_ml.analysis.analyzer import Analyzer
from stream_pose_ml.stream.algo import AlgoResult, BaseAlgo, FrameWindow, Overlay
from stream_pose_ml.stream.drawing import Mark
from stream_pose_ml.stream.frames import Frame


class AnalyzerAlgo(BaseAlgo):
    """Runs ``analyzer`` on the poses of algorithm ``pose``; schedule it on every frame the
    pose runs on. The value of a frame that completes events is ``{"analyzer", "events":
    [event dicts], "summary"}``; the annotated video shows each event's errors (and the
    analyzer's summary, a repetition count say, until the next result) for ``mark_s`` seconds
    after it ends."""

    def __init__(
        self,
        analyzer: Analyzer,
        name: str | None = None,
        pose: str = "pose",
        mark_s: float = 2.0,
    ) -> None:
        super().__init__(name or analyzer.name)
        self.analyzer = analyzer
        self.pose = pose
        self.mark_s = float(mark_s)

    def get_params(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {"analyzer": self.analyzer.name, "pose": self.pose, **asdict(self.analyzer.params)}

    def init(self) -> None:
        self.analyzer.reset()

    def process(self, window: FrameWindow) -> AlgoResult | None:
        pose = window.needs(self.pose, by=self.name)
        frame = window.newest
        size = pose.get("image_size") or frame.size
        events = self.analyzer.update(
            pose.get("landmarks"), frame.pts_s, frame.index, (int(size[0]), int(size[1]))
        )
        if not events:
            return None
        value = {
            "analyzer": self.analyzer.name,
            "events": [event.to_dict() for event in events],
            "summary": self.analyzer.summary(),
        }
        return AlgoResult(value, min(e.start_frame for e in events), frame.index)

    def overlay(self, value: Any, frame: Frame) -> Overlay | None:
        events = [e for e in value["events"] if frame.pts_s - e["end_s"] <= self.mark_s]
        summary = value.get("summary") or {}
        marks: list[Mark] = []
        for event in events:
            for error in event["errors"]:
                marks.append(Mark(f"{event['kind']}: {error['kind']}", "error"))
            if event["kind"] in ("camera_angle", "gap", "fall"):
                marks.append(
                    Mark(event_text(event), "error" if event["kind"] == "fall" else "warning")
                )
        labels = tuple(f"{key}: {item}" for key, item in summary.items() if item is not None)
        return Overlay(labels=labels, marks=tuple(marks)) if labels or marks else None


def event_text(event: dict[str, Any]) -> str:
    """A one-line description of an event dict, for the video."""
    if event["kind"] == "camera_angle":
        return f"camera angle: {event['values'].get('view')} view, film from the side or front"
    if event["kind"] == "gap":
        return f"no pose for {event['values'].get('seconds')} s"
    probability = event["values"].get("probability")
    return "fall" if probability is None else f"fall (p = {float(probability):.2f})"
