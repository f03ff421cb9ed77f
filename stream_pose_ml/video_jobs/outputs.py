"""The derived files of a job, from its result records: timeline.json, events.csv,
keypoints.json (the subject's `PoseSequence`) and the job's summary.

Everything here reads the records of the one runner pass (``results.jsonl``) plus the
analyzers' per-frame signals, so the files agree with the result file by construction.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stream_pose_ml.keypoints.sequence import PoseSequence
from stream_pose_ml.stream.analyzers import event_text
from stream_pose_ml.video_jobs.store import write_json_atomic

EVENT_COLUMNS = [
    "analyzer",
    "kind",
    "frame_start",
    "frame_end",
    "start_s",
    "end_s",
    "errors",
    "text",
]


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    number = float(value)
    return round(number, 5) if math.isfinite(number) else None


def _signal_label(name: str) -> tuple[str, str]:
    """``("Knee angle", "deg")`` for ``"knee_angle_deg"``: the label and unit of a signal."""
    for suffix, unit in (("_deg", "deg"), ("_spm", "steps/min"), ("_s", "s")):
        if name.endswith(suffix):
            return name[: -len(suffix)].replace("_", " ").capitalize(), unit
    return name.replace("_", " ").capitalize(), ""


def timeline_events(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The analyzers' events in the timeline's form, in time order."""
    events = []
    for record in records:
        value = record.get("value")
        if not isinstance(value, Mapping) or "events" not in value or "analyzer" not in value:
            continue
        for event in value["events"]:
            text = (
                f"{event['kind']}: " + ", ".join(e["kind"] for e in event["errors"])
                if event["errors"]
                else f"{event['kind']}: ok"
            )
            if event["kind"] in ("camera_angle", "gap", "fall"):
                text = event_text(event)
            events.append(
                {
                    "analyzer": event["analyzer"],
                    "kind": event["kind"],
                    "start_s": event["start_s"],
                    "end_s": event["end_s"],
                    "frame_start": event["start_frame"],
                    "frame_end": event["end_frame"],
                    "text": text,
                    "errors": [e["kind"] for e in event["errors"]],
                    "values": dict(event.get("values") or {}),
                }
            )
    return sorted(events, key=lambda e: (e["start_s"], e["analyzer"]))


