"""Result records of a stream run and the files they go to (JSON Lines, Parquet).

A record is one algorithm's result on one frame: ``run_id``, ``source``, ``algorithm``,
``frame_index`` and ``time_s`` (the frame's presentation time), the window's first and last
frame, the ``value`` and, unless the run is deterministic, its timings in milliseconds.

A JSON Lines file holds a ``run`` line (the run's settings), one ``result`` line per record, then
a ``metrics`` line. A Parquet file holds the records as rows (``value`` as JSON text) and the
run's settings and metrics as key-value metadata (``stream_pose_ml.run``,
``stream_pose_ml.metrics``). In a deterministic run (offline, the default) no wall-clock value
is written, so two runs over the same source give byte-identical files.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from stream_pose_ml.errors import StreamError
from stream_pose_ml.stream.frames import Closing

#: Records per Parquet row group (memory stays bounded on long runs).
PARQUET_ROW_GROUP = 2_000
TIMING_FIELDS = ("lateness_ms", "inference_ms", "latency_ms")


def jsonable(value: Any) -> Any:
    """``value`` with NumPy arrays and scalars as lists and numbers, NaN and inf as None."""
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    return str(value)


def dumps(value: Any) -> str:
    return json.dumps(jsonable(value), separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True)
class ResultRecord:
    """One result: ``value`` of ``algorithm`` on frame ``frame_index`` (window
    ``window_start .. window_end``); timings are None in a deterministic run."""

    run_id: str
    source: str
    algorithm: str
    frame_index: int
    time_s: float
    window_start: int
    window_end: int
    value: Any
    lateness_ms: float | None = None
    inference_ms: float | None = None
    latency_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "source": self.source,
            "algorithm": self.algorithm,
            "frame_index": self.frame_index,
            "time_s": round(self.time_s, 6),
            "window_start": self.window_start,
            "window_end": self.window_end,
            "value": self.value,
            "lateness_ms": _ms(self.lateness_ms),
            "inference_ms": _ms(self.inference_ms),
            "latency_ms": _ms(self.latency_ms),
        }


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class ResultSink(Protocol):
    def write(self, record: ResultRecord) -> None: ...
    def close(self, metrics: Mapping[str, Any]) -> None: ...


class JsonLinesSink:
    """Writes ``run``, ``result`` and ``metrics`` lines to ``path``."""

    def __init__(self, path: str | Path, run: Mapping[str, Any]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 (closed in close)
        self._file.write(dumps({"type": "run", **run}) + "\n")

    def write(self, record: ResultRecord) -> None:
        self._file.write(dumps({"type": "result", **record.to_dict()}) + "\n")

    def close(self, metrics: Mapping[str, Any]) -> None:
        if not self._file.closed:
            self._file.write(dumps({"type": "metrics", **metrics}) + "\n")
            self._file.close()


class ParquetSink:
    """Writes records as Parquet rows in row groups; the run and metrics go in the footer."""

    def __init__(self, path: str | Path, run: Mapping[str, Any]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._pa = pa
        self._schema = pa.schema(
            [
                ("run_id", pa.string()),
                ("source", pa.string()),
                ("algorithm", pa.string()),
                ("frame_index", pa.int64()),
                ("time_s", pa.float64()),
                ("window_start", pa.int64()),
                ("window_end", pa.int64()),
                ("value", pa.string()),
                *((name, pa.float64()) for name in TIMING_FIELDS),
            ]
        )
        self._writer = pq.ParquetWriter(str(self.path), self._schema)
        self._run = dumps(run)
        self._rows: list[dict[str, Any]] = []

    def write(self, record: ResultRecord) -> None:
        row = record.to_dict()
        row["value"] = dumps(row["value"])
        self._rows.append(row)
        if len(self._rows) >= PARQUET_ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            table = self._pa.Table.from_pylist(self._rows, schema=self._schema)
            self._writer.write_table(table)
            self._rows = []

    def close(self, metrics: Mapping[str, Any]) -> None:
        if self._writer is None:
            return
        self._flush()
        self._writer.add_key_value_metadata(
            {"stream_pose_ml.run": self._run, "stream_pose_ml.metrics": dumps(metrics)}
        )
        self._writer.close()
        self._writer = None


def open_sinks(paths: Sequence[str | Path], run: Mapping[str, Any]) -> list[ResultSink]:
    """A sink per path: ``.jsonl``/``.json`` -> JSON Lines, ``.parquet`` -> Parquet."""
    sinks: list[ResultSink] = []
    for path in paths:
        suffix = Path(path).suffix.lower()
        if suffix in (".jsonl", ".json", ".ndjson"):
            sinks.append(JsonLinesSink(path, run))
        elif suffix in (".parquet", ".pq"):
            sinks.append(ParquetSink(path, run))
        else:
            raise StreamError(
                f"result file {path}: use a .jsonl (JSON Lines) or .parquet name, got {suffix!r}"
            )
    return sinks


def read_results(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """``(run, records, metrics)`` of a result file (either format)."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        meta = pq.read_metadata(path).metadata or {}
        records = table.to_pylist()
        for record in records:
            record["value"] = json.loads(record["value"])
        return (
            json.loads(meta.get(b"stream_pose_ml.run", b"{}")),
            records,
            json.loads(meta.get(b"stream_pose_ml.metrics", b"{}")),
        )
    run: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            kind = item.pop("type", None)
            if kind == "run":
                run = item
            elif kind == "metrics":
                metrics = item
            else:
                records.append(item)
    return run, records, metrics


class ResultFiles(Closing):
    """The sinks of a run, closed together (a context manager)."""

    def __init__(self, sinks: list[ResultSink]) -> None:
        self.sinks = sinks
        self.metrics: Mapping[str, Any] = {}

    def write(self, record: ResultRecord) -> None:
        for sink in self.sinks:
            sink.write(record)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close(self.metrics)
