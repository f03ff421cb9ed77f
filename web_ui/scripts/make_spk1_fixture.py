#!/usr/bin/env python
"""Write the SPK1 fixture the web UI's packer is checked against (src/lib/payload.test.ts).

The bytes come from the server's own ``stream_pose_ml.serving.payload.encode_frames`` for the
frames that ``fixture_frames`` describes; the TypeScript test builds the same frames and must
produce the same bytes. Run from the repository root once (and after a change of the format):

    .venv/bin/python web_ui/scripts/make_spk1_fixture.py
"""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

import numpy as np

from stream_pose_ml.serving.payload import encode_frames

FIXTURE = Path(__file__).resolve().parents[1] / "src/test/fixtures/spk1-3-frames.bin"
FRAME_IDS = (7, 8, 12)
TIMESTAMPS_MS = (1000.5, 1033.25, 1066.125)
IMAGE_SIZE = (640, 360)
#: Frame 1 has no detection (all NaN); frame 2's landmark 5 has no visibility (NaN).
NO_DETECTION_FRAME = 1
NO_VISIBILITY = (2, 5)

logger = logging.getLogger(__name__)


def landmark_value(frame: int, landmark: int, channel: int) -> float:
    """Value of one channel, computed in float64 in this order (the test does the same)."""
    if channel == 3:
        return 0.9 - landmark * 0.01 + frame * 0.02
    return 0.25 + landmark * 0.01 + channel * 0.001 + frame * 0.1


def fixture_frames() -> np.ndarray:
    """``(3, 33, 4)`` float64 frames of the fixture."""
    data = np.array(
        [
            [[landmark_value(f, i, c) for c in range(4)] for i in range(33)]
            for f in range(len(FRAME_IDS))
        ]
    )
    data[NO_DETECTION_FRAME] = math.nan
    data[NO_VISIBILITY[0], NO_VISIBILITY[1], 3] = math.nan
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=FIXTURE, help=f"default: {FIXTURE}")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    message = encode_frames(fixture_frames(), FRAME_IDS, TIMESTAMPS_MS, IMAGE_SIZE)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(message)
    logger.info("%s: %d bytes", args.out, len(message))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
