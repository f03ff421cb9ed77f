"""Record real ``analysis`` bodies of the live server for the web UI's component tests
(src/test/fixtures/analysis-*.json): a real API process, a real Socket.IO client, and
generated squats and falls (stream_pose_ml.analysis.motion) sent as keypoints at 30 fps.

Run from the repository root: ``.venv/bin/python web_ui/scripts/record_analysis_fixtures.py``.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from api_server import ApiServer, LiveClient, frame_message, live_clients  # noqa: E402

from stream_pose_ml.analysis.motion import (  # noqa: E402
    IMAGE_SIZE,
    SquatRep,
    fall_session,
    squat_session,
)

OUT = REPO / "web_ui/src/test/fixtures"
log = logging.getLogger("record_analysis_fixtures")


def send(client: LiveClient, data: np.ndarray, start_id: int) -> None:
    """Frames ``start_id``.. as keypoints messages, timestamped at 30 fps from frame 0."""
    for i in range(len(data)):
        message = frame_message(data[i], frame_id=start_id + i, image_size=IMAGE_SIZE)
        message["timestamp"] = (start_id + i) * 1000.0 / 30.0
        client.emit("keypoints", message)
    time.sleep(4)  # the server answers every message well within this


def record(url: str, analyzer: str, sequences: list[np.ndarray]) -> list[Any]:
    """The ``analysis`` bodies of one session fed ``sequences`` one after another."""
    with live_clients(url, 1) as (client,):
        client.emit("configure", {"analyzer": analyzer})
        client.wait_for("configured", lambda body: body.get("analyzer") == analyzer)
        for k, data in enumerate(sequences):
            send(client, data, start_id=k * 1000)
        return [b for b in client.received("analysis") if b["analyzer"] == analyzer]


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    squats = squat_session(
        [SquatRep(70), SquatRep(60, valgus=0.4, extra_lean_deg=25)], yaw_deg=90, seed=4
    )
    falls = [
        fall_session(activity, seed=1).sequence.data
        for activity in ("fall_forward", "fall_sideways")
    ]
    with tempfile.TemporaryDirectory() as tmp, ApiServer(Path(tmp) / "data") as api:
        for name, sequences in (("squat", [squats.sequence.data]), ("falls", falls)):
            bodies = record(api.url, name, sequences)
            path = OUT / f"analysis-{name}.json"
            path.write_text(json.dumps(bodies, indent=1) + "\n")
            log.info("%s: %d analysis bodies -> %s", name, len(bodies), path)


if __name__ == "__main__":
    main()
