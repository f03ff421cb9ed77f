"""Counters and timings of a stream run, per run and per algorithm, as plain data.

Timings are kept as bounded reservoirs (the newest ``RESERVOIR`` values) so a run of any length
holds a fixed amount of memory; percentiles are over the reservoir, counts over the whole run.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Timings kept per statistic (the newest ones).
RESERVOIR = 20_000


@dataclass
class Timing:
    """Milliseconds of one kind (inference, lateness, capture-to-result latency)."""

    values: deque[float] = field(default_factory=lambda: deque(maxlen=RESERVOIR))
    count: int = 0
    maximum: float = 0.0

    def add(self, ms: float) -> None:
        self.values.append(ms)
        self.count += 1
        self.maximum = max(self.maximum, ms)

    def summary(self) -> dict[str, float | None]:
        if not self.values:
            return {"p50": None, "p95": None, "max": None}
        p50, p95 = np.percentile(np.fromiter(self.values, float), [50, 95])
        return {"p50": round(float(p50), 3), "p95": round(float(p95), 3), "max": self.maximum}


@dataclass
class AlgoMetrics:
    """One algorithm's runs: due (on a frame that was processed), done, missed (their frame
    never reached the runner: dropped or between frames), skipped late, windows incomplete."""

    schedule: str = ""
    runs_due: int = 0
    runs_done: int = 0
    runs_missed: int = 0
    runs_skipped_late: int = 0
    windows_incomplete: int = 0
    results: int = 0
    errors: int = 0
    inference_ms: Timing = field(default_factory=Timing)
    lateness_ms: Timing = field(default_factory=Timing)
    latency_ms: Timing = field(default_factory=Timing)

    def to_dict(self, timings: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schedule": self.schedule,
            "runs_due": self.runs_due,
            "runs_done": self.runs_done,
            "runs_missed": self.runs_missed,
            "runs_skipped_late": self.runs_skipped_late,
            "windows_incomplete": self.windows_incomplete,
            "results": self.results,
            "errors": self.errors,
        }
        if timings:
            out["inference_ms"] = self.inference_ms.summary()
            out["lateness_ms"] = self.lateness_ms.summary()
            out["latency_ms"] = self.latency_ms.summary()
        return out


@dataclass
class RunMetrics:
    """A run's frame counts and per-algorithm metrics. ``frames_decoded`` counts every frame
    the source gave; ``frames_decimated`` those a target fps left out; ``frames_dropped`` those
    the real-time buffer dropped because inference was behind; ``frames_processed`` the rest."""

    frames_decoded: int = 0
    frames_decimated: int = 0
    frames_dropped: int = 0
    frames_processed: int = 0
    buffer_high_water: int = 0
    reconnects: int = 0
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    algorithms: dict[str, AlgoMetrics] = field(default_factory=dict)

    def algo(self, name: str) -> AlgoMetrics:
        metrics = self.algorithms.get(name)
        if metrics is None:
            metrics = self.algorithms[name] = AlgoMetrics()
        return metrics

    @property
    def elapsed_s(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    @property
    def effective_fps(self) -> float:
        elapsed = self.elapsed_s
        return self.frames_processed / elapsed if elapsed > 0 else 0.0

    def to_dict(self, timings: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "frames_decoded": self.frames_decoded,
            "frames_decimated": self.frames_decimated,
            "frames_dropped": self.frames_dropped,
            "frames_processed": self.frames_processed,
            "buffer_high_water": self.buffer_high_water,
            "reconnects": self.reconnects,
        }
        if timings:
            out["elapsed_s"] = round(self.elapsed_s, 3)
            out["effective_fps"] = round(self.effective_fps, 2)
        out["algorithms"] = {
            name: m.to_dict(timings) for name, m in sorted(self.algorithms.items())
        }
        return out

    def flat(self) -> dict[str, float]:
        """Numeric metrics as ``name -> value`` with dotted names (for MLflow)."""
        out: dict[str, float] = {}

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, dict):
                for key, item in value.items():
                    walk(f"{prefix}.{key}" if prefix else str(key), item)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                out[prefix] = float(value)

        walk("", self.to_dict())
        return out

    def status_line(self) -> str:
        """One line for a live status display."""
        parts = [
            f"{self.frames_processed} frames",
            f"{self.effective_fps:.1f} fps",
            f"dropped {self.frames_dropped}",
        ]
        for name, m in sorted(self.algorithms.items()):
            p95 = m.latency_ms.summary()["p95"]
            latency = "" if p95 is None else f", p95 {p95:.0f} ms"
            parts.append(f"{name}: {m.runs_done} runs{latency}")
        return " | ".join(parts)
