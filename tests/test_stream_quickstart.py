"""stream-infer's quick start (examples/stream_infer_quickstart.py: the documented code with the
import changed and a pose detector in place of the head detector) on the demo video, in both
of its modes, with its OpenCV window on a virtual display (Xvfb)."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "examples" / "stream_infer_quickstart.py"

RUNNER = """
import json, runpy, sys
g = runpy.run_path(sys.argv[1], run_name="__main__")
d = g["dispatcher"]
print(json.dumps({"results": d.collect_results, "metrics": d.metrics.to_dict(),
                  "play_fps": g["player"].play_fps}))
"""


def run_quickstart(tmp_path: Path, video: Path, offline: bool) -> dict:
    text = SCRIPT.read_text()
    assert 'video_path = "/path/to/your/video.mp4"' in text and "OFFLINE = True" in text
    text = text.replace('"/path/to/your/video.mp4"', json.dumps(str(video)))
    text = text.replace("OFFLINE = True", f"OFFLINE = {offline}")
    script = tmp_path / "quickstart.py"
    script.write_text(text)
    xvfb = shutil.which("xvfb-run")
    assert xvfb, "xvfb-run is missing: install the xvfb package (scripts/test_prerequisites.sh)"
    done = subprocess.run(
        [xvfb, "-a", sys.executable, "-c", RUNNER, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_quickstart_offline_runs_once_a_second_and_finds_the_people(demo_video, tmp_path):
    out = run_quickstart(tmp_path, demo_video, offline=True)
    results = out["results"]["PoseDetectionAlgo"]
    assert sorted(results, key=int) == [str(30 * k) for k in range(8)]  # 230 frames: 0..210
    found = [r for r in results.values() if r["labels"]]
    assert len(found) >= 6  # people are in view all along; a single image can miss them
    assert all(r["labels"] == ["person"] and len(r["boxes"]) == 1 for r in found)
    for box in (r["boxes"][0] for r in found):  # inside the 1920 x 1080 frame
        assert 0 <= box[0] < box[2] <= 1920 * 1.05 and 0 <= box[1] < box[3] <= 1080 * 1.05
    assert out["metrics"]["frames_decoded"] == 230 and out["play_fps"] == 30


@pytest.mark.slow
def test_quickstart_realtime_plays_at_the_video_pace(demo_video, tmp_path):
    out = run_quickstart(tmp_path, demo_video, offline=False)
    results = out["results"]["PoseDetectionAlgo"]
    ran = sorted(map(int, results))
    assert 6 <= len(ran) <= 8  # about once a second over 7.7 s, on the frames it got
    assert all(b - a >= 25 for a, b in itertools.pairwise(ran))
    assert sum(r["labels"] == ["person"] for r in results.values()) >= len(ran) - 2
