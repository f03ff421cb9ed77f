"""Keypoint extraction speed: bare MediaPipe vs `ProcessVideosJob`, and its parallel speed-up.

For each case (a video and a pose model) it measures:

1. decoding alone (OpenCV/FFmpeg to RGB, one thread);
2. bare ``PoseEstimator.detect`` over the frames, decoded beforehand (the floor);
3. the job on the video with ``workers=1`` (decoding, model loading and writing the .npz
   included): its overhead over (2), target <= 10 %;
4. the job over N copies of the video with ``workers=1`` and ``workers=2``: the speed-up,
   target >= 1.6x on two idle cores.

Runs are interleaved and repeated; each figure is the best of ``--repeat``. CPU seconds are the
whole machine's (so run it on an idle one), which counts worker processes too.

Cases: ``demo`` is the demo video as shipped (1768x994 VP9); ``demo-720p`` is the same video
scaled to 1280x720 and written as MPEG-4 Part 2 (what `write_video` writes for .mp4), which
decodes about 4x faster; the model follows the colon. ``--write-docs`` puts the result under
"## Keypoint extraction" in docs/benchmarks.md.

Run: ``.venv/bin/python benchmarks/bench_extraction.py [--case demo:full ...] [--write-docs]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2

from stream_pose_ml.demo_data import demo_video_path
from stream_pose_ml.extraction.pose_estimator import PoseEstimator
from stream_pose_ml.extraction.video import iter_frames, probe_video, read_frames, write_video
from stream_pose_ml.jobs.process_videos_job import ProcessVideosJob

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
SECTION = "## Keypoint extraction"
#: Marks the end of the generated text in the section; the analysis below it is kept.
END = "<!-- end of bench_extraction.py output -->"
CASES = ("demo:full", "demo-720p:full", "demo:heavy")


@dataclass(frozen=True)
class Timing:
    """Wall-clock and CPU seconds."""

    wall: float
    cpu: float


@dataclass(frozen=True)
class Result:
    """One case's measurements; ``frames`` per video, ``copies`` videos in the larger runs."""

    case: str
    size: tuple[int, int]
    codec: str
    frames: int
    copies: int
    decode: Timing
    bare: Timing
    job: Timing
    serial: Timing
    parallel: Timing

    def per_frame_ms(self, timing: Timing, videos: int = 1) -> float:
        return 1000 * timing.wall / (self.frames * videos)

    @property
    def overhead_one(self) -> float:
        return 100 * (self.job.wall / self.bare.wall - 1)

    @property
    def overhead_many(self) -> float:
        return 100 * (self.serial.wall / (self.bare.wall * self.copies) - 1)

    @property
    def speedup(self) -> float:
        return self.serial.wall / self.parallel.wall

    @property
    def bound(self) -> float:
        """The best ``workers=2`` speed-up two cores allow: twice the serial run's wall time
        over its CPU time (the serial run already uses more than one core while it decodes)."""
        return 2 * self.serial.wall / self.serial.cpu


