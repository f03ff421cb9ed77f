"""Dataset building and formatting speed on a large synthetic set.

Generates ``--videos`` x ``--frames`` of plausible walking poses (a BlazePose-33 figure with
swinging legs and arms, noise and ~2 % frames without detection) as ``.npz`` sequences plus one
Dataloop-style annotation file per video (alternating steps with a weight-transfer label each),
then times, with ``BuildAndFormatDatasetJob``:

1. ``build_dataset_from_data_files`` (reading the files, labelling every frame);
2. ``format_dataset`` with strategy ``none``, angles and distances, all frames;
3. writing the table to Parquet.

Target: build + format >= 100,000 frames/s. Reports the peak traced memory (tracemalloc,
NumPy's buffers included) and the process's peak RSS, and the top cProfile entries of one
build + format. Prints a markdown table; ``--write`` puts it under "## Dataset formatting" in
docs/benchmarks.md. Run: ``.venv/bin/python benchmarks/bench_dataset_format.py [--write]``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import re
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from stream_pose_ml.jobs.build_and_format_dataset_job import BuildAndFormatDatasetJob
from stream_pose_ml.keypoints import BLAZEPOSE_33, PoseSequence

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
SECTION = "## Dataset formatting"
CONFIG = Path(__file__).resolve().parents[1] / "config.yml"

#: A person facing the camera, normalized image coordinates (x right, y down).
TEMPLATE_XY = {
    "nose": (0.50, 0.20),
    "left_eye_inner": (0.51, 0.19),
    "left_eye": (0.515, 0.19),
    "left_eye_outer": (0.52, 0.19),
    "right_eye_inner": (0.49, 0.19),
    "right_eye": (0.485, 0.19),
    "right_eye_outer": (0.48, 0.19),
    "left_ear": (0.53, 0.20),
    "right_ear": (0.47, 0.20),
    "mouth_left": (0.51, 0.22),
    "mouth_right": (0.49, 0.22),
    "left_shoulder": (0.56, 0.30),
    "right_shoulder": (0.44, 0.30),
    "left_elbow": (0.58, 0.42),
    "right_elbow": (0.42, 0.42),
    "left_wrist": (0.59, 0.53),
    "right_wrist": (0.41, 0.53),
    "left_pinky": (0.595, 0.56),
    "right_pinky": (0.405, 0.56),
    "left_index": (0.59, 0.57),
    "right_index": (0.41, 0.57),
    "left_thumb": (0.585, 0.555),
    "right_thumb": (0.415, 0.555),
    "left_hip": (0.54, 0.55),
    "right_hip": (0.46, 0.55),
    "left_knee": (0.545, 0.70),
    "right_knee": (0.455, 0.70),
    "left_ankle": (0.55, 0.85),
    "right_ankle": (0.45, 0.85),
    "left_heel": (0.55, 0.87),
    "right_heel": (0.45, 0.87),
    "left_foot_index": (0.56, 0.89),
    "right_foot_index": (0.44, 0.89),
}
LEG = ("knee", "ankle", "heel", "foot_index")
ARM = ("elbow", "wrist", "pinky", "index", "thumb")
STEP_FRAMES = 30  # one step every second at 30 fps


def walking_sequence(n_frames: int, rng: np.random.Generator, name: str) -> PoseSequence:
    """``(n_frames, 33, 4)`` a figure stepping in place and swaying, with noise and misses."""
    base = np.array([TEMPLATE_XY[n] for n in BLAZEPOSE_33])
    phase = 2 * np.pi * np.arange(n_frames) / (2 * STEP_FRAMES) + rng.uniform(0, 2 * np.pi)
    data = np.empty((n_frames, 33, 4))
    data[:, :, :2] = base * rng.uniform(0.9, 1.1) + rng.uniform(-0.05, 0.05, 2)
    lift = 0.04 * np.sin(phase)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        legs = [BLAZEPOSE_33.index(f"{side}_{p}") for p in LEG]
        arms = [BLAZEPOSE_33.index(f"{side}_{p}") for p in ARM]
        data[:, legs, 1] -= np.clip(sign * lift, 0, None)[:, None] * np.linspace(0.5, 1, 4)
        data[:, arms, 0] += (sign * lift)[:, None] * np.linspace(0.3, 1, 5)
    data[:, :, 0] += 0.02 * np.sin(phase / 2)[:, None]
    data[:, :, :2] += rng.normal(0, 0.003, (n_frames, 33, 2))
    data[:, :, 2] = rng.normal(0, 0.05, (n_frames, 33))
    data[:, :, 3] = rng.uniform(0.8, 1.0, (n_frames, 33))
    data[rng.random(n_frames) < 0.02] = np.nan
    return PoseSequence(data, fps=30.0, image_size=(1280, 720), source="synthetic", name=name)


def annotations(n_frames: int, rng: np.random.Generator, name: str) -> dict:
    """Alternating steps with a gap of 0-4 frames, each with a weight-transfer label."""
    entries = []
    start, left = int(rng.integers(0, 10)), True
    while start + STEP_FRAMES < n_frames:
        end = start + int(rng.integers(STEP_FRAMES - 8, STEP_FRAMES + 8))
        end = min(end, n_frames - 1)
        transfer = "Successful" if rng.random() < 0.7 else "Failure"
        for label in (f"{'Left' if left else 'Right'} Step", f"{transfer} Weight Transfer"):
            entries.append(
                {"label": label, "metadata": {"system": {"frame": start, "endFrame": end}}}
            )
        start, left = end + 1 + int(rng.integers(0, 5)), not left
    return {"name": f"{name}.mp4", "annotations": entries}


def generate(directory: Path, videos: int, frames: int, seed: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    ann, seq = directory / "annotations", directory / "sequences"
    ann.mkdir(parents=True, exist_ok=True)
    for i in range(videos):
        name = f"video_{i:03d}"
        walking_sequence(frames, rng, name).to_npz(seq / f"{name}.npz")
        (ann / f"{name}.json").write_text(json.dumps(annotations(frames, rng, name)))
    return ann, seq


def build_and_format(ann: Path, seq: Path):
    job = BuildAndFormatDatasetJob(CONFIG)
    t0 = time.perf_counter()
    dataset = job.build_dataset_from_data_files(ann, seq)
    t1 = time.perf_counter()
    table = job.format_dataset(
        dataset,
        include_unlabeled_data=True,
        include_angles=True,
        include_distances=True,
        include_normalized=False,
        segmentation_strategy="none",
    )
    t2 = time.perf_counter()
    return dataset, table, t1 - t0, t2 - t1


def profile_top(ann: Path, seq: Path, count: int) -> list[tuple[str, float, float]]:
    """(function, own seconds, cumulative seconds) of the top ``count`` entries by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    build_and_format(ann, seq)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = []
    for (path, line, function), (_, _, own, cumulative, _) in stats.stats.items():
        where = f"{Path(path).name}:{line}({function})" if line else function
        if "_thread.lock" in function:  # cProfile sees the main thread only
            where += " (waiting for the sequence-loading threads: .npz zlib decompression)"
        rows.append((where, own, cumulative))
    return sorted(rows, key=lambda r: r[1], reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=50, help="number of videos (default 50)")
    parser.add_argument("--frames", type=int, default=4000, help="frames per video (default 4000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; best is reported")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the synthetic data")
    parser.add_argument("--top", type=int, default=8, help="cProfile entries to show")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        ann, seq = generate(Path(tmp), args.videos, args.frames, args.seed)
        generated = time.perf_counter() - start
        build_s, format_s = [], []
        for _ in range(args.repeat):
            dataset, table, b, f = build_and_format(ann, seq)
            build_s.append(b)
            format_s.append(f)
        start = time.perf_counter()
        table.to_parquet(Path(tmp) / "table.parquet", index=False)
        parquet_s = time.perf_counter() - start
        del dataset, table
        tracemalloc.start()
        dataset, table, _, _ = build_and_format(ann, seq)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        table_mb = table.memory_usage(deep=True).sum() / 2**20
        shape = table.shape
        del dataset, table
        top = profile_top(ann, seq, args.top)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    frames = args.videos * args.frames
    best_build, best_format = min(build_s), min(format_s)
    total = min(b + f for b, f in zip(build_s, format_s, strict=True))
    lines = [
        f"`.venv/bin/python benchmarks/bench_dataset_format.py --videos {args.videos} "
        f"--frames {args.frames}`: {frames:,} frames of synthetic walking poses in {args.videos} "
        f".npz files with annotation files (generated in {generated:.1f} s); strategy `none`, "
        f"angles and distances, every frame -> a table of {shape[0]:,} rows x {shape[1]} columns "
        f"({table_mb:.0f} MiB). Best of {args.repeat}; {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; 1-minute load average {os.getloadavg()[0]:.1f} "
        "before the run.",
        "",
        "| step | seconds | frames/s |",
        "| --- | ---: | ---: |",
        f"| build (read + label) | {best_build:.3f} | {frames / best_build:,.0f} |",
        f"| format (segment + features + table) | {best_format:.3f} | "
        f"{frames / best_format:,.0f} |",
        f"| **build + format** (target >= 100,000 frames/s) | **{total:.3f}** | "
        f"**{frames / total:,.0f}** |",
        f"| write Parquet | {parquet_s:.3f} | {frames / parquet_s:,.0f} |",
        "",
        f"Peak traced memory of one build + format: {peak / 2**20:.0f} MiB; peak RSS of the "
        f"process: {rss_mb:.0f} MiB.",
        "",
        "Where the time goes (cProfile, one build + format, by own time):",
        "",
        "| function | own s | cumulative s |",
        "| --- | ---: | ---: |",
        *[f"| `{name}` | {own:.3f} | {cumulative:.3f} |" for name, own, cumulative in top],
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        text = DOCS.read_text()
        pattern = re.compile(rf"({re.escape(SECTION)}\n\n)(.*?)(?=\n## |\Z)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"{DOCS} has no {SECTION!r} section")
        DOCS.write_text(pattern.sub(lambda m: m.group(1) + report + "\n", text, count=1))
        print(f"\nwrote {DOCS}")


if __name__ == "__main__":
    main()