def classifier_labels(
    records: Sequence[Mapping[str, Any]], fps: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(labels, series)``: runs of the same label, and one probability series per class."""
    windows = [r for r in records if r.get("algorithm") == "classifier"]
    labels: list[dict[str, Any]] = []
    step = 1.0 / fps if fps > 0 else 0.0
    for record in windows:
        label, time_s = str(record["value"]["label"]), float(record["time_s"])
        if labels and labels[-1]["label"] == label:
            labels[-1]["end_s"] = round(time_s + step, 6)
        else:
            if labels:
                labels[-1]["end_s"] = time_s
            labels.append({"start_s": time_s, "end_s": round(time_s + step, 6), "label": label})
    classes: list[str] = []
    for record in windows:
        for name in record["value"].get("probabilities") or {}:
            if name not in classes:
                classes.append(name)
    series = [
        {
            "key": f"classifier.probability.{name}",
            "label": f"P({name})",
            "unit": "",
            "t": [float(r["time_s"]) for r in windows],
            "v": [_number((r["value"].get("probabilities") or {}).get(name)) for r in windows],
        }
        for name in classes
    ]
    return labels, series


def signal_series(name: str, signal: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
    """One series per signal value of analyzer ``name``."""
    times = [round(float(t), 6) for t in signal["times_s"]]
    series = []
    for key, values in signal.items():
        if key in ("frames", "times_s"):
            continue
        label, unit = _signal_label(key)
        series.append(
            {
                "key": f"{name}.{key}",
                "label": label,
                "unit": unit,
                "t": times,
                "v": [_number(v) for v in values],
            }
        )
    return series


def write_events_csv(path: Path, events: Sequence[Mapping[str, Any]]) -> None:
    value_names = sorted({k for e in events for k in e["values"]})
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(EVENT_COLUMNS + [f"value.{k}" for k in value_names])
        for e in events:
            row = [e[c] if c != "errors" else ";".join(e["errors"]) for c in EVENT_COLUMNS]
            writer.writerow(
                row + ["" if e["values"].get(k) is None else e["values"][k] for k in value_names]
            )


def subject_sequence(
    records: Sequence[Mapping[str, Any]], subject: str | int, video: Mapping[str, Any]
) -> PoseSequence:
    """The analyzed person's landmarks, one row per frame the pose ran on (NaN: not found)."""
    poses = [r for r in records if r.get("algorithm") == "pose"]
    data = np.full((len(poses), 33, 4), np.nan)
    chosen: int | None = None
    for i, record in enumerate(poses):
        landmarks = record["value"].get("landmarks")
        if record["value"].get("subject") is not None:  # track ids start at 0
            chosen = record["value"]["subject"]
        if landmarks is not None:
            data[i] = np.asarray(landmarks, dtype=np.float64)
    return PoseSequence(
        data=data,
        frame_numbers=np.array([r["frame_index"] for r in poses], dtype=np.int64),
        fps=float(video["fps"]) or None,
        image_size=(int(video["width"]), int(video["height"])),
        source="stream_pose_ml.video_jobs",
        name=str(video["filename"]),
        metadata={"subject": subject, "track_id": chosen},  # the last analyzed track's id
    )


def sequence_json(sequence: PoseSequence) -> dict[str, Any]:
    """The compact form: the sequence's header, its frame numbers and the ``(frames, 33, 4)``
    array as nested lists (null where NaN)."""
    data = np.round(sequence.data, 5).astype(object)
    data[np.isnan(sequence.data)] = None
    return {
        "type": "PoseSequence",
        **sequence.header(),
        "frame_numbers": sequence.frame_numbers.tolist(),
        "data": data.tolist(),
    }


def write_outputs(
    folder: Path,
    records: Sequence[Mapping[str, Any]],
    signals: Mapping[str, Mapping[str, np.ndarray]],
    video: Mapping[str, Any],
    settings: Mapping[str, Any],
    analyzer_summaries: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Write timeline.json, events.csv and keypoints.json into ``folder``; return the summary
    (``analyzer_summaries``: each analyzer's final totals, default: its last result's)."""
    fps = float(video["fps"] or 0.0)
    events = timeline_events(records)
    labels, probability_series = classifier_labels(records, fps)
    series = [s for name, signal in signals.items() for s in signal_series(name, signal)]
    write_json_atomic(
        folder / "timeline.json",
        {
            "fps": fps,
            "duration_s": video["duration_s"],
            "frames": video["frames"],
            "series": series + probability_series,
            "labels": labels,
            "events": events,
        },
    )
    write_events_csv(folder / "events.csv", events)
    sequence = subject_sequence(records, settings["subject"], video)
    write_json_atomic(folder / "keypoints.json", sequence_json(sequence))
    analyzers: dict[str, Any] = {}
    for record in records:
        value = record.get("value")
        if isinstance(value, Mapping) and "summary" in value and "analyzer" in value:
            analyzers[value["analyzer"]] = value["summary"]
    for name in signals:
        analyzers.setdefault(name, {})
    analyzers.update({k: dict(v) for k, v in (analyzer_summaries or {}).items()})
    label_counts = Counter(
        str(r["value"]["label"]) for r in records if r.get("algorithm") == "classifier"
    )
    return {
        "events": len(events),
        "analyzers": analyzers,
        "labels": dict(label_counts),
        "frames_with_pose": int(sequence.detected.sum()) if len(sequence) else 0,
        "subject": sequence.metadata.get("track_id"),
        "tracks": track_counts(records),
    }


def track_counts(records: Sequence[Mapping[str, Any]]) -> list[dict[str, int]]:
    """Every tracked person (``num_poses`` > 1): ``{"id", "frames"}``, the frames it was seen
    on, by id; a job with ``subject`` = one of these ids analyzes that person."""
    seen = Counter(
        int(p["id"])
        for r in records
        if r.get("algorithm") == "pose"
        for p in r["value"].get("people") or ()
    )
    return [{"id": k, "frames": seen[k]} for k in sorted(seen)]