def _cpu() -> float:
    """CPU seconds used so far by the whole machine (Linux), counting every worker process;
    elsewhere this process and its finished children."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime


def timed(run: Callable[[], object]) -> Timing:
    wall, cpu = time.perf_counter(), _cpu()
    run()
    return Timing(time.perf_counter() - wall, _cpu() - cpu)


def measure(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[Timing]]:
    """Every run ``repeat`` times, interleaved (so that a noisy moment hits all of them)."""
    timings: dict[str, list[Timing]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            timings[name].append(timed(run))
    return timings


def best(timings: list[Timing]) -> Timing:
    return min(timings, key=lambda t: t.wall)


def bare_detect(estimator: PoseEstimator, frames: list, fps: float) -> None:
    """Detection only: the estimator is made beforehand, so model loading is not timed."""
    with estimator:
        for index, rgb in enumerate(frames):
            estimator.detect(rgb, round(index * 1000 / fps))


def decode(video: Path) -> None:
    for _ in iter_frames(video):
        pass


def job(src: Path, out: Path, complexity: str, workers: int) -> None:
    """The job over every video in ``src``, from scratch."""
    shutil.rmtree(out, ignore_errors=True)
    results = ProcessVideosJob().process_videos(
        src_videos_path=src,
        output_sequence_data_path=out,
        configuration={"model_complexity": complexity},
        return_output=True,
        workers=workers,
        overwrite=True,
        progress=False,
    )
    failed = [r for r in results if r.status != "processed"]
    if failed:
        raise SystemExit(f"extraction failed: {failed}")


def case_video(name: str, folder: Path) -> Path:
    """The video a case names, made in ``folder`` if it is derived from the demo."""
    if name == "demo":
        return demo_video_path()
    if name == "demo-720p":
        path = folder / "demo-720p.mp4"
        frames = (
            cv2.resize(rgb, (1280, 720), interpolation=cv2.INTER_AREA)
            for _, rgb in iter_frames(demo_video_path())
        )
        return write_video(path, frames, fps=probe_video(demo_video_path()).fps or 30.0)
    raise SystemExit(f"unknown video {name!r}; use demo or demo-720p")


def run_case(case: str, copies: int, repeat: int, tmp: Path) -> Result:
    name, _, model = case.partition(":")
    model = model or "full"
    work = tmp / case.replace(":", "-")
    one, many = work / "one", work / "many"
    for folder in (one, many):
        folder.mkdir(parents=True)
    video = case_video(name, work)
    info = probe_video(video)
    frames = read_frames(video)
    fps = info.fps or 30.0
    shutil.copy(video, one / video.name)
    for i in range(copies):
        shutil.copy(video, many / f"copy{i:02d}{video.suffix}")
    estimators = [PoseEstimator(complexity=model) for _ in range(repeat)]
    timings = measure(
        {
            "decode": lambda: decode(video),
            "bare": lambda: bare_detect(estimators.pop(), frames, fps),
            "job": lambda: job(one, work / "o1", model, 1),
            "serial": lambda: job(many, work / "o2", model, 1),
            "parallel": lambda: job(many, work / "o3", model, 2),
        },
        repeat,
    )
    return Result(
        case=f"{name} ({info.width}x{info.height} {info.codec}), {model}",
        size=info.image_size,
        codec=info.codec,
        frames=len(frames),
        copies=copies,
        decode=best(timings["decode"]),
        bare=best(timings["bare"]),
        job=best(timings["job"]),
        serial=best(timings["serial"]),
        parallel=best(timings["parallel"]),
    )


def report(results: list[Result], args: argparse.Namespace) -> str:
    copies = results[0].copies
    cases = " ".join(f"--case {c}" for c in args.case)
    head = [
        "| case | decode ms/frame | detect ms/frame | job, 1 video | "
        f"job, {copies} videos | `workers=2` | bound |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = [
        f"| {r.case} | {r.per_frame_ms(r.decode):.1f} | {r.per_frame_ms(r.bare):.1f} | "
        f"{r.per_frame_ms(r.job):.1f} ({r.overhead_one:+.1f} %) | "
        f"{r.per_frame_ms(r.serial, r.copies):.1f} ({r.overhead_many:+.1f} %) | "
        f"{r.speedup:.2f}x | {r.bound:.2f}x |"
        for r in results
    ]
    cpu = [
        "| case | decode | bare detect | job, 1 video | "
        f"job, {copies} videos, `workers=1` | `workers=2` |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {r.case} | {r.decode.cpu:.2f} | {r.bare.cpu:.2f} | {r.job.cpu:.2f} | "
            f"{r.serial.cpu:.2f} | {r.parallel.cpu:.2f} |"
            for r in results
        ),
    ]
    return "\n".join(
        [
            f"`.venv/bin/python benchmarks/bench_extraction.py {cases} --copies {copies} "
            f"--repeat {args.repeat}` ({os.cpu_count()} cores, "
            f"{platform.processor() or platform.machine()}; best of {args.repeat}, runs "
            "interleaved). Targets: the job's overhead over bare detection <= 10 % in one "
            "process; `workers=2` >= 1.6x `workers=1`.",
            "",
            "Wall time per frame; the job's overhead over bare detection in brackets; speed-ups "
            f"of `workers=2` over `workers=1` on {copies} videos. *bound* is the best speed-up "
            "two cores allow the job: twice its `workers=1` wall time over its CPU time.",
            "",
            *head,
            *rows,
            "",
            "CPU seconds (the whole machine's):",
            "",
            *cpu,
            *(["", args.note] if args.note else []),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--case",
        action="append",
        help=f"VIDEO:MODEL, VIDEO one of demo, demo-720p (repeatable; default {' '.join(CASES)})",
    )
    parser.add_argument("--copies", type=int, default=4, help="videos in the larger runs")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs per measurement")
    parser.add_argument("--write-docs", action="store_true", help=f"update {DOCS.name}")
    parser.add_argument("--note", default="", help="a paragraph to add under the tables")
    args = parser.parse_args(argv)
    args.case = args.case or list(CASES)

    with tempfile.TemporaryDirectory(prefix="spml-bench-") as tmp:
        results = [run_case(case, args.copies, args.repeat, Path(tmp)) for case in args.case]
    text = report(results, args)
    print(text)
    if args.write_docs:
        write_section(text)
        print(f"\nwritten to {DOCS}")
    return 0


def write_section(text: str) -> None:
    """Replace the generated part of the "## Keypoint extraction" section of docs/benchmarks.md:
    up to the `END` marker if there is one (what follows it is written by hand), else the
    whole section."""
    doc = DOCS.read_text()
    pattern = re.compile(rf"({re.escape(SECTION)}\n\n)(.*?)(\n{re.escape(END)}|\n## |\Z)", re.S)
    if not pattern.search(doc):
        raise SystemExit(f"{DOCS} has no {SECTION!r} section")
    DOCS.write_text(pattern.sub(lambda m: m.group(1) + text + "\n" + m.group(3), doc, count=1))


if __name__ == "__main__":
    raise SystemExit(main())
