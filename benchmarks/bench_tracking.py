"""Pose tracker cost per frame for 2, 5 and 10 people (target: under 0.5 ms for 5 people).

Each person is a fixed random BlazePose-33 point cloud (a 0.1 x 0.4 box) doing a smooth
random walk at its own depth, with landmark noise; the detections of every frame are shuffled.
Times `PoseTracker.update` per frame after a warm-up (wall clock and this process's CPU time,
which is less sensitive to other load on the machine; the minimum is the cost of a frame
that was not interrupted). Prints a markdown table with the load
average. Run: ``.venv/bin/python benchmarks/bench_tracking.py [--frames 2000]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from stream_pose_ml.tracking import PoseTracker, TrackerSettings


def scene(n_people: int, n_frames: int, seed: int = 0) -> list[np.ndarray]:
    """Per frame, ``(n_people, 33, 4)`` detections in a random order."""
    rng = np.random.default_rng(seed)
    shapes = rng.uniform([-0.05, -0.2], [0.05, 0.2], (n_people, 33, 2))
    starts = rng.uniform(0.1, 0.9, n_people)
    walks = starts + np.cumsum(rng.normal(0.0, 0.003, (n_frames, n_people)), axis=0)
    xs = 0.1 + np.abs((walks - 0.1) % 1.6 - 0.8)
    ys = np.linspace(0.3, 0.7, n_people)
    frames = []
    for i in range(n_frames):
        poses = np.empty((n_people, 33, 4))
        poses[..., 0] = xs[i][:, None] + shapes[..., 0]
        poses[..., 1] = ys[:, None] + shapes[..., 1]
        poses[..., :2] += rng.normal(0.0, 0.002, (n_people, 33, 2))
        poses[..., 2] = 0.0
        poses[..., 3] = 0.9
        frames.append(poses[rng.permutation(n_people)])
    return frames


def measure(n_people: int, n_frames: int, settings: TrackerSettings) -> dict[str, float]:
    frames = scene(n_people, n_frames + 50)
    tracker = PoseTracker(settings, image_size=(1920, 1080))
    for i, frame in enumerate(frames[:50]):  # warm-up; tracks confirmed
        tracker.update(frame, i / 30)
    wall = np.empty(n_frames)
    cpu_start = time.process_time()
    for k, frame in enumerate(frames[50:]):
        start = time.perf_counter()
        tracker.update(frame, (50 + k) / 30)
        wall[k] = (time.perf_counter() - start) * 1e3
    cpu = (time.process_time() - cpu_start) * 1e3 / n_frames
    assert len(tracker.confirmed_ids) == n_people, tracker.confirmed_ids
    return {
        "min": float(wall.min()),
        "p50": float(np.percentile(wall, 50)),
        "p95": float(np.percentile(wall, 95)),
        "mean": float(wall.mean()),
        "cpu": cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000, help="timed frames per case")
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"Pose tracker, {args.frames} frames per case; {platform.processor() or platform.machine()}"
        f", {os.cpu_count()} CPUs, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}\n"
    )
    print("| people | settings | min ms | p50 ms | p95 ms | mean ms | CPU ms/frame |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    cases = [
        ("defaults", TrackerSettings()),
        ("no swap correction", TrackerSettings(swap_correction=False)),
    ]
    for n_people in (2, 5, 10):
        for name, settings in cases:
            r = measure(n_people, args.frames, settings)
            print(
                f"| {n_people} | {name} | {r['min']:.3f} | {r['p50']:.3f} | {r['p95']:.3f} "
                f"| {r['mean']:.3f} | {r['cpu']:.3f} |"
            )
    load = os.getloadavg()
    print(f"\nload average after: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")


if __name__ == "__main__":
    main()
