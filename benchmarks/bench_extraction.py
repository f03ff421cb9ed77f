"""Keypoint extraction speed: bare MediaPipe vs `ProcessVideosJob`, and its parallel speed-up.

For each case (a video and a pose model) it measures:

1. decoding alone (OpenCV/FFmpeg to RGB, one thread);
2. bare ``PoseEstimator.detect`` over the frames, decoded beforehand (the floor);
3. the job on the video with ``workers=1`` (decoding, model loading and writing the .npz
   included): its overhead over (2), target <= 10 %;
4. the job over N copies of the video with ``workers=1`` and ``workers=2``: the speed-up,
   target >= 1.6x on two idle cores;
5. the same N copies with ``executor=`` a Dask ``LocalCluster`` of 2 single-threaded worker
   processes (started once per case, not timed with the runs): its wall time against the local
   ``workers=2``, target within 10 %; and, once, Dask's overhead per task with a no-op task
   (``--no-dask`` leaves the Dask runs out).

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
import contextlib
import importlib.util
import os
import platform
import re
import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    dask: Timing | None = None
    dask_start: float | None = None

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
    def dask_vs_local(self) -> float:
        """Dask's wall time over the local ``workers=2`` run's, in per cent above it."""
        assert self.dask is not None
        return 100 * (self.dask.wall / self.parallel.wall - 1)

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


def job(src: Path, out: Path, complexity: str, workers: int, executor: Any = "local") -> None:
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
        executor=executor,
    )
    assert isinstance(results, list)  # return_output=True
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


@contextlib.contextmanager
def dask_client(workers: int) -> Iterator[tuple[Any, float]]:
    """A client of a ``LocalCluster`` of ``workers`` single-threaded processes, and the
    seconds it took to start (until every worker runs)."""
    import distributed

    start = time.perf_counter()
    with (
        distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        client.wait_for_workers(workers)
        yield client, time.perf_counter() - start


def _noop(x: int) -> int:
    return x


def dask_task_overhead(client: Any, tasks: int = 400) -> tuple[float, float]:
    """Milliseconds per no-op task: streamed back as they finish (``map`` then
    ``as_completed``, as the job does), and one task's round trip (best of 20)."""
    import distributed

    start = time.perf_counter()
    futures = client.map(_noop, range(tasks), pure=False)
    for future in distributed.as_completed(futures, loop=client.loop):
        future.result()
    streamed = 1000 * (time.perf_counter() - start) / tasks
    trips = []
    for _ in range(20):
        start = time.perf_counter()
        client.submit(_noop, 0, pure=False).result()
        trips.append(time.perf_counter() - start)
    return streamed, 1000 * min(trips)


def run_case(case: str, copies: int, repeat: int, tmp: Path, client: Any = None) -> Result:
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
    runs: dict[str, Callable[[], object]] = {
        "decode": lambda: decode(video),
        "bare": lambda: bare_detect(estimators.pop(), frames, fps),
        "job": lambda: job(one, work / "o1", model, 1),
        "serial": lambda: job(many, work / "o2", model, 1),
        "parallel": lambda: job(many, work / "o3", model, 2),
    }
    if client is not None:
        runs["dask"] = lambda: job(many, work / "o4", model, 2, executor=client)
    timings = measure(runs, repeat)
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
        dask=best(timings["dask"]) if client is not None else None,
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
            *dask_report(results, args),
            *(["", args.note] if args.note else []),
        ]
    )


def dask_report(results: list[Result], args: argparse.Namespace) -> list[str]:
    """The Dask table: the job on a 2-worker ``LocalCluster`` against local ``workers=2``."""
    rows = [(r, r.dask) for r in results if r.dask is not None]
    if not rows:
        return []
    streamed, trip = args.dask_overhead
    return [
        "",
        f"Dask: the {rows[0][0].copies} videos as one task each on a `LocalCluster` of 2 "
        "single-threaded worker processes (started once, in "
        f"{args.dask_start:.1f} s, not timed with the runs) against the local executor's "
        "`workers=2`; target within 10 %. Dask's own cost per task, measured with a no-op: "
        f"{streamed:.2f} ms a task streamed back as they finish, {trip:.2f} ms one task's "
        f"round trip. Load average before the runs: {args.load}.",
        "",
        "| case | `workers=2`, s | Dask, 2 workers, s | Dask vs local | Dask CPU s |",
        "| --- | ---: | ---: | ---: | ---: |",
        *(
            f"| {r.case} | {r.parallel.wall:.2f} | {dask.wall:.2f} | "
            f"{r.dask_vs_local:+.1f} % | {dask.cpu:.2f} |"
            for r, dask in rows
        ),
    ]


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
    parser.add_argument("--no-dask", action="store_true", help="leave the Dask runs out")
    args = parser.parse_args(argv)
    args.case = args.case or list(CASES)
    args.load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    use_dask = not args.no_dask and importlib.util.find_spec("distributed") is not None

    with tempfile.TemporaryDirectory(prefix="spml-bench-") as tmp, contextlib.ExitStack() as stack:
        client = None
        if use_dask:
            client, args.dask_start = stack.enter_context(dask_client(2))
            args.dask_overhead = dask_task_overhead(client)
        results = [
            run_case(case, args.copies, args.repeat, Path(tmp), client) for case in args.case
        ]
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
