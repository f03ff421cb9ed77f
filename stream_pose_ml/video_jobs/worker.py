"""One job, run in its own process: ``python -m stream_pose_ml.video_jobs.worker <job_dir>``.

It reads ``task.json`` and makes one offline `StreamRunner` pass over the video (pose, the
analyzers, the classifier if a model was given) writing ``results.jsonl`` and
``annotated.mp4`` (two passes for a subject chosen from the whole video: :mod:`.subject_pass`);
then the derived files (:mod:`.outputs`) and ``summary.json``, the sign
that it finished. Progress goes to ``progress.json`` (atomically, at most every 0.5 s). A
failure is logged to stderr (the manager keeps its tail as the job's error) and exits 1.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stream_pose_ml.video_jobs.store import write_json_atomic

logger = logging.getLogger("stream_pose_ml.video_jobs.worker")
PROGRESS_EVERY_S = 0.5


class ProgressFile:
    """``on_progress`` of the runner: frames done, total, fps and ETA to ``path``, throttled."""

    def __init__(self, path: Path, total: int | None) -> None:
        self.path = path
        self.total = total
        self.started = time.monotonic()
        self.last = 0.0

    def part(self, index: int, parts: int) -> Callable[[int, int | None], None]:
        """``on_progress`` of pass ``index`` of ``parts`` equal passes over the same frames."""

        def report(done: int, total: int | None) -> None:
            total = total or self.total
            if total:
                self(index * total + done, parts * total)
            else:
                self(done, None)

        return report

    def __call__(self, done: int, total: int | None, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        total = total or self.total
        elapsed = max(now - self.started, 1e-6)
        fps = done / elapsed
        if final:
            total = done
        percent = min(100.0, 100.0 * done / total) if total else 0.0
        eta = max(0.0, (total - done) / fps) if total and fps > 0 else None
        write_json_atomic(
            self.path,
            {
                "frames_done": done,
                "frames_total": total,
                "percent": round(percent, 1),
                "fps": round(fps, 2),
                "eta_s": None if eta is None else round(eta, 1),
            },
        )


def run_job(folder: Path, plots: bool = False) -> dict[str, Any]:
    """Run the job in ``folder``; returns its summary (also written to ``summary.json``).
    With ``plots``, each analyzer's signal with its events goes to ``<analyzer>.png``."""
    from stream_pose_ml.analysis.registry import make_analyzer
    from stream_pose_ml.stream import ClassifierAlgo, PoseAlgo, StreamRunner, read_results
    from stream_pose_ml.stream.analyzers import AnalyzerAlgo
    from stream_pose_ml.video_jobs.outputs import write_outputs
    from stream_pose_ml.video_jobs.store import read_json
    from stream_pose_ml.video_jobs.subject_pass import (
        RecordedPoseAlgo,
        choose_job_subject,
        needs_first_pass,
        pose_values,
    )

    task = read_json(folder / "task.json")
    settings, video = task["settings"], task["video"]
    subject, num_poses = settings["subject"], int(settings["num_poses"])
    total = video.get("frames") or None
    progress = ProgressFile(folder / "progress.json", total)
    pose: PoseAlgo
    if needs_first_pass(num_poses, subject):  # pass 1: everyone's poses, half the progress
        first = folder / "people.jsonl"
        StreamRunner(
            task["video_path"],
            [PoseAlgo(complexity=settings["complexity"], num_poses=num_poses)],
            outputs=[first],
            on_progress=progress.part(0, 2),
        ).run()
        values = pose_values(read_results(first)[1])
        first.unlink()
        chosen = choose_job_subject(values, subject, float(video.get("fps") or 0) or None)
        pose = RecordedPoseAlgo(values, chosen)
        on_progress = progress.part(1, 2)
    else:
        live_rule = subject if isinstance(subject, int) else "largest"  # one person: any rule
        pose = PoseAlgo(complexity=settings["complexity"], num_poses=num_poses, subject=live_rule)
        on_progress = progress
    analyzers = [AnalyzerAlgo(make_analyzer(name)) for name in settings["analyzers"]]
    algorithms: list[Any] = [pose, *analyzers]
    if task.get("model_path"):
        algorithms.append(ClassifierAlgo(task["model_path"]))
    results = folder / "results.jsonl"
    runner = StreamRunner(
        task["video_path"],
        algorithms,
        outputs=[results],
        video_out=folder / "annotated.mp4",
        on_progress=on_progress,
    )
    summary = runner.run()
    progress(runner.metrics.frames_decoded, None, final=True)
    errors = summary.metrics.get("algorithms", {})
    _, records, _ = read_results(results)
    signals = {a.analyzer.name: a.analyzer.signal() for a in analyzers}
    totals = {a.analyzer.name: a.analyzer.summary() for a in analyzers}
    job_summary = write_outputs(folder, records, signals, video, settings, totals)
    job_summary["algorithm_errors"] = {
        name: int(item.get("errors") or 0) for name, item in errors.items() if item.get("errors")
    }
    if plots:
        from stream_pose_ml.analysis.plots import plot_events

        for algo in analyzers:
            name = algo.analyzer.name
            found = [
                event
                for record in records
                if isinstance(record.get("value"), dict) and record["value"].get("analyzer") == name
                for event in record["value"].get("events") or ()
            ]
            plot_events(name, found, signals[name], folder / f"{name}.png", video["filename"])
    write_json_atomic(folder / "summary.json", job_summary)
    return job_summary


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if len(args) != 1:
        logger.error("usage: python -m stream_pose_ml.video_jobs.worker <job_dir>")
        return 2
    with contextlib.suppress(OSError):
        os.nice(10)  # live sessions keep priority
    folder = Path(args[0])
    try:
        summary = run_job(folder)
    except Exception as exc:
        logger.exception("job failed")
        logger.error("REASON %s: %s", type(exc).__name__, exc)
        return 1
    logger.info("job done: %d events", summary["events"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
