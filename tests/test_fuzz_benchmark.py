"""The fuzz benchmark (``benchmarks/fuzz_socketio.py``) runs and counts truthfully, in small.

Two rounds of 200 malformed messages and every raw packet kind once, against the real
API: nothing crashes, nothing is logged with a traceback, every malformed message is answered
once and never classified, every packet kind gets its answer, and the honest client's answers
equal those of its run without fuzzing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCHMARKS) not in sys.path:  # the benchmarks are scripts, not a package
    sys.path.insert(0, str(BENCHMARKS))

from fuzz_corpus import PACKET_KINDS, POLLING_BODIES  # noqa: E402
from fuzz_socketio import run  # noqa: E402

pytestmark = pytest.mark.slow


def test_a_small_fuzz_run_finds_nothing_and_counts_everything() -> None:
    report = run(rounds=2, messages=200, packet_repeats=1, honest_frames=10, max_seconds=60)
    totals = report.totals()
    assert len(report.rounds) == 2
    assert totals["messages"] == 400 and totals["packets"] == 2 * (
        len(PACKET_KINDS) + len(POLLING_BODIES)
    )
    assert report.packet_kinds >= 20
    findings = {k: totals[k] for k in ("crashes", "tracebacks", "honest_lost", "honest_wrong")}
    assert findings == dict.fromkeys(findings, 0), totals
    assert totals["messages_unanswered"] == 0 and totals["internal_errors"] == 0, totals
    assert totals["messages_classified"] == 0 and totals["packets_wrong"] == 0, report.rounds
    assert totals["honest_results"] >= 2 * 10  # at least one whole pass a round
    assert all(r.rss_mib > 0 for r in report.rounds)
    codes = set().union(*(r.codes for r in report.rounds))
    assert {"bad_type", "non_finite", "out_of_range", "landmark_count", "bad_json"} <= codes
