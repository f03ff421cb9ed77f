"""A model upload does not stop live sessions: results keep arriving while a large pickle and a
zip bomb are uploaded to a real gevent server (``benchmarks/bench_upload_latency.py``, small).

Before uploads ran in a native thread, extracting a 1.5 GB bomb stopped every session's
results for 9 s and a 145 MiB pickle for 1.4 s. The latency figures are the benchmark's
(docs/benchmarks.md); this test checks what a freeze would break far beyond noise: most frames
sent during the upload are answered, and no session goes a second without a result.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

import bench_upload_latency  # noqa: E402

pytestmark = pytest.mark.slow


def test_results_keep_arriving_during_a_large_upload_and_a_zip_bomb(tmp_path: Path) -> None:
    args = bench_upload_latency.parse_args(
        [
            "--sessions",
            "2",
            "--window",
            "5",
            "--pickle-mib",
            "145",
            "--bomb-mib",
            "1200",
            "--baseline",
            "2",
            "--pause",
            "1",
        ]
    )
    report = bench_upload_latency.measure(args, tmp_path)
    assert report["errors"] == 0
    assert report["baseline"]["results"] > 50
    assert report["pickle"]["status"] == 200
    assert report["zip_bomb"]["status"] == 422  # unpacked, then refused: not a model
    for name in ("pickle", "zip_bomb"):
        period = report[name]
        # with the upload on the event loop a session went 1.3 s (pickle) and 4.3 s (bomb)
        # without a result, and 13 % and 0 % of these frames were answered (read late, stale)
        assert period["longest_gap_ms"] < 1000.0, period
        assert period["answered_share"] > 0.2, period
