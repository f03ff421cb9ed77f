"""``logger``: the logger stream-infer's examples import (``from stream_infer.log import logger``).

A standard-library logger named ``stream_pose_ml.stream``; configure it with ``logging``.
"""

from __future__ import annotations

import logging

logger = logging.getLogger("stream_pose_ml.stream")

__all__ = ["logger"]
